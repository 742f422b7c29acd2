"""Fixtures of the Flask extension's tests: a mount of each backend kind, and the wire
app (tests/flask/flask_wire_app.py) under gunicorn on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask_helpers import SECRET_KEY, start_gunicorn, stop_gunicorn
from helpers import mount_config

KINDS = ["local", "memory", "s3"]


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


@pytest.fixture
def mount(kind, tmp_path, request) -> dict:
    """A fresh mount ``m`` of the parametrised backend."""
    server = request.getfixturevalue("s3_server") if kind == "s3" else None
    return mount_config(kind, "m", tmp_path, server)


@pytest.fixture(scope="module")
def wire_server(tmp_path_factory, s3_server) -> Iterator[dict]:
    """The wire app under gunicorn, with a local mount (``files``), a memory one
    (``scratch``) and an S3 one (``s3``); yields its port and config."""
    root = tmp_path_factory.mktemp("flask-wire")
    config = {
        "SECRET_KEY": SECRET_KEY,
        "GENRO_STORAGE_MOUNTS": [
            {"name": "files", "type": "local", "path": str(root)},
            {"name": "scratch", "type": "memory"},
            mount_config("s3", "s3", root, s3_server),
        ],
        "GENRO_STORAGE_PUBLIC_MOUNTS": ["files", "scratch", "s3"],
        "GENRO_STORAGE_MAX_UPLOAD_SIZE": 300 * 1024 * 1024,
    }
    proc, port = start_gunicorn("flask_wire_app:create_app()", {"GS_FLASK_CONFIG": json.dumps(config)})
    try:
        yield {"port": port, "config": config, "root": root}
    finally:
        stop_gunicorn(proc)
