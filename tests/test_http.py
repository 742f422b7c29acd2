"""The HTTP responder over a real socket: a real WSGI server on 127.0.0.1, http.client.

Every test runs against a local file and an S3 (moto) file through werkzeug's threaded
server, and the local file also through gunicorn (its wsgi.file_wrapper sendfiles).
"""

from __future__ import annotations

import email
import email.utils
import errno
import hashlib
import http.client
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import BUCKET, recording_s3_gets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.serving import make_server

from genro_storage import StorageManager
from genro_storage.backends import openfiles
from genro_storage.http import MAX_RANGES, StorageApp, respond
from genro_storage.http.headers import _parse_ranges, parse_range
from genro_storage.http.responder import SMALL_BODY, FileSlice

DATA = bytes(range(256)) * 40 + b"tail"  # 10,244 bytes
SECRET = "test-secret-of-32-characters-min"


class Server:
    """Where a test server listens, and a helper to send raw requests."""

    def __init__(self, port: int, mount: str, storage: StorageManager | None):
        self.port = port
        self.mount = mount
        self.storage = storage

    def request(self, method: str, target: str, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.putrequest(method, target, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            conn.endheaders()
            response = conn.getresponse()
            body = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, body
        finally:
            conn.close()

    def get(self, name: str, headers: dict | None = None, method: str = "GET"):
        return self.request(method, f"/{self.mount}/{name}", headers)


def _populate(storage: StorageManager, mount: str) -> None:
    storage.node(mount, "data.bin").write_bytes(DATA)
    storage.node(mount, "empty.txt").write_bytes(b"")
    storage.node(mount, "résumé 2024.pdf").write_bytes(b"%PDF-1.4 fake")
    storage.node(mount, "page.html").write_text("<p>hi</p>")
    storage.node(mount, "dir", "inner.txt").write_text("inner")


REMOTES = ["s3", "gcs", "azure"]


@pytest.fixture(scope="module")
def werkzeug_servers(tmp_path_factory, s3_server, gcs_options, azure_options):
    root = tmp_path_factory.mktemp("http-local")
    storage = StorageManager(
        [
            {"name": "local", "type": "local", "path": str(root)},
            s3_server.mount("s3", BUCKET, prefix="http-tests"),
            {"name": "gcs", "type": "gcs", "bucket": BUCKET, "prefix": "http-tests", **gcs_options},
            {"name": "azure", "type": "azure", "container": BUCKET, "prefix": "http-tests", **azure_options},
        ]
    )
    storage.configure_urls(SECRET, "/")
    for mount in ("local", *REMOTES):
        _populate(storage, mount)
    server = make_server("127.0.0.1", 0, StorageApp(storage), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield storage, server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("http-gunicorn")
    storage = StorageManager([{"name": "files", "type": "local", "path": str(root)}])
    storage.configure_urls(SECRET, "/")
    _populate(storage, "files")
    env = {**os.environ, "GS_TEST_ROOT": str(root), "GS_TEST_SECRET": SECRET, "PYTHONPATH": str(Path(__file__).parent)}
    gunicorn = Path(sys.executable).parent / "gunicorn"
    proc = subprocess.Popen(
        [str(gunicorn), "-b", "127.0.0.1:0", "-k", "gthread", "--threads", "4", "http_app:app"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = None
        deadline = time.time() + 30
        while port is None and time.time() < deadline:
            line = proc.stderr.readline()
            match = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line)
            if match:
                port = int(match.group(1))
        assert port, "gunicorn did not start"
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
        yield storage, port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(params=["werkzeug-local", *(f"werkzeug-{kind}" for kind in REMOTES), "gunicorn-local"])
def server(request) -> Server:
    kind = request.param
    if kind.startswith("gunicorn"):
        storage, port = request.getfixturevalue("gunicorn_server")
        return Server(port, "files", storage)
    storage, port = request.getfixturevalue("werkzeug_servers")
    return Server(port, kind.split("-")[1], storage)


def test_full_get(server):
    status, headers, body = server.get("data.bin")
    assert status == 200 and body == DATA
    assert headers["content-length"] == str(len(DATA))
    assert headers["accept-ranges"] == "bytes"
    assert re.fullmatch(r'"[^"]+"', headers["etag"])
    assert headers["last-modified"].endswith("GMT")
    assert headers["content-type"] == "application/octet-stream"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-cache"
    assert server.get("data.bin")[1]["etag"] == headers["etag"]


def test_text_types_carry_charset(server):
    status, headers, body = server.get("page.html")
    assert status == 200 and body == b"<p>hi</p>"
    assert headers["content-type"] == "text/html; charset=utf-8"


def test_head_has_get_headers_and_no_body(server):
    _, get_headers, _ = server.get("data.bin")
    status, headers, body = server.get("data.bin", method="HEAD")
    assert status == 200 and body == b""
    for name in ("content-length", "etag", "last-modified", "content-type", "accept-ranges"):
        assert headers[name] == get_headers[name]
    status, headers, _ = server.get("data.bin", {"Range": "bytes=0-9"}, method="HEAD")
    assert status == 200 and headers["content-length"] == str(len(DATA))


def test_empty_file(server):
    status, headers, body = server.get("empty.txt")
    assert status == 200 and body == b"" and headers["content-length"] == "0"
    for spec in ("bytes=0-", "bytes=-0", "bytes=0-0, -0"):
        status, headers, _ = server.get("empty.txt", {"Range": spec})
        assert status == 416 and headers["content-range"] == "bytes */0", spec
    # Section 14.1.1: a non-zero suffix is the one satisfiable range of an empty file.
    for spec in ("bytes=-5", "bytes=\t-5", "bytes=0-1,-5"):
        status, headers, body = server.get("empty.txt", {"Range": spec})
        assert status == 200 and body == b"" and headers["content-length"] == "0", spec


@pytest.mark.parametrize(
    "spec,start,stop",
    [
        ("bytes=0-0", 0, 1),
        ("bytes=10-19", 10, 20),
        ("bytes=10000-", 10000, len(DATA)),
        ("bytes=-4", len(DATA) - 4, len(DATA)),
        ("bytes=-99999", 0, len(DATA)),
        ("bytes=10240-99999", 10240, len(DATA)),
        ("bytes=0-9,5-14", 0, 15),  # overlapping ranges coalesce into one
        ("BYTES = 3-5", 3, 6),
        ("bytes=0-", 0, len(DATA)),
        ("bytes=10-" + "9" * 5000, 10, len(DATA)),  # past int()'s 4,300-digit limit: still clipped
    ],
)
def test_single_ranges(server, spec, start, stop):
    status, headers, body = server.get("data.bin", {"Range": spec})
    assert status == 206  # a range covering the whole file too
    assert body == DATA[start:stop]
    assert headers["content-range"] == f"bytes {start}-{stop - 1}/{len(DATA)}"
    assert headers["content-length"] == str(stop - start)
    assert headers["content-type"] == "application/octet-stream"


def _parse_multipart(headers, body):
    message = email.message_from_bytes(b"Content-Type: " + headers["content-type"].encode() + b"\r\n\r\n" + body)
    assert message.is_multipart()
    parts = []
    for part in message.get_payload():
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", part["Content-Range"])
        assert match and int(match.group(3)) == len(DATA)
        assert part["Content-Type"] == "application/octet-stream"
        parts.append((int(match.group(1)), int(match.group(2)) + 1, part.get_payload(decode=True)))
    return parts


def test_multiple_ranges_multipart(server):
    status, headers, body = server.get("data.bin", {"Range": "bytes=0-9, 100-199, -5"})
    assert status == 206
    assert headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert headers["content-length"] == str(len(body))
    parts = _parse_multipart(headers, body)
    assert [(a, b) for a, b, _ in parts] == [(0, 10), (100, 200), (len(DATA) - 5, len(DATA))]
    for start, stop, payload in parts:
        assert payload == DATA[start:stop]


def test_multipart_overlaps_coalesced(server):
    status, headers, body = server.get("data.bin", {"Range": "bytes=50-99,0-9,60-120,200-209"})
    assert status == 206
    parts = _parse_multipart(headers, body)
    # Overlaps merged; parts in the order they were asked for (RFC 9110 section 14.6).
    assert [(a, b) for a, b, _ in parts] == [(50, 121), (0, 10), (200, 210)]
    assert all(payload == DATA[a:b] for a, b, payload in parts)


def test_too_many_ranges_get_the_whole_file(server):
    spec = "bytes=" + ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(MAX_RANGES + 1))
    status, _, body = server.get("data.bin", {"Range": spec})
    assert status == 200 and body == DATA
    overlapping = "bytes=" + ",".join(["0-9999"] * 3)
    status, _, body = server.get("data.bin", {"Range": overlapping})
    assert status == 200 and body == DATA


def test_unsatisfiable_range(server):
    for spec in (f"bytes={len(DATA)}-", f"bytes={len(DATA)}-{len(DATA) + 5}", "bytes=" + "9" * 5000 + "-"):
        status, headers, body = server.get("data.bin", {"Range": spec})
        assert status == 416 and headers["content-range"] == f"bytes */{len(DATA)}"
    assert headers["content-range"] == f"bytes */{len(DATA)}"
    status, headers, _ = server.get("data.bin", {"Range": "bytes=99999-100000, -0"})
    assert status == 416


@pytest.mark.parametrize("spec", ["bytes=abc", "items=0-1", "bytes=5-1", "bytes=", "bytes=1-2-3", "0-5", "bytes=+1-2"])
def test_invalid_range_is_ignored(server, spec):
    status, headers, body = server.get("data.bin", {"Range": spec})
    assert status == 200 and body == DATA
    assert "content-range" not in headers


def _validators(server):
    _, headers, _ = server.get("data.bin")
    return headers["etag"], headers["last-modified"]


def test_preconditions(server):
    etag, last_modified = _validators(server)
    weak = "W/" + etag
    past = formatdate(0, usegmt=True)
    future = formatdate(time.time() + 86400 * 365, usegmt=True)
    cases = [
        ({"If-Match": etag}, 200),
        ({"If-Match": '"other", ' + etag}, 200),
        ({"If-Match": "*"}, 200),
        ({"If-Match": '"other"'}, 412),
        ({"If-Match": weak}, 412),  # If-Match compares strongly
        ({"If-Unmodified-Since": future}, 200),
        ({"If-Unmodified-Since": past}, 412),
        ({"If-Match": etag, "If-Unmodified-Since": past}, 200),  # ignored when If-Match is present
        ({"If-None-Match": etag}, 304),
        ({"If-None-Match": weak}, 304),  # If-None-Match compares weakly
        ({"If-None-Match": '"a", ' + etag}, 304),
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": '"other"'}, 200),
        ({"If-Modified-Since": last_modified}, 304),
        ({"If-Modified-Since": future}, 304),
        ({"If-Modified-Since": past}, 200),
        ({"If-None-Match": '"other"', "If-Modified-Since": future}, 200),  # IMS ignored with INM
        ({"If-Match": '"other"', "If-None-Match": etag}, 412),  # If-Match first
        ({"If-Unmodified-Since": past, "If-None-Match": etag}, 412),
        ({"If-Modified-Since": "not a date"}, 200),
        ({"If-Unmodified-Since": "garbage"}, 200),
        # Empty list elements are skipped (section 5.6.1.2).
        ({"If-None-Match": '"x", , ' + etag}, 304),
        ({"If-Match": ", " + etag}, 200),
        # A list of dates is not a date: ignored (sections 13.1.3 and 13.1.4).
        ({"If-Modified-Since": f"{last_modified}, {last_modified}"}, 200),
        ({"If-Unmodified-Since": f"{past}, {last_modified}"}, 200),
        ({"If-Modified-Since": "Thursday, 01-Jan-70 00:00:00 GMT"}, 200),  # the obsolete forms parse
        ({"If-Unmodified-Since": "Thu Jan  1 00:00:00 1970"}, 412),
    ]
    for headers, expected in cases:
        status, response_headers, body = server.get("data.bin", headers)
        assert status == expected, headers
        if expected == 200:
            assert body == DATA
        elif expected == 304:
            assert body == b""
            assert response_headers["etag"] == etag
            assert response_headers["cache-control"] == "no-cache"
            assert "content-length" not in response_headers or response_headers["content-length"] == "0"
            assert "content-range" not in response_headers and "content-type" not in response_headers
        else:
            assert "etag" not in response_headers


def test_if_range(server):
    etag, last_modified = _validators(server)
    other_date = formatdate(time.time() - 86400 * 400, usegmt=True)
    cases = [
        (etag, 206),
        ('"other"', 200),
        ("W/" + etag, 200),  # a weak tag never satisfies If-Range
        (last_modified, 206),
        (other_date, 200),
        ("garbage", 200),
    ]
    for value, expected in cases:
        status, headers, body = server.get("data.bin", {"Range": "bytes=0-9", "If-Range": value})
        assert status == expected, value
        assert body == (DATA[:10] if expected == 206 else DATA)


def test_precondition_failure_beats_range(server):
    status, _, _ = server.get("data.bin", {"Range": "bytes=0-9", "If-Match": '"nope"'})
    assert status == 412
    etag, _ = _validators(server)
    status, _, body = server.get("data.bin", {"Range": "bytes=0-9", "If-None-Match": etag})
    assert status == 304 and body == b""


def test_missing_folder_and_method(server):
    assert server.get("nope.bin")[0] == 404
    assert server.request("GET", "/unknown-mount/data.bin")[0] == 404
    assert server.get("dir")[0] == 403
    assert server.get("dir/inner.txt")[2] == b"inner"
    status, headers, _ = server.get("data.bin", method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"
    assert server.get("data.bin", method="DELETE")[0] == 405


@pytest.mark.parametrize(
    "target",
    [
        "/{m}/%2e%2e/%2e%2e/etc/passwd",
        "/{m}/..%2f..%2fetc%2fpasswd",
        "/{m}/dir/%2e%2e%2f%2e%2e%2fdata.bin",
        "/{m}/dir%2f..%2f..%2fetc",
        "/{m}/%2fetc%2fpasswd",
        "/{m}/dir/..%5c..%5cdata.bin",
        "/{m}/a%00b",
        "/%2e%2e/{m}/data.bin",
        "/{m}/%ff%fe",
        "/{m}:dir/inner.txt",  # no other spelling of {m}/dir/inner.txt: a mount name never holds ':'
    ],
)
def test_path_traversal_refused(server, target):
    status, _, body = server.request("GET", target.format(m=server.mount))
    assert status in (400, 403, 404)
    assert b"root:" not in body and body != DATA


def test_non_ascii_names(server):
    status, headers, body = server.get("r%C3%A9sum%C3%A9%202024.pdf")
    assert status == 200 and body == b"%PDF-1.4 fake"
    assert headers["content-type"] == "application/pdf"


def test_signed_urls(server):
    if server.mount in REMOTES:  # node.url() presigns there; the app's own scheme works on any mount
        url = server.storage.url_signer().url(server.mount, "data.bin", 60)
    else:
        url = server.storage.node(server.mount, "data.bin").url(expires_in=60)
    assert server.request("GET", url)[0] == 200
    path, query = url.split("?")
    assert server.request("GET", path + "?" + query.replace("signature=", "signature=x"))[0] == 403
    other = server.storage.url_signer().url(server.mount, "page.html", 60).split("?")[1]
    assert server.request("GET", path + "?" + other)[0] == 403  # a signature for another file
    expired = server.storage.url_signer().query(server.mount, "data.bin", 60, now=time.time() - 3600)
    assert server.request("GET", f"{path}?{expired}")[0] == 403
    assert server.request("GET", path + "?expires=99999999999")[0] == 403
    # Past int()'s 4,300-digit limit: refused, never a 500 (gunicorn refuses the URI first).
    assert server.request("GET", path + "?signature=x&expires=" + "9" * 4400)[0] in (403, 414)


def test_s3_presigned_url_downloads_with_a_plain_client(werkzeug_servers):
    storage, _ = werkzeug_servers
    url = storage.node("s3:data.bin").url(expires_in=60)
    assert "Signature" in url
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read() == DATA


def test_s3_range_fetches_only_that_range(werkzeug_servers):
    storage, port = werkzeug_servers
    big = storage.node("s3:big.bin")
    payload = os.urandom(3 * 1024 * 1024)
    big.write_bytes(payload)
    with recording_s3_gets(storage.get_backend("s3")) as seen:
        server = Server(port, "s3", storage)
        status, headers, body = server.get("big.bin", {"Range": "bytes=1000000-1049999"})
    assert status == 206 and body == payload[1000000:1050000]
    ranges = [r for _, r in seen]
    assert ranges == ["bytes=1000000-1049999"]


def test_download_name_and_attachment(tmp_path):
    storage = StorageManager([{"name": "f", "type": "local", "path": str(tmp_path)}])
    storage.node("f:résumé 2024.pdf").write_bytes(b"pdf")
    app = StorageApp(storage, as_attachment=True, max_age=3600, immutable=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        status, headers, body = Server(server.server_port, "f", storage).get("r%C3%A9sum%C3%A9%202024.pdf")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert status == 200 and body == b"pdf"
    disposition = headers["content-disposition"]
    assert disposition.startswith('attachment; filename="resume 2024.pdf"')
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%202024.pdf" in disposition
    assert headers["cache-control"] == "public, max-age=3600, immutable"


def test_large_local_file_through_sendfile(gunicorn_server):
    storage, port = gunicorn_server
    data = os.urandom(8 * 1024 * 1024 + 3)
    storage.node("files:large.bin").write_bytes(data)
    server = Server(port, "files", storage)
    status, _, body = server.get("large.bin")
    assert status == 200 and hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    status, headers, body = server.get("large.bin", {"Range": "bytes=4000000-7999999"})
    assert status == 206 and body == data[4000000:8000000]


@pytest.fixture
def local_storage(tmp_path):
    return StorageManager([{"name": "files", "type": "local", "path": str(tmp_path)}])


@pytest.mark.parametrize(
    "name,expected",
    [
        ("notes.txt.gz", "application/gzip"),  # the archive is what the browser gets
        ("backup.tar.gz", "application/gzip"),
        ("logs.tar.xz", "application/x-xz"),
        ("notes.txt", "text/plain; charset=utf-8"),
    ],
)
def test_compressed_files_get_the_archive_type(local_storage, name, expected):
    node = local_storage.node("files", name)
    node.write_bytes(b"x")
    response = respond(node, "HEAD", {})
    assert response.header("Content-Type") == expected


def test_mimetype_with_its_own_charset_is_kept(local_storage):
    node = local_storage.node("files", "table.csv")
    node.write_bytes(b"a;b")
    response = respond(node, "HEAD", {}, mimetype="text/csv; charset=iso-8859-1")
    assert response.header("Content-Type") == "text/csv; charset=iso-8859-1"


def test_last_modified_never_in_the_future(local_storage, tmp_path):
    node = local_storage.node("files", "ahead.txt")
    node.write_bytes(b"from a skewed clock")
    ahead = time.time() + 10 * 86400
    os.utime(tmp_path / "ahead.txt", (ahead, ahead))
    before = time.time()
    response = respond(node, "HEAD", {})
    sent = email.utils.parsedate_to_datetime(response.header("Last-Modified")).timestamp()
    assert int(before) <= sent <= time.time()


def test_headers_and_body_come_from_the_same_version(local_storage):
    # A new version renamed into place while the old one is being sent: the response keeps
    # sending the version its Content-Length and ETag describe (the open file), whole.
    node = local_storage.node("files", "report.bin")
    old = os.urandom(SMALL_BODY + 4096)  # past SMALL_BODY: sent from the open file, not from memory
    node.write_bytes(old)
    response = respond(node, "GET", {})
    node.write_bytes(b"new")
    body = b"".join(response.body)
    response.close()
    assert body == old and response.header("Content-Length") == str(len(old))
    assert respond(node, "HEAD", {}).header("ETag") != response.header("ETag")


def test_a_link_leaving_the_root_swapped_in_after_a_request_is_refused(local_storage, tmp_path_factory):
    # A file served once is not trusted by name: what replaces it is checked again.
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_bytes(b"not yours")
    (outside / "sub").mkdir()
    (outside / "sub" / "b.txt").write_bytes(b"not yours either")
    root = Path(local_storage.get_backend("files").root)
    node = local_storage.node("files", "a.txt")
    node.write_bytes(b"public")
    folder_node = local_storage.node("files", "sub/b.txt")
    folder_node.write_bytes(b"public too")
    assert b"".join(respond(node, "GET", {}).body) == b"public"
    assert b"".join(respond(folder_node, "GET", {}).body) == b"public too"

    (root / "a.txt").unlink()
    os.symlink(outside / "secret.txt", root / "a.txt")
    (root / "sub" / "b.txt").unlink()
    (root / "sub").rmdir()
    os.symlink(outside / "sub", root / "sub")
    for target in (node, folder_node):
        assert respond(target, "GET", {}).status == 403
        assert respond(target, "HEAD", {}).status == 403

    (root / "a.txt").unlink()
    (root / "a.txt").write_bytes(b"public again")  # a plain file again: served
    assert b"".join(respond(node, "GET", {}).body) == b"public again"


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def kept_files(monkeypatch):
    """The process-wide kept-open files, emptied before and after a test."""
    openfiles.drop_all()
    yield openfiles
    openfiles.drop_all()


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="files are kept open only where /proc tells where")
def test_served_files_share_descriptors_and_release_them(local_storage, tmp_path, monkeypatch, kept_files):
    monkeypatch.setattr(kept_files, "OPEN_MAX", 4)
    nodes = [local_storage.node("files", f"f{i}.txt") for i in range(10)]
    for i, node in enumerate(nodes):
        node.write_bytes(b"%d" % i)
    before = _open_descriptors()
    for _ in range(3):
        for i, node in enumerate(nodes):
            assert b"".join(respond(node, "GET", {}).body) == b"%d" % i
    assert _open_descriptors() == before + 4  # the 4 most recently used, for the next requests

    monkeypatch.setattr(kept_files, "OPEN_MAX", 64)
    kept_files.drop_all()
    for node in nodes[-4:]:
        respond(node, "GET", {})
    assert _open_descriptors() == before + 4
    nodes[-1].write_bytes(b"new")  # this mount's own writes and deletes let go at once
    nodes[-2].delete()
    os.symlink(tmp_path, tmp_path / "alias")
    local_storage.node("files", "alias", nodes[-3].path).delete()  # under another spelling too
    assert _open_descriptors() == before + 1
    (tmp_path / nodes[-4].path).unlink()  # another program's: on the next request for that path
    assert respond(nodes[-4], "GET", {}).status == 404
    assert _open_descriptors() == before


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="files are kept open only where /proc tells where")
def test_kept_files_are_let_go_when_unused(local_storage, monkeypatch, kept_files):
    first, second = local_storage.node("files", "first.txt"), local_storage.node("files", "second.txt")
    first.write_bytes(b"1")
    second.write_bytes(b"2")
    respond(first, "GET", {})
    before = _open_descriptors()
    monkeypatch.setattr(kept_files, "OPEN_IDLE", 0.0)
    respond(second, "GET", {})  # keeping a new one lets go of those unused for OPEN_IDLE seconds
    assert _open_descriptors() == before


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to tell where an open file is")
def test_a_folder_moved_out_of_the_root_is_not_served_through_a_link(
    local_storage, tmp_path_factory, kept_files, monkeypatch
):
    monkeypatch.setattr(kept_files, "RECHECK", 0.0)  # where a kept file lies is checked every time
    outside = tmp_path_factory.mktemp("elsewhere")
    root = Path(local_storage.get_backend("files").root)
    node = local_storage.node("files", "sub/page.txt")
    node.write_bytes(b"was public")
    assert b"".join(respond(node, "GET", {}).body) == b"was public"
    os.rename(root / "sub", outside / "sub")  # the file itself is unchanged: same inode and ctime
    os.symlink(outside / "sub", root / "sub")
    assert respond(node, "GET", {}).status == 403
    assert respond(node, "HEAD", {}).status == 403


def test_out_of_descriptors_is_503_not_403(local_storage, monkeypatch):
    node = local_storage.node("files", "a.txt")
    node.write_bytes(b"a")

    def no_descriptors(path, flags, mode=0o777, *, dir_fd=None):
        raise OSError(errno.EMFILE, "Too many open files", path)

    openfiles.drop_all()
    monkeypatch.setattr(openfiles.os, "open", no_descriptors)
    assert respond(node, "GET", {}).status == 503


def test_a_file_truncated_while_being_sent_ends_the_body_with_an_error(local_storage, tmp_path):
    node = local_storage.node("files", "shrinking.bin")
    node.write_bytes(os.urandom(SMALL_BODY * 2))
    response = respond(node, "GET", {})
    os.truncate(tmp_path / "shrinking.bin", 1000)  # in place, not a new version renamed in
    with pytest.raises(OSError, match="truncated"):
        b"".join(response.body)  # the server drops the connection: no short body passed as whole
    response.close()

    class TruncatedWhileReadingHeaders:  # looked up with get(), as werkzeug's Headers
        def get(self, name, default=None):
            if name == "Range":
                os.truncate(tmp_path / "small.bin", 10)
            return default

    local_storage.node("files", "small.bin").write_bytes(b"x" * 1000)
    response = respond(local_storage.node("files", "small.bin"), "GET", TruncatedWhileReadingHeaders())
    assert response.status == 503  # the headers said 1,000 bytes: better ask again than send 10


def test_a_large_body_keeps_its_version_when_the_file_is_replaced_before_sending(local_storage, monkeypatch):
    node = local_storage.node("files", "big.bin")
    old = os.urandom(SMALL_BODY * 2)
    node.write_bytes(old)
    real_reopen = openfiles.SharedFile.reopen

    def replaced_first(shared):
        node.write_bytes(b"new")  # lands between the headers and the descriptor sendfile uses
        return real_reopen(shared)

    monkeypatch.setattr(openfiles.SharedFile, "reopen", replaced_first)
    response = respond(node, "GET", {"Range": f"bytes=10-{SMALL_BODY + 9}"})
    assert response.status == 206 and response.header("Content-Length") == str(SMALL_BODY)
    assert b"".join(response.body) == old[10 : SMALL_BODY + 10]
    response.close()


def test_closing_a_body_twice_closes_nothing_else(local_storage, tmp_path):
    node = local_storage.node("files", "parts.bin")
    node.write_bytes(DATA)
    response = respond(node, "GET", {"Range": "bytes=0-9,100-109"})
    assert response.status == 206 and len(b"".join(response.body)) > 20
    response.close()
    other = os.open(tmp_path / "parts.bin", os.O_RDONLY)  # likely reuses the number just freed
    try:
        response.body.close()  # a server closing the iterable after the app did
        os.fstat(other)
    finally:
        os.close(other)


def test_special_files_are_never_served(local_storage, tmp_path):
    os.mkfifo(tmp_path / "pipe")  # opening it for reading would wait for a writer forever
    node = local_storage.node("files", "pipe")
    assert respond(node, "GET", {}).status == 403
    assert respond(node, "HEAD", {}).status == 403


def test_service_down_is_503_not_403(monkeypatch):
    storage = StorageManager([{"name": "m", "type": "memory"}])
    node = storage.node("m", "a.txt")
    node.write_bytes(b"a")

    def unreachable(path):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(node.backend, "info", unreachable)
    assert respond(node, "GET", {}).status == 503
    assert StorageApp(storage).handle({"REQUEST_METHOD": "GET", "PATH_INFO": "/m/a.txt"}).status == 503


def test_weak_etag_from_an_http_origin_stays_weak():
    class Origin(BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.send_header("ETag", 'W/"abc123"')
            self.end_headers()

        def do_GET(self):
            self.do_HEAD()
            self.wfile.write(b"hello")

        def log_message(self, *args):
            pass

    origin = ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    thread = threading.Thread(target=origin.serve_forever, daemon=True)
    thread.start()
    try:
        storage = StorageManager(
            [{"name": "web", "type": "http", "base_url": f"http://127.0.0.1:{origin.server_port}/"}]
        )
        node = storage.node("web", "f.txt")
        assert respond(node, "HEAD", {}).header("ETag") == 'W/"abc123"'
        assert respond(node, "HEAD", {"If-None-Match": 'W/"abc123"'}).status == 304  # weak comparison
        assert respond(node, "HEAD", {"If-Match": 'W/"abc123"'}).status == 412  # strong comparison
        ranged = respond(node, "GET", {"Range": "bytes=0-1", "If-Range": 'W/"abc123"'})
        assert ranged.status == 200  # If-Range never matches a weak validator
        ranged.close()
    finally:
        origin.shutdown()
        origin.server_close()
        thread.join()


def test_file_slice_serves_its_slice_through_sendfile_and_its_fallback(tmp_path):
    # Servers hand the slice to socket.sendfile(), which seeks and falls back to read() when
    # the kernel refuses (for instance when the client has already gone away).
    path = tmp_path / "slice.bin"
    data = os.urandom(300_000)
    path.write_bytes(data)
    for send in (socket.socket.sendfile, socket.socket._sendfile_use_send):
        piece = FileSlice(os.open(path, os.O_RDONLY), 1000, 250_000)
        left, right = socket.socketpair()
        try:
            received = bytearray()
            reader = threading.Thread(target=_read_all, args=(right, received))
            reader.start()
            with left:
                assert send(left, piece, piece.tell(), 249_000) == 249_000
            reader.join()
        finally:
            piece.close()
            right.close()
        assert bytes(received) == data[1000:250_000]
    piece = FileSlice(os.open(path, os.O_RDONLY), 1000, 2000)
    try:
        piece.seek(1500)
        assert piece.read() == data[1500:2000] and piece.read() == b""
    finally:
        piece.close()


def _read_all(sock: socket.socket, into: bytearray) -> None:
    while chunk := sock.recv(65536):
        into.extend(chunk)


@settings(max_examples=500, deadline=None)
@given(first=st.integers(0, 120), last=st.one_of(st.none(), st.integers(0, 120)), size=st.integers(0, 100))
def test_single_range_fast_path_agrees_with_the_general_parser(first, last, size):
    value = f"bytes={first}-{'' if last is None else last}"
    assert parse_range(value, size) == _parse_ranges(value, size)


header_values = st.one_of(
    st.text(max_size=60),
    st.from_regex(r"bytes=[0-9, \-]{0,30}", fullmatch=True),
    st.from_regex(r'(W/)?"[a-z0-9]{0,8}"(, ?(W/)?"[a-z0-9]{0,8}"){0,3}', fullmatch=True),
    st.sampled_from(["*", "bytes=-", "bytes=--1", "bytes=0-0,-0", "Thu, 01 Jan 1970 00:00:00 GMT", "W/", '"']),
)
header_names = st.sampled_from(
    ["Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"]
)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    storage = StorageManager(
        [
            {"name": "local", "type": "local", "path": str(tmp_path_factory.mktemp("fuzz"))},
            {"name": "mem", "type": "memory"},
        ]
    )
    for mount in ("local", "mem"):
        storage.node(mount, "data.bin").write_bytes(DATA)
        storage.node(mount, "empty").write_bytes(b"")
    return StorageApp(storage)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    headers=st.dictionaries(header_names, header_values, max_size=4),
    mount=st.sampled_from(["local", "mem"]),
    name=st.sampled_from(["data.bin", "empty"]),
    method=st.sampled_from(["GET", "HEAD"]),
)
def test_any_header_values_never_500(fuzz_app, headers, mount, name, method):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": f"/{mount}/{name}", "QUERY_STRING": ""}
    for key, value in headers.items():
        environ["HTTP_" + key.upper().replace("-", "_")] = value
    response = fuzz_app.handle(environ)
    assert response.status in (200, 206, 304, 412, 416)
    body = b"".join(response.body)
    response.close()
    length = response.header("Content-Length")
    if method == "HEAD" or response.status == 304:
        assert body == b""
    else:
        assert length is not None and int(length) == len(body)
    if response.status == 206 and not response.header("Content-Type").startswith("multipart/"):
        start, stop = map(int, re.match(r"bytes (\d+)-(\d+)/", response.header("Content-Range")).groups())
        assert body == (DATA if name == "data.bin" else b"")[start : stop + 1]
