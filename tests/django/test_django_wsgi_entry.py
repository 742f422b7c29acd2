"""``genro_storage_django.wsgi``: the files answered in front of Django's handler, with the
answers ``ServeMiddleware`` gives after SecurityMiddleware, and everything else left to Django."""

from __future__ import annotations

import io
import wsgiref.util
from contextlib import contextmanager
from urllib.parse import quote, unquote, urlsplit

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.test.utils import override_settings

from genro_storage_django import storage_manager
from genro_storage_django.wsgi import ServeApplication

BIG = bytes(range(256)) * 2048 + b"!"  # past the core's single-read size: a FileSlice body
SECURE_SITE = {
    "SECURE_HSTS_SECONDS": 3600,
    "SECURE_REFERRER_POLICY": "same-origin",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY": "same-origin",
}
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "genro_storage_django.middleware.ServeMiddleware",
]


@contextmanager
def connections_kept():
    """As Django's test client does around a request: its handler's signals must not close
    the test's database connection (they call ``close_old_connections``)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


class Recorder:
    """Django's WSGI handler, counting the requests it was left."""

    def __init__(self):
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.handler(environ, start_response)


class Answer:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes):
        self.status = int(status.split()[0])
        self.headers = headers
        self.body = body

    def __getitem__(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def call(app, method: str, url: str, scheme: str = "http", **headers: str) -> Answer:
    """``app`` asked as a WSGI server would ask it (PEP 3333 environ, a file wrapper)."""
    parts = urlsplit(url)
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": unquote(parts.path).encode().decode("latin-1"),
        "QUERY_STRING": parts.query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443" if scheme == "https" else "80",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(),
        "wsgi.file_wrapper": wsgiref.util.FileWrapper,
    }
    wsgiref.util.setup_testing_defaults(environ)
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
    started = []
    with connections_kept():
        body = app(environ, lambda status, head, exc_info=None: started.append((status, head)))
        try:
            data = b"".join(body)
        finally:
            getattr(body, "close", lambda: None)()
    return Answer(started[0][0], started[0][1], data)


def by_middleware(method: str, url: str, secure: bool = False, **headers: str) -> Answer:
    """The same request through Django's handler and ServeMiddleware (the test client)."""
    extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    response = Client().generic(method, url, secure=secure, **extra)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    status = f"{response.status_code} {response.reason_phrase}"
    return Answer(status, list(response.items()), body)


@pytest.fixture
def entry(pub_priv):
    """The entry over Django's handler, mounts ``pub`` (public) and ``priv`` of ``kind``."""
    genro = {**pub_priv, "AUTHORIZE": "testapp.views.authorize_shared"}
    with override_settings(GENRO_STORAGE=genro, MIDDLEWARE=[*MIDDLEWARE, *settings.MIDDLEWARE], **SECURE_SITE):
        for mount in ("pub", "priv"):
            storage_manager().node(f"{mount}:dir/big.bin").write_bytes(BIG)
            storage_manager().node(f"{mount}:page.html").write_text("<script>alert(1)</script>")
            storage_manager().node(f"{mount}:shared/ok.txt").write_text("shared")
            storage_manager().node(f"{mount}:été/ça va.txt").write_text("non-ascii")
        inner = Recorder()
        yield ServeApplication(inner), inner


def comparable(answer: Answer) -> list[tuple[str, str]]:
    """The headers, in order, with their names in one case."""
    return [(k.lower(), v) for k, v in answer.headers]


def test_files_are_answered_in_front_of_django_as_the_middleware_answers_them(entry):
    app, inner = entry
    tag = call(app, "GET", "/files/pub/dir/big.bin")["ETag"]
    signed = storage_manager().url_signer("priv").url("priv", "dir/big.bin", 60)
    cases = [
        ("GET", "/files/pub/dir/big.bin", {}),
        ("GET", "/files/pub/dir/big.bin", {"Range": "bytes=100-199"}),
        ("GET", "/files/pub/dir/big.bin", {"Range": "bytes=0-9,-10"}),
        ("GET", "/files/pub/dir/big.bin", {"Range": f"bytes={len(BIG)}-"}),
        ("GET", "/files/pub/dir/big.bin", {"If-None-Match": tag}),
        ("GET", "/files/pub/dir/big.bin", {"If-Match": '"other"'}),
        ("HEAD", "/files/pub/dir/big.bin", {}),
        ("GET", "/files/pub/page.html", {}),
        ("GET", "/files/pub/" + quote("été/ça va.txt"), {}),
        ("GET", signed, {"Range": "bytes=-5"}),
    ]
    for method, url, headers in cases:
        for secure in (False, True):
            got = call(app, method, url, "https" if secure else "http", **headers)
            want = by_middleware(method, url, secure, **headers)
            assert got.status == want.status, (method, url, headers)
            if "multipart" not in (got["Content-Type"] or ""):  # a fresh boundary each time
                assert got.body == want.body, (method, url, headers)
                assert comparable(got) == comparable(want), (method, url, headers)
            assert (got["Strict-Transport-Security"] is not None) == secure
    assert inner.calls == 2 * 2  # only the 416 and the 412, which Django answers (and logs)
    part = call(app, "GET", "/files/pub/dir/big.bin", Range="bytes=100-199")
    assert part.status == 206 and part.body == BIG[100:200] and part["Referrer-Policy"] == "same-origin"
    assert part["X-Content-Type-Options"] == "nosniff" and part["Cross-Origin-Opener-Policy"] == "same-origin"


def test_what_is_not_a_readable_file_goes_to_django(entry):
    app, inner = entry
    signed = storage_manager().url_signer("priv").url("priv", "dir/big.bin", 60)
    refused = [
        ("GET", "/files/priv/dir/big.bin", 403),  # private, unsigned: the view and AUTHORIZE decide
        ("GET", signed.replace("signature=", "signature=0"), 403),
        ("GET", "/files/pub/dir/none.bin", 404),
        ("GET", "/files/none/x", 404),
        ("POST", "/files/pub/page.html", 403),  # CSRF middleware runs: Django answered it
        ("GET", "/elsewhere/", 404),
    ]
    for method, url, status in refused:
        before = inner.calls
        assert call(app, method, url).status == status, url
        assert inner.calls == before + 1, url
    shared = call(app, "GET", "/files/priv/shared/ok.txt")  # AUTHORIZE says yes for shared/
    assert shared.status == 200 and shared.body == b"shared" and inner.calls == len(refused) + 1


def test_a_host_django_refuses_and_an_https_redirect_stay_django_s(entry):
    app, inner = entry
    with override_settings(ALLOWED_HOSTS=["files.example"]):
        for _ in range(2):  # the second time from what the entry remembers of the host
            assert call(app, "GET", "/files/pub/page.html").status == 400  # testserver is not allowed
            allowed = call(app, "GET", "/files/pub/page.html", Host="files.example")
            assert allowed.status == 200
        assert inner.calls == 2
        with override_settings(USE_X_FORWARDED_HOST=True):
            forwarded = {"Host": "files.example", "X-Forwarded-Host": "evil.example"}
            assert call(app, "GET", "/files/pub/page.html", **forwarded).status == 400 and inner.calls == 3
            forwarded = {"Host": "evil.example", "X-Forwarded-Host": "files.example"}
            assert call(app, "GET", "/files/pub/page.html", **forwarded).status == 200 and inner.calls == 3
    assert call(app, "GET", "/files/pub/page.html", Host="files.example").status == 400  # not allowed any more
    assert call(app, "GET", "/files/pub/page.html").status == 200
    with override_settings(SECURE_SSL_REDIRECT=True):
        inner = Recorder()  # Django's handler reads its middleware settings once, when built
        app = ServeApplication(inner)
        moved = call(app, "GET", "/files/pub/page.html")
        assert moved.status == 301 and moved["Location"] == "https://testserver/files/pub/page.html"
        assert inner.calls == 1
        assert call(app, "GET", "/files/pub/page.html", "https").status == 200 and inner.calls == 1
    with override_settings(SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
        behind = call(app, "GET", "/files/pub/page.html", **{"X-Forwarded-Proto": "https"})
        assert behind.status == 200 and behind["Strict-Transport-Security"] == "max-age=3600"
        assert inner.calls == 1


def test_security_headers_follow_the_settings(entry):
    app, _ = entry
    with override_settings(SECURE_REFERRER_POLICY=["no-referrer", "strict-origin"], SECURE_HSTS_PRELOAD=True):
        answer = call(app, "GET", "/files/pub/page.html", "https")
        assert answer["Referrer-Policy"] == "no-referrer,strict-origin"
        assert answer["Strict-Transport-Security"] == "max-age=3600; preload"
    without = [m for m in settings.MIDDLEWARE if "SecurityMiddleware" not in m]
    with override_settings(MIDDLEWARE=without):
        answer = call(app, "GET", "/files/pub/page.html", "https")
        assert answer.status == 200 and answer["Referrer-Policy"] is None
        assert answer["Strict-Transport-Security"] is None and answer["X-Content-Type-Options"] == "nosniff"


def test_settings_that_break_serving_are_reported_by_django_not_by_the_server(entry):
    app, inner = entry
    with override_settings(GENRO_STORAGE={"MOUNTS": [{"name": "x", "type": "no-such-backend"}]}):
        broken = call(app, "GET", "/files/x/y.txt")
        assert broken.status == 500 and inner.calls == 1  # Django's handler answered, and logged it
