"""The serving seams: ServeOptions, ServeRoute (resolve + respond), StorageApp's checks at
construction, listings over hostile folders, header lookup, per-mount caches."""

from __future__ import annotations

import json
import os
import time

import pytest

from genro_storage import StorageConfigError, StorageManager
from genro_storage.http import ServeOptions, ServeRoute, StorageApp, Target, respond, wsgi_path
from genro_storage.http.responder import SMALL_BODY

SECRET = "a-secret-long-enough-for-hmac-keys"


@pytest.fixture
def storage(tmp_path):
    manager = StorageManager(
        [
            {"name": "pub", "type": "local", "path": str(tmp_path / "pub")},
            {"name": "priv", "type": "memory"},
        ]
    )
    manager.configure_urls(SECRET, "/files/")
    manager.node("pub:a.txt").write("hello world")
    manager.node("priv:secret.txt").write("private")
    return manager


def get(app, path, query="", **headers):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query}
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    return app.handle(environ)


# -- ServeOptions ---------------------------------------------------------------------------


def test_serve_options_refuse_unknown_names_with_the_closest_one():
    with pytest.raises(TypeError, match="'bogus'"):
        ServeOptions.build(bogus=1)
    with pytest.raises(TypeError, match="cache_max_age.*'max_age'"):
        ServeOptions.build(cache_max_age=60)
    with pytest.raises(TypeError, match="did you mean 'as_attachment'"):
        ServeOptions.build(as_attachement=True)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"max_ranges": -1}, "max_ranges"),
        ({"max_ranges": 0}, "max_ranges"),
        ({"max_age": -5}, "max_age"),
        ({"max_age": "3600"}, "max_age"),
        ({"as_attachment": "yes"}, "as_attachment"),
        ({"active_content": "allow"}, "active_content"),
        ({"mimetype": "text"}, "mimetype"),
        ({"mimetype": "text/html\r\nX-Evil: 1"}, "mimetype"),
        ({"mimetype": "text/plain; charset=\u20ac"}, "mimetype"),
        ({"last_modified": float("nan")}, "last_modified"),
        ({"last_modified": float("inf")}, "last_modified"),
        ({"last_modified": 1e20}, "last_modified"),
        ({"last_modified": -1e12}, "last_modified"),
        ({"max_age": 10**30}, "max_age"),
    ],
)
def test_serve_options_check_values_when_built(options, message):
    with pytest.raises((TypeError, ValueError), match=message):
        ServeOptions(**options)


def test_serve_options_from_settings_name_the_key():
    assert ServeOptions.from_mapping({"MAX_AGE": 60, "immutable": True}).max_age == 60
    with pytest.raises(StorageConfigError, match="MAX_AGES.*did you mean 'max_age'") as info:
        ServeOptions.from_mapping({"MAX_AGES": 60}, source="GENRO_STORAGE['SERVE']")
    assert info.value.key == "MAX_AGES"
    with pytest.raises(StorageConfigError, match="max_ranges") as info:
        ServeOptions.from_mapping({"MAX_RANGES": -1})
    assert info.value.key == "MAX_RANGES"
    with pytest.raises(StorageConfigError, match="twice"):
        ServeOptions.from_mapping({"MAX_AGE": 1, "max_age": 2})


# -- StorageApp checks everything at construction -------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"mounts": "pub"}, TypeError, "mounts must be a list"),
        ({"mounts": ["nope"]}, ValueError, "'nope', which is not a mount"),
        ({"mounts": [1]}, TypeError, "mount names"),
        ({"prefix": None}, TypeError, "prefix"),
        ({"max_ranges": -1}, ValueError, "max_ranges"),
        ({"public": True}, TypeError, "'public'"),
        ({"bogus": 1}, TypeError, "'bogus'"),
        ({"listing": "yes"}, TypeError, "listing"),
    ],
)
def test_storage_app_refuses_bad_arguments_at_construction(storage, kwargs, error, message):
    with pytest.raises(error, match=message):
        StorageApp(storage, **kwargs)


def test_storage_app_needs_a_manager():
    with pytest.raises(TypeError, match="StorageManager"):
        StorageApp(None)
    with pytest.raises(TypeError, match="StorageManager"):
        StorageApp({"pub": "/srv"})


def test_require_signature_without_a_secret_fails_at_construction(tmp_path):
    manager = StorageManager([{"name": "m", "type": "memory"}])
    with pytest.raises(ValueError, match="configure_urls"):
        StorageApp(manager, require_signature=True)


def test_storage_app_serves_with_its_options(storage):
    app = StorageApp(storage, mounts=["pub"], prefix="/files/", max_age=60)
    response = get(app, "/files/pub/a.txt")
    assert response.status == 200 and response.header("Cache-Control") == "public, max-age=60"
    assert get(app, "/files/priv/secret.txt").status == 404  # not in mounts
    assert get(app, "/other/pub/a.txt").status == 404


# -- ServeRoute.resolve -----------------------------------------------------------------------


def test_resolve_refuses_what_must_not_be_served(storage):
    route = ServeRoute(storage, mounts=["pub"])
    assert isinstance(route.resolve("pub/a.txt"), Target)
    for path in ("priv/secret.txt", "nope/a.txt", "pub/../priv/secret.txt", "pub:x/a.txt", "", "/pub/a.txt"):
        assert route.resolve(path).status == 404, path


def test_resolve_checks_signature_and_expiry(storage):
    route = ServeRoute(storage, public=())
    url = storage.node("priv:secret.txt").url(expires_in=60)
    query = url.partition("?")[2]
    found = route.resolve("priv/secret.txt", query)
    assert isinstance(found, Target) and found.signed
    assert route.resolve("priv/secret.txt").status == 403  # unsigned, not public
    assert route.resolve("priv/other.txt", query).status == 403  # signed for another file
    assert route.resolve("priv/secret.txt", query.replace("signature=", "signature=x")).status == 403
    expired = storage.url_signer().query("priv", "secret.txt", 60, now=time.time() - 120)
    assert route.resolve("priv/secret.txt", expired).status == 403
    assert route.resolve("priv/secret.txt", "expires=&signature=").status == 403


def test_resolve_takes_the_raw_query_as_bytes_too(storage):
    route = ServeRoute(storage, public=())
    query = storage.node("priv:secret.txt").url(expires_in=60).partition("?")[2]
    found = route.resolve("priv/secret.txt", query.encode())  # werkzeug's request.query_string
    assert isinstance(found, Target) and found.signed


@pytest.mark.parametrize("signature", ["%C3%A9", "\u00e9" * 43, "x" * 5000, "a&signature=b"])
def test_odd_signatures_are_refused_never_a_500(storage, signature):
    app = StorageApp(storage, require_signature=True)
    assert get(app, "/priv/secret.txt", f"expires=99999999999&signature={signature}").status == 403


def test_a_route_with_private_mounts_needs_a_secret(tmp_path):
    manager = StorageManager([{"name": "a", "type": "memory"}, {"name": "b", "type": "memory"}])
    assert ServeRoute(manager, public=["a", "b"]).is_public("b")  # all public: no secret needed
    with pytest.raises(ValueError, match="configure_urls"):
        ServeRoute(manager, public=["a"])


def test_resolve_asks_authorize_for_unsigned_requests_to_private_mounts(storage):
    route = ServeRoute(storage, public=["pub"])
    asked = []

    def authorize(node):
        asked.append(node.fullpath)
        return node.basename == "secret.txt"

    assert isinstance(route.resolve("pub/a.txt", authorize=authorize), Target)
    assert isinstance(route.resolve("priv/secret.txt", authorize=authorize), Target)
    assert route.resolve("priv/other.txt", authorize=authorize).status == 403
    assert asked == ["priv:secret.txt", "priv:other.txt"]  # public mounts never ask


def test_public_must_be_served_mounts(storage):
    with pytest.raises(ValueError, match="priv"):
        ServeRoute(storage, mounts=["pub"], public=["priv"])


def test_wsgi_path_decodes_utf8_below_the_prefix():
    raw = "/files/pub/caff\u00e8.txt".encode().decode("latin-1")
    assert wsgi_path({"PATH_INFO": raw}, "/files/") == "pub/caff\u00e8.txt"
    assert wsgi_path({"PATH_INFO": "/elsewhere/x"}, "/files/") is None
    assert wsgi_path({"PATH_INFO": "/files/\xff"}, "/files/") is None  # not UTF-8
    assert wsgi_path({"PATH_INFO": "/filesX/pub/a.txt"}, "/files") is None  # not below '/files/'
    assert wsgi_path({"PATH_INFO": "/files/pub/a.txt"}, "/files") == "pub/a.txt"


# -- listings ------------------------------------------------------------------------------------


@pytest.fixture
def hostile(tmp_path):
    root = tmp_path / "root"
    (root / "dir").mkdir(parents=True)
    (root / "dir" / "ok.txt").write_text("ok")
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours")
    os.symlink(outside, root / "dir" / "leaves")
    os.symlink(root / "missing", root / "dir" / "dangling")
    os.symlink(root / "dir" / "loop2", root / "dir" / "loop1")
    os.symlink(root / "dir" / "loop1", root / "dir" / "loop2")
    os.symlink(root, root / "dir" / "to-root")
    os.mkfifo(root / "dir" / "fifo")
    os.close(os.open(os.fsencode(root / "dir") + b"/latin1-\xff", os.O_CREAT | os.O_WRONLY))  # not UTF-8
    manager = StorageManager([{"name": "f", "type": "local", "path": str(root)}])
    return manager


def test_listing_survives_links_that_cannot_be_followed(hostile):
    app = StorageApp(hostile, listing=True)
    response = get(app, "/f/dir")
    assert response.status == 200
    page = b"".join(response.body).decode()
    assert "ok.txt" in page
    for name in ("leaves", "dangling", "loop1", "loop2", "to-root", "fifo"):  # to-root: an endless tree
        assert name not in page
    for name in ("leaves", "dangling", "loop1", "to-root/to-root/dir"):
        assert get(app, f"/f/dir/{name}").status in (403, 404), name
    data = json.loads(b"".join(get(app, "/f/dir", accept="application/json").body))
    assert {e["name"] for e in data["entries"]} == {"ok.txt"}
    assert data["entries"][0]["url"].startswith("/f/dir/")


def test_listing_a_path_longer_than_the_os_allows_is_not_an_error(hostile):
    app = StorageApp(hostile, listing=True)
    deep = "/".join(["to-root/dir"] * 400)  # > PATH_MAX once resolved
    assert get(app, f"/f/dir/{deep}").status in (403, 404)
    assert get(app, "/f/" + "x" * 300).status == 404  # a name longer than NAME_MAX


@pytest.mark.parametrize(
    "accept, kind",
    [
        ("application/json", "json"),
        ("text/html,application/json;q=0.9", "html"),
        ("application/json;q=0.5, text/html;q=0.4", "json"),
        ("text/html;q=0, */*", "json"),  # HTML refused, JSON taken through */*
        ("application/*", "json"),
        ("*/*", "html"),  # a tie: a browser's page
        ("application/json;q=0", "html"),
        ("application/json;q=nan", "html"),
        ("", "html"),
    ],
)
def test_a_listing_answers_the_type_accept_ranks_first(hostile, accept, kind):
    response = get(StorageApp(hostile, listing=True), "/f/dir", accept=accept)
    assert response.header("Content-Type").startswith("application/json" if kind == "json" else "text/html")


def test_listing_head_has_no_body(hostile):
    app = StorageApp(hostile, listing=True)
    response = app.handle({"REQUEST_METHOD": "HEAD", "PATH_INFO": "/f/dir"})
    assert response.status == 200 and list(response.body) == [] and int(response.header("Content-Length")) > 0


# -- the responder --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["range", "RANGE", "Range", "rAnGe"])
def test_header_lookup_ignores_case_in_any_mapping(storage, name):
    response = respond(storage.node("pub:a.txt"), "GET", {name: "bytes=0-3"})
    assert response.status == 206 and b"".join(response.body) == b"hell"


def test_header_lookup_takes_bytes_as_asgi_gives_them(storage):
    response = respond(storage.node("pub:a.txt"), "GET", {b"range": b"bytes=0-3", b"x-other": 5, 7: "x"})
    assert response.status == 206 and b"".join(response.body) == b"hell"


def test_etag_precondition_with_lowercase_names(storage):
    node = storage.node("pub:a.txt")
    tag = respond(node, "GET", {}).header("ETag")
    assert respond(node, "GET", {"if-none-match": tag}).status == 304


def test_each_mount_keeps_its_own_representations(tmp_path):
    first = StorageManager([{"name": "m", "type": "local", "path": str(tmp_path / "a")}])
    second = StorageManager([{"name": "m", "type": "local", "path": str(tmp_path / "b")}])
    first.node("m:x.txt").write("one")
    respond(first.node("m:x.txt"), "GET", {}, max_age=5)
    assert first.mounts["m"].serving_cache and not second.mounts["m"].serving_cache


@pytest.mark.parametrize("name", ["page.html", "icon.svg", "feed.xml", "doc.xhtml"])
def test_active_content_is_sandboxed_by_default(storage, name):
    storage.node("pub", name).write("<html><script>alert(1)</script></html>")
    response = respond(storage.node("pub", name), "GET", {})
    assert response.header("Content-Security-Policy").startswith("sandbox")
    assert response.header("X-Content-Type-Options") == "nosniff"
    attached = respond(storage.node("pub", name), "GET", {}, active_content="attachment")
    assert attached.header("Content-Disposition").startswith("attachment")
    trusted = respond(storage.node("pub", name), "GET", {}, active_content="inline")
    assert trusted.header("Content-Security-Policy") is None and trusted.header("Content-Disposition") is None


def test_plain_files_get_no_sandbox(storage):
    assert respond(storage.node("pub:a.txt"), "GET", {}).header("Content-Security-Policy") is None


def test_a_file_rewritten_in_place_never_completes_its_body(storage, tmp_path):
    node = storage.node("pub:big.bin")
    node.write_bytes(b"a" * (SMALL_BODY * 3))
    response = respond(node, "GET", {})
    assert response.file is not None
    chunks = iter(response.file)
    with open(tmp_path / "pub" / "big.bin", "r+b") as f:  # same size, other bytes, in place
        f.write(b"b" * (SMALL_BODY * 3))
    os.utime(tmp_path / "pub" / "big.bin", ns=(time.time_ns(), time.time_ns() + 10**9))
    with pytest.raises(OSError, match="rewritten"):
        list(chunks)
    response.close()


def test_last_modified_and_mimetype_options(storage):
    response = respond(storage.node("pub:a.txt"), "GET", {}, last_modified=784111777, mimetype="text/x-note")
    assert response.header("Last-Modified") == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert response.header("Content-Type") == "text/x-note; charset=utf-8"


def test_files_of_private_mounts_are_never_kept_by_shared_caches(storage):
    route = ServeRoute(storage, public=["pub"], options=ServeOptions(max_age=60))
    public = route.respond(route.resolve("pub/a.txt"), "GET", {})
    assert public.header("Cache-Control") == "public, max-age=60"
    signed = storage.url_signer("priv").query("priv", "secret.txt", 60)
    private = route.respond(route.resolve("priv/secret.txt", signed), "GET", {})
    assert private.status == 200 and private.header("Cache-Control") == "private, max-age=60"
    other = route.respond(route.resolve("priv/secret.txt", signed), "GET", {}, ServeOptions(max_age=5, immutable=True))
    assert other.header("Cache-Control") == "private, max-age=5, immutable"
    revalidated = ServeRoute(storage, public=["pub"]).respond(route.resolve("priv/secret.txt", signed), "GET", {})
    assert revalidated.header("Cache-Control") == "private, no-cache"
    assert ServeOptions(private=True, max_age=1).private and ServeOptions.build(private=True).private
