"""The extension over a real socket: the app under gunicorn (gthread) on 127.0.0.1, httpx
as the client. Local bodies go through gunicorn's sendfile, S3 ones stream."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket

import httpx
import pytest
from flask_helpers import SECRET_KEY, start_gunicorn, stop_gunicorn

BIG = os.urandom(1024 * 1024) * 8 + b"tail"  # 8 MiB: sendfile, not one read


@pytest.fixture(scope="module")
def wire(wire_server):
    base = f"http://127.0.0.1:{wire_server['port']}"
    (wire_server["root"] / "big.bin").write_bytes(BIG)
    with httpx.Client(base_url=base, timeout=60) as client:
        assert client.put("/files/s3/big.bin", content=BIG).status_code == 201
        yield client, wire_server


@pytest.mark.parametrize("mount", ["files", "s3"])
def test_get_range_multipart_head_304(wire, mount):
    client, _ = wire
    url = f"/serve/{mount}/big.bin"
    whole = client.get(url)
    assert whole.status_code == 200
    assert whole.content == BIG
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%202024.pdf" in whole.headers["content-disposition"]
    tag = whole.headers["etag"]
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
    part = client.get(url, headers={"Range": "bytes=5000000-5999999"})
    assert part.status_code == 206
    assert part.content == BIG[5_000_000:6_000_000]
    several = client.get(url, headers={"Range": "bytes=0-99,-100"})
    assert several.status_code == 206
    assert several.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert BIG[:100] in several.content and BIG[-100:] in several.content
    head = client.head(url)
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(BIG))
    assert head.content == b""
    assert client.get(url, headers={"Range": "bytes=999999999-"}).status_code == 416


def test_missing_file_gets_the_apps_404_over_the_wire(wire):
    client, _ = wire
    for url in ("/serve/files/nope.bin", "/serve/nosuchmount/big.bin"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.text == "the app's own 404 page"


def test_blueprint_serves_and_lists_over_the_wire(wire):
    client, _ = wire
    assert client.get("/files/files/big.bin", headers={"Range": "bytes=0-9"}).content == BIG[:10]
    listing = client.get("/files/files/", headers={"Accept": "application/json"}).json()
    assert "big.bin" in [entry["name"] for entry in listing["entries"]]


def _peak_rss(client) -> int:
    return int(client.get("/peak-rss").text)


def test_a_200_mb_upload_streams_with_flat_memory(wire, tmp_path):
    client, server = wire
    block = os.urandom(1024 * 1024)
    source = tmp_path / "upload.bin"
    digest = hashlib.sha256()
    with open(source, "wb") as out:
        for index in range(200):
            chunk = block[index:] + block[:index]
            out.write(chunk)
            digest.update(chunk)
    _peak_rss(client)  # one request first: the worker's steady state
    before = _peak_rss(client)
    with open(source, "rb") as body:
        response = client.post("/files/files/uploads/", files={"f": ("big upload.bin", body)})
    assert response.status_code == 201, response.text
    assert response.json()["files"][0]["size"] == 200 * 1024 * 1024
    grown = _peak_rss(client) - before
    assert grown < 48 * 1024 * 1024, f"the worker's peak RSS grew by {grown / 2**20:.0f} MiB"
    saved = server["root"] / "uploads" / "big upload.bin"
    with open(saved, "rb") as stored:
        assert hashlib.file_digest(stored, "sha256").digest() == digest.digest()


def test_chunked_put_streams_to_s3(wire):
    client, _ = wire

    def body():
        for index in range(12):
            yield bytes([index]) * 1024 * 1024

    response = client.put("/files/s3/chunked.bin", content=body())
    assert response.status_code == 201, response.text
    fetched = client.get("/files/s3/chunked.bin")
    assert fetched.content == b"".join(body())


def _put_cut_short(port: int, url: str, announced: int, sent: int) -> bytes:
    """A PUT announcing ``announced`` bytes whose client stops after ``sent`` and closes its
    side: gunicorn's worker then reads an end of stream, as when a client goes away."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = f"PUT {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {announced}\r\n\r\n"
        sock.sendall(head.encode() + b"c" * sent)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("mount", ["files", "scratch", "s3"])
def test_a_put_cut_short_is_not_saved(wire, mount):
    client, server = wire
    good = b"g" * 300_000
    assert client.put(f"/files/{mount}/kept.bin", content=good).status_code == 201
    for name, query in (("kept.bin", "?overwrite=1"), ("new.bin", "")):
        answer = _put_cut_short(server["port"], f"/files/{mount}/{name}{query}", 1_000_000, 100_000)
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
        assert b"ended after 100000 of its 1000000 bytes" in answer
    assert client.get(f"/files/{mount}/kept.bin").content == good  # the old file is intact
    assert client.get(f"/files/{mount}/new.bin").status_code == 404  # and no cut file appears
    # A name taken already is refused before the body is read, whatever the backend: the
    # client hears 409 without having to send the 200 MB it announced.
    answer = _put_cut_short(server["port"], f"/files/{mount}/kept.bin", 200_000_000, 1000)
    assert answer.startswith(b"HTTP/1.1 409"), answer[:200]
    assert f"{mount}:kept.bin exists".encode() in answer


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    root = tmp_path_factory.mktemp("flask-limited")
    config = {
        "SECRET_KEY": SECRET_KEY,
        "GENRO_STORAGE_MOUNTS": [{"name": "files", "type": "local", "path": str(root)}],
        "GENRO_STORAGE_PUBLIC_MOUNTS": ["files"],
        "GENRO_STORAGE_MAX_UPLOAD_SIZE": 100_000,
    }
    proc, port = start_gunicorn("flask_wire_app:create_app()", {"GS_FLASK_CONFIG": json.dumps(config)})
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client, root
    finally:
        stop_gunicorn(proc)


def test_too_large_uploads_get_413_over_the_wire(limited):
    client, root = limited
    # Refused before its body is read: the server may close the connection after the
    # answer, so none of these is sent on a connection kept for the next request.
    close = {"Connection": "close"}
    declared = client.put("/files/files/declared.bin", content=b"x" * 100_001, headers=close)
    assert declared.status_code == 413

    def body():
        for _ in range(20):
            yield b"y" * 10_000

    chunked = client.put("/files/files/chunked.bin", content=body(), headers=close)
    assert chunked.status_code == 413
    assert re.search("larger than 100000 bytes", chunked.json()["error"])
    assert sorted(p.name for p in root.iterdir()) == []
    assert client.put("/files/files/fits.bin", content=b"z" * 100_000).status_code == 201
