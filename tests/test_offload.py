"""Offload (X-Accel-Redirect, X-Sendfile, redirect to a presigned URL) and the ASGI body."""

from __future__ import annotations

import asyncio
import os
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest

from genro_storage import StorageConfigError, StorageManager
from genro_storage.http import AsyncBody, Offload, ServeOptions, ServeRoute, offloads, respond
from genro_storage.http.asyncbody import ASYNC_CHUNK

SECRET = "a-secret-long-enough-for-hmac-keys"


@pytest.fixture
def storage(tmp_path, s3_server):
    manager = StorageManager(
        [
            {"name": "disk", "type": "local", "path": str(tmp_path / "disk")},
            {"name": "mem", "type": "memory"},
            s3_server.mount("s3", "contract", prefix="offload"),
        ]
    )
    manager.configure_urls(SECRET, "/files/")
    manager.node("disk:dir/ré sumé.pdf").write_bytes(b"%PDF-1.4 " + b"x" * 5000)
    manager.node("disk:page.html").write_text("<script>alert(1)</script>")
    manager.node("s3:docs/report.pdf").write_bytes(b"%PDF-1.4 s3 " + b"y" * 5000)
    return manager


def test_settings_parse_each_form_and_name_the_mount_and_key(storage):
    found = offloads(
        storage,
        {"disk": "x-accel-redirect", "s3": {"mode": "redirect", "expires_in": 60}},
    )
    assert found["disk"] == Offload("x-accel-redirect", "/_genro_storage/disk/")
    assert found["s3"].expires_in == 60
    cases = [
        ({"nowhere": "x-sendfile"}, "nowhere", "offload"),
        ({"disk": "redirect"}, "disk", "offload"),  # a local mount cannot presign
        ({"s3": "x-accel-redirect"}, "s3", "offload"),  # an object store has no local file
        ({"mem": "x-sendfile"}, "mem", "offload"),
        ({"disk": {"mode": "x-accel-redirect", "locaton": "/p/"}}, "disk", "locaton"),
        ({"disk": {"mode": "x-sendfile", "location": "/p/"}}, "disk", "location"),
        ({"disk": {"mode": "x-accel"}}, "disk", "mode"),
        ({"s3": {"mode": "redirect", "expires_in": 0}}, "s3", "expires_in"),
        ({"disk": {"location": "/p/"}}, "disk", "mode"),
    ]
    for settings, mount, key in cases:
        with pytest.raises(StorageConfigError) as caught:
            offloads(storage, settings)
        assert (caught.value.mount, caught.value.key) == (mount, key), settings
    with pytest.raises(StorageConfigError, match="did you mean 'location'"):
        offloads(storage, {"disk": {"mode": "x-accel-redirect", "locaton": "/p/"}})


def test_x_accel_redirect_hands_over_an_escaped_uri_with_the_serving_headers(storage):
    route = ServeRoute(storage, offload={"disk": {"mode": "x-accel-redirect", "location": "/protected"}})
    target = route.resolve("disk/dir/ré sumé.pdf")
    answer = route.respond(target, "GET", {"Range": "bytes=0-9"})
    assert answer.status == 200  # the front server answers the range itself
    assert answer.header("X-Accel-Redirect") == "/protected/dir/r%C3%A9%20sum%C3%A9.pdf"
    assert answer.header("Content-Length") == "0" and list(answer.body) == []
    assert answer.header("Content-Type") == "application/pdf"
    assert answer.header("X-Content-Type-Options") == "nosniff"
    assert answer.header("Last-Modified") and answer.header("Accept-Ranges") is None  # nginx adds its own
    # nginx sends its own ETag, "<mtime>-<size>" in hex: the app's takes that form, so the
    # validators a client holds are the ones the app judges.
    st = os.stat(storage.node("disk:dir/ré sumé.pdf").backend.ospath("dir/ré sumé.pdf"))
    assert answer.header("ETag") == f'"{int(st.st_mtime):x}-{st.st_size:x}"'
    # Preconditions stay with the app: a cached copy never reaches the front server.
    again = route.respond(target, "GET", {"If-None-Match": answer.header("ETag")})
    assert again.status == 304 and again.header("X-Accel-Redirect") is None
    resumed = route.respond(target, "GET", {"If-Match": answer.header("ETag"), "Range": "bytes=10-"})
    assert resumed.status == 200 and resumed.header("X-Accel-Redirect")
    assert route.respond(target, "GET", {"If-Match": '"another"'}).status == 412
    missing = route.respond(route.resolve("disk/nope.pdf"), "GET", {})
    assert missing.status == 404 and missing.header("X-Accel-Redirect") is None


def test_active_content_keeps_its_sandbox_through_the_front_server(storage):
    route = ServeRoute(storage, offload={"disk": "x-accel-redirect"})
    answer = route.respond(route.resolve("disk/page.html"), "GET", {})
    assert "sandbox" in answer.header("Content-Security-Policy")
    # nginx keeps Content-Disposition but drops the CSP unless its location adds it back.
    assert answer.header("Content-Disposition") == 'attachment; filename="page.html"'
    inline = Offload("x-accel-redirect", "/p/").respond(
        storage.node("disk:page.html"), "GET", {}, ServeOptions(active_content="inline")
    )
    assert inline.header("Content-Disposition") is None and inline.header("Content-Security-Policy") is None
    sendfile = Offload("x-sendfile").respond(storage.node("disk:page.html"), "GET", {})
    assert "sandbox" in sendfile.header("Content-Security-Policy")  # the app's headers pass there
    assert sendfile.header("Content-Disposition") is None
    attach = Offload("x-sendfile").respond(storage.node("disk:page.html"), "GET", {}, ServeOptions(as_attachment=True))
    assert answer.header("X-Accel-Redirect") == "/_genro_storage/disk/page.html"
    assert attach.header("Content-Disposition") == 'attachment; filename="page.html"'


def test_x_sendfile_names_the_file_bytes_for_bytes(storage):
    node = storage.node("disk:dir/ré sumé.pdf")
    answer = Offload("x-sendfile").respond(node, "HEAD", {})
    value = answer.header("X-Sendfile")
    assert value.encode("latin-1") == os.fsencode(node.backend.ospath(node.path))  # UTF-8 on the wire
    assert os.path.isabs(value)


def test_redirect_presigns_with_the_download_name_and_s3_answers_with_it(storage):
    route = ServeRoute(storage, offload={"s3": {"mode": "redirect", "expires_in": 120}})
    node = storage.node("s3:docs/report.pdf")
    answer = route.respond(route.resolve("s3/docs/report.pdf"), "GET", {})
    assert answer.status == 302 and answer.header("Cache-Control") == "private, no-store"
    with urllib.request.urlopen(answer.header("Location")) as got:
        assert got.read() == node.read_bytes()
    named = route.respond(
        route.resolve("s3/docs/report.pdf"), "GET", {}, ServeOptions(as_attachment=True, download_name="Été.pdf")
    )
    location = named.header("Location")
    query = parse_qs(urlsplit(location).query)
    assert query["response-content-disposition"] == [
        "attachment; filename=\"Ete.pdf\"; filename*=UTF-8''%C3%89t%C3%A9.pdf"
    ]
    with urllib.request.urlopen(location) as got:
        assert got.headers["Content-Disposition"] == query["response-content-disposition"][0]
        assert got.read() == node.read_bytes()
    assert route.respond(route.resolve("s3/docs/none.pdf"), "GET", {}).status == 404  # the app's 404


def test_a_redirect_carries_the_type_the_app_would_send_and_head_is_answered_here(storage):
    route = ServeRoute(storage, offload={"s3": {"mode": "redirect", "expires_in": 120}})
    node = storage.node("s3:docs/notes.txt")
    node.write_text("plain words")  # stored as the service's default type
    answer = route.respond(route.resolve("s3/docs/notes.txt"), "GET", {})
    with urllib.request.urlopen(answer.header("Location")) as got:
        assert got.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert got.read() == b"plain words"
    # A presigned URL is signed for GET: HEAD is answered by the app, from the metadata.
    head = route.respond(route.resolve("s3/docs/notes.txt"), "HEAD", {})
    assert head.status == 200 and head.header("Location") is None
    assert head.header("Content-Length") == "11" and list(head.body) == []


def test_async_body_streams_in_small_chunks_and_closes_once(storage, tmp_path):
    node = storage.node("disk:big.bin")
    data = os.urandom(3 * 1024 * 1024 + 17)
    node.write_bytes(data)

    async def read_all(response):
        body = AsyncBody(response)
        sizes, parts = [], []
        async for chunk in body:
            sizes.append(len(chunk))
            parts.append(chunk)
        return sizes, b"".join(parts)

    response = respond(node, "GET", {})
    assert response.file is not None
    sizes, got = asyncio.run(read_all(response))
    assert got == data and max(sizes) == ASYNC_CHUNK
    with pytest.raises(OSError):
        os.fstat(response.file.fileno())  # released

    async def leave_early(response):
        body = AsyncBody(response)
        first = await body.__anext__()
        await body.aclose()
        assert [chunk async for chunk in body] == []
        return first

    response = respond(node, "GET", {})
    assert len(asyncio.run(leave_early(response))) == ASYNC_CHUNK
    assert response.file.fileno() == -1

    closed = []

    class Stream:
        def __iter__(self):
            yield b"a"
            yield b"b"

        def close(self):
            closed.append(True)

    async def cancelled():
        body = AsyncBody(Stream())
        assert await body.__anext__() == b"a"
        body.close()
        body.close()

    asyncio.run(cancelled())
    assert closed == [True]


def test_a_name_no_header_can_carry_is_sent_by_the_app(storage):
    node = storage.node("disk:odd\nname.txt")
    node.write_bytes(b"odd")
    answer = Offload("x-sendfile").respond(node, "GET", {})
    assert answer.header("X-Sendfile") is None and b"".join(answer.body) == b"odd"
    answer.close()


def test_active_content_redirected_to_the_service_is_downloaded(storage):
    storage.node("s3:up/page.html").write_text("<script>alert(1)</script>")
    answer = Offload("redirect").respond(storage.node("s3:up/page.html"), "GET", {})
    query = parse_qs(urlsplit(answer.header("Location")).query)
    assert query["response-content-disposition"] == ['attachment; filename="page.html"']
    inline = Offload("redirect").respond(
        storage.node("s3:up/page.html"), "GET", {}, ServeOptions(active_content="inline")
    )
    assert "response-content-disposition" not in parse_qs(urlsplit(inline.header("Location")).query)
