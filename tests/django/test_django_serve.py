"""The serve view and serve_node through Django's handlers (test client, WSGI and ASGI):
ranges, validators, signatures, PUBLIC_MOUNTS, AUTHORIZE, offload, active content."""

from __future__ import annotations

import asyncio
import time
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core import checks
from django.test import AsyncClient, Client
from django.test.utils import override_settings

from genro_storage_django import storage_manager
from genro_storage_django.storage import GenroStorage

DATA = bytes(range(256)) * 1024  # 256 KiB and one byte more below: past the single-read size
BIG = DATA * 2 + b"!"

ALLOWED: list[str] = []


def content(response) -> bytes:
    """The body, streamed (large files) or not (small ones, HEAD, refusals)."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def allow_listed(request, node):
    """AUTHORIZE for the tests: yes for the paths in ALLOWED."""
    return node.path in ALLOWED


@contextmanager
def configured(settings):
    """GENRO_STORAGE = ``settings``, with mounts ``pub`` and ``priv`` each holding
    dir/big.bin, page.html and a non-ASCII name (memory mounts start empty each time)."""
    with override_settings(GENRO_STORAGE=settings):
        for mount in ("pub", "priv"):
            storage_manager().node(f"{mount}:dir/big.bin").write_bytes(BIG)
            storage_manager().node(f"{mount}:page.html").write_text("<script>alert(1)</script>")
            storage_manager().node(f"{mount}:été/ça va.txt").write_text("non-ascii")
        yield settings


@pytest.fixture
def site(pub_priv):
    """Mounts ``pub`` (public) and ``priv`` of ``kind``, and ``a`` (the test models')."""
    settings = {**pub_priv, "AUTHORIZE": "test_django_serve.allow_listed"}
    ALLOWED.clear()
    with configured(settings):
        yield settings


def test_public_files_answer_every_rfc_9110_case(site):
    client = Client()
    whole = client.get("/files/pub/dir/big.bin")
    assert whole.status_code == 200 and content(whole) == BIG
    assert whole["Content-Length"] == str(len(BIG)) and whole["Accept-Ranges"] == "bytes"
    assert whole["X-Content-Type-Options"] == "nosniff"
    tag = whole["ETag"]
    part = client.get("/files/pub/dir/big.bin", HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 100-199/{len(BIG)}"
    assert content(part) == BIG[100:200] and part["Content-Length"] == "100"
    tail = client.get("/files/pub/dir/big.bin", HTTP_RANGE="bytes=-5")
    assert content(tail) == BIG[-5:]
    multi = client.get("/files/pub/dir/big.bin", HTTP_RANGE="bytes=0-9,500-509")
    assert multi.status_code == 206 and multi["Content-Type"].startswith("multipart/byteranges; boundary=")
    body = content(multi)
    assert BIG[0:10] in body and BIG[500:510] in body and len(body) == int(multi["Content-Length"])
    cached = client.get("/files/pub/dir/big.bin", HTTP_IF_NONE_MATCH=tag)
    assert cached.status_code == 304 and "Content-Type" not in cached and cached["ETag"] == tag
    stale_range = client.get("/files/pub/dir/big.bin", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"other"')
    assert stale_range.status_code == 200
    assert client.get("/files/pub/dir/big.bin", HTTP_IF_MATCH='"other"').status_code == 412
    unsatisfiable = client.get("/files/pub/dir/big.bin", HTTP_RANGE=f"bytes={len(BIG)}-")
    assert unsatisfiable.status_code == 416 and unsatisfiable["Content-Range"] == f"bytes */{len(BIG)}"
    head = client.head("/files/pub/dir/big.bin")
    assert head.status_code == 200 and head["Content-Length"] == str(len(BIG)) and head["ETag"] == tag
    assert client.post("/files/pub/dir/big.bin").status_code == 405
    named = client.get("/files/pub/%C3%A9t%C3%A9/%C3%A7a%20va.txt")
    assert named.status_code == 200 and content(named) == b"non-ascii"


def test_refusals_go_through_django_error_handling(site):
    client = Client()
    assert client.get("/files/pub/dir/none.bin").status_code == 404
    assert client.get("/files/nomount/x").status_code == 404
    assert client.get("/files/pub/../priv/dir/big.bin").status_code == 404
    assert client.get("/files/pub/dir").status_code == 403  # a folder: no listing here
    assert client.get("/files/priv/dir/big.bin").status_code == 403  # private, unsigned


def test_private_files_need_a_signed_url_or_authorize(site, kind):
    client = Client()
    url = GenroStorage(mount="priv").url("dir/big.bin")
    if kind == "s3":  # presigned for the service itself; the view takes its own signature too
        assert "X-Amz-Signature=" in url
        url = storage_manager().url_signer("priv").url("priv", "dir/big.bin", 3600)
    assert url.startswith("/files/priv/dir/big.bin?")
    signed = client.get(url, HTTP_RANGE="bytes=0-3")
    assert signed.status_code == 206 and content(signed) == BIG[:4]
    query = parse_qs(urlsplit(url).query)
    tampered = url.replace(query["signature"][0], query["signature"][0][:-2] + "00")
    assert client.get(tampered).status_code == 403
    other_file = url.replace("big.bin", "page.html")
    assert client.get(other_file).status_code == 403
    stale = storage_manager().url_signer("priv").query("priv", "dir/big.bin", 60, now=time.time() - 3600)
    assert client.get(f"/files/priv/dir/big.bin?{stale}").status_code == 403  # validly signed, expired
    assert client.get("/files/priv/page.html").status_code == 403
    ALLOWED.append("page.html")
    assert client.get("/files/priv/page.html").status_code == 200  # AUTHORIZE said yes
    assert client.get("/files/priv/dir/big.bin").status_code == 403  # and no for this one


def test_active_content_is_sandboxed_or_downloaded(site):
    client = Client()
    page = client.get("/files/pub/page.html")
    assert page.status_code == 200 and "sandbox" in page["Content-Security-Policy"]
    assert page["X-Content-Type-Options"] == "nosniff"
    with configured({**site, "SERVE": {"ACTIVE_CONTENT": "attachment"}}):
        page = client.get("/files/pub/page.html")
        assert page["Content-Disposition"] == 'attachment; filename="page.html"'


def test_serve_node_from_the_sites_own_view(site, kind):
    client = Client()
    storage_manager().node("a:reports/q1.pdf").write_bytes(b"%PDF-1.4 report")
    assert client.get("/app/download/reports/q1.pdf").status_code == 403  # the view's own check
    got = client.get("/app/download/reports/q1.pdf", {"key": "open", "name": "Résumé Q1.pdf"})
    assert got.status_code == 200 and content(got) == b"%PDF-1.4 report"
    assert got["Content-Type"] == "application/pdf"
    assert got["Content-Disposition"] == (
        "attachment; filename=\"Resume Q1.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20Q1.pdf"
    )
    ranged = client.get("/app/download/reports/q1.pdf?key=open", HTTP_RANGE="bytes=0-3")
    assert ranged.status_code == 206 and content(ranged) == b"%PDF"
    assert client.get("/app/download/reports/none.pdf", {"key": "open"}).status_code == 404


def test_offload_per_mount(site, kind):
    client = Client()
    if kind == "local":
        offload = {"pub": {"mode": "x-accel-redirect", "location": "/protected/pub/"}, "priv": "x-sendfile"}
    elif kind == "s3":
        offload = {"pub": "redirect", "priv": {"mode": "redirect", "expires_in": 60}}
    else:  # no OS file to hand over, no service to redirect to: refused at start-up
        with override_settings(GENRO_STORAGE={**site, "OFFLOAD": {"pub": "x-sendfile"}}):
            assert [e.id for e in checks.run_checks(tags=["genro_storage"])] == ["genro_storage.E011"]
        return
    with configured({**site, "OFFLOAD": offload}):
        assert checks.run_checks(tags=["genro_storage"]) == []
        first = client.get("/files/pub/%C3%A9t%C3%A9/%C3%A7a%20va.txt", HTTP_RANGE="bytes=0-1")
        second = client.get(storage_manager().url_signer("priv").url("priv", "dir/big.bin", 60))
        node = storage_manager().node("priv:dir/big.bin")
        if kind == "local":
            assert first.status_code == 200 and content(first) == b""
            assert first["X-Accel-Redirect"] == "/protected/pub/%C3%A9t%C3%A9/%C3%A7a%20va.txt"
            assert first["Content-Type"] == "text/plain; charset=utf-8" and first["ETag"]
            assert second["X-Sendfile"].encode("latin-1") == node.backend.ospath(node.path).encode()
            assert client.get("/files/pub/page.html")["Content-Security-Policy"]
            cached = client.get("/files/pub/page.html", HTTP_IF_NONE_MATCH=client.get("/files/pub/page.html")["ETag"])
            assert cached.status_code == 304 and "X-Accel-Redirect" not in cached
        else:
            assert first.status_code == 302 and first["Cache-Control"] == "private, no-store"
            assert "X-Amz-Signature=" in first["Location"] and "X-Amz-Expires=" in second["Location"]
        assert client.get("/files/priv/dir/none.bin", {"expires": "1", "signature": "x"}).status_code == 403
        assert client.get("/files/pub/dir/none.bin").status_code == 404


def test_offload_settings_are_checked(site, kind):
    bad = {"pub": "redirect"} if kind != "s3" else {"pub": "x-sendfile"}
    with override_settings(GENRO_STORAGE={**site, "OFFLOAD": bad}):
        found = checks.run_checks(tags=["genro_storage"])
        assert [e.id for e in found] == ["genro_storage.E011"] and "'pub'" in found[0].msg


def test_the_asgi_handler_streams_an_async_body(site):
    async def fetch():
        client = AsyncClient()
        response = await client.get("/files/pub/dir/big.bin", headers={"Range": "bytes=10-"})
        assert response.is_async
        chunks = [chunk async for chunk in response.streaming_content]
        return response, b"".join(chunks)

    response, body = asyncio.run(fetch())
    assert response.status_code == 206 and body == BIG[10:]
    assert response["Content-Length"] == str(len(BIG) - 10)


def test_base_url_must_match_the_urls_include(site):
    with override_settings(GENRO_STORAGE={**site, "BASE_URL": "/media/"}):
        found = checks.run_checks(tags=["genro_storage"])
        assert [e.id for e in found] == ["genro_storage.E009"]
        assert "'/files/'" in found[0].hint
    with override_settings(ROOT_URLCONF="testapp.urls_views"):
        found = checks.run_checks(tags=["genro_storage"])
        assert [e.id for e in found] == ["genro_storage.W001"]  # mount 'a' gets serve-view URLs
    with override_settings(GENRO_STORAGE={**site, "AUTHORIZE": "no.such.callable"}):
        assert [e.id for e in checks.run_checks(tags=["genro_storage"])] == ["genro_storage.E010"]


def test_the_middleware_answers_first_and_leaves_the_rest_to_the_view(site):
    middleware = ["genro_storage_django.middleware.ServeMiddleware", *settings.MIDDLEWARE]
    client = Client()
    with override_settings(MIDDLEWARE=middleware, ROOT_URLCONF="testapp.urls_views"):
        # No serve view in this URLconf: what the middleware answers, it answered alone.
        whole = client.get("/files/pub/dir/big.bin", HTTP_RANGE="bytes=5-9")
        assert whole.status_code == 206 and content(whole) == BIG[5:10]
        signed = storage_manager().url_signer("priv").url("priv", "dir/big.bin", 60)
        assert content(client.get(signed)) == BIG
        assert client.get("/files/priv/dir/big.bin").status_code == 404  # left to the (missing) view
        assert client.get("/files/pub/dir/none.bin").status_code == 404
    with override_settings(MIDDLEWARE=middleware):
        assert client.get("/files/priv/dir/big.bin").status_code == 403  # the view refuses it
        ALLOWED.append("page.html")
        assert client.get("/files/priv/page.html").status_code == 200  # the view's AUTHORIZE
        assert client.post("/files/pub/page.html").status_code == 405
        cached = client.get("/files/pub/page.html", HTTP_IF_NONE_MATCH=client.get("/files/pub/page.html")["ETag"])
        assert cached.status_code == 304


def test_gzip_middleware_never_touches_files_and_304s_carry_no_length(site):
    middleware = ["django.middleware.gzip.GZipMiddleware", *settings.MIDDLEWARE]
    client = Client()
    with override_settings(MIDDLEWARE=middleware):
        part = client.get("/files/pub/dir/big.bin", HTTP_RANGE="bytes=0-499", HTTP_ACCEPT_ENCODING="gzip")
        assert part.status_code == 206 and "Content-Encoding" not in part and content(part) == BIG[:500]
        whole = client.get("/files/pub/page.html", HTTP_ACCEPT_ENCODING="gzip")
        assert "Content-Encoding" not in whole and not whole["ETag"].startswith("W/")
        cached = client.get("/files/pub/page.html", HTTP_IF_NONE_MATCH=whole["ETag"])
        assert cached.status_code == 304 and "Content-Length" not in cached


def test_the_middleware_checks_the_host_as_views_do(site):
    middleware = [
        "django.middleware.security.SecurityMiddleware",
        "genro_storage_django.middleware.ServeMiddleware",
        *settings.MIDDLEWARE,
    ]
    with override_settings(MIDDLEWARE=middleware, ALLOWED_HOSTS=["testserver"]):
        assert Client().get("/files/pub/page.html", HTTP_HOST="evil.example").status_code == 400
        assert Client().get("/files/pub/page.html").status_code == 200
