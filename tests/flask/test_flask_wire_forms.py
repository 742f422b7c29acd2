"""A form of many files uploaded to S3 over a real socket (gunicorn, httpx, moto): each
file is published when its part ends, so the worker holds one part's buffer, not the form."""

from __future__ import annotations

import json
import os

import httpx
import pytest
from flask_helpers import SECRET_KEY, start_gunicorn, stop_gunicorn
from helpers import mount_config

FILES, FILE_SIZE = 24, 4608 * 1024  # 108 MiB in parts under S3's 5 MiB minimum
BOUNDARY = "form-of-many-files"


@pytest.fixture(scope="module")
def s3_worker(tmp_path_factory, s3_server):
    """A fresh worker (its peak RSS not raised by other tests) serving an S3 mount."""
    config = {
        "SECRET_KEY": SECRET_KEY,
        "GENRO_STORAGE_MOUNTS": [mount_config("s3", "s3", tmp_path_factory.mktemp("forms"), s3_server)],
        "GENRO_STORAGE_PUBLIC_MOUNTS": ["s3"],
    }
    proc, port = start_gunicorn("flask_wire_app:create_app()", {"GS_FLASK_CONFIG": json.dumps(config)})
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            yield client
    finally:
        stop_gunicorn(proc)


def _form(block: bytes):
    """The multipart body, made as it is sent: never whole in this process either."""
    for index in range(FILES):
        head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="part{index:02d}.bin"\r\n\r\n'
        yield head.encode()
        for _ in range(FILE_SIZE // len(block)):
            yield bytes([index]) + block[1:]
        yield b"\r\n"
    yield f"--{BOUNDARY}--\r\n".encode()


def test_a_form_of_many_files_to_s3_keeps_the_workers_memory_flat(s3_worker):
    client = s3_worker
    block = os.urandom(FILE_SIZE // 4)
    client.get("/peak-rss")  # one request first: the worker's steady state
    before = int(client.get("/peak-rss").text)
    response = client.post(
        "/files/s3/forms/", content=_form(block), headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    )
    assert response.status_code == 201, response.text
    files = response.json()["files"]
    assert [f["size"] for f in files] == [FILE_SIZE] * FILES
    grown = int(client.get("/peak-rss").text) - before
    assert grown < 40 * 1024 * 1024, f"the worker's peak RSS grew by {grown / 2**20:.0f} MiB"
    last = client.get(files[-1]["url"], headers={"Range": "bytes=0-0"})
    assert last.content == bytes([FILES - 1])
