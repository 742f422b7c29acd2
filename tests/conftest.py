"""Shared fixtures: a moto S3 server on 127.0.0.1 for the session, and managers whose
mounts cover every backend of the contract suite."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from genro_storage import StorageManager
from genro_storage.testing import LocalS3, local_s3

BACKENDS = ["local", "memory", "s3"]
BUCKET = "contract"
_prefixes = itertools.count()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[LocalS3]:
    with local_s3(BUCKET) as s3:
        yield s3


def mount_config(kind: str, name: str, tmp_path: Path, s3: LocalS3 | None, **extra) -> dict:
    """A fresh, empty mount of backend ``kind`` named ``name``."""
    if kind == "local":
        return {"name": name, "type": "local", "path": str(tmp_path / f"{name}-root"), **extra}
    if kind == "memory":
        return {"name": name, "type": "memory", **extra}
    if kind == "s3":
        assert s3 is not None
        return s3.mount(name, BUCKET, prefix=f"t{next(_prefixes)}/{name}", **extra)
    raise ValueError(kind)


@pytest.fixture(params=BACKENDS)
def backend_kind(request) -> str:
    return request.param


@pytest.fixture
def storage(backend_kind: str, tmp_path: Path, request) -> StorageManager:
    """A manager with one empty mount, ``m``, of the parametrised backend."""
    s3 = request.getfixturevalue("s3_server") if backend_kind == "s3" else None
    manager = StorageManager()
    manager.configure([mount_config(backend_kind, "m", tmp_path, s3)])
    return manager


@pytest.fixture
def all_mounts(tmp_path: Path, s3_server: LocalS3) -> StorageManager:
    """A manager with one empty mount of each backend, named after it."""
    manager = StorageManager()
    manager.configure([mount_config(kind, kind, tmp_path, s3_server) for kind in BACKENDS])
    return manager


@contextmanager
def recording_s3_gets(backend) -> Iterator[list]:
    """Record (method, Range header) of every GetObject either S3 client of ``backend`` sends."""
    seen: list = []

    def record(request, **_):
        value = request.headers.get("Range")
        seen.append((request.method, value.decode() if isinstance(value, bytes) else value))

    clients = [backend.fs.s3] + ([backend.client] if backend.client is not None else [])
    for client in clients:
        client.meta.events.register("before-send.s3.GetObject", record)
    try:
        yield seen
    finally:
        for client in clients:
            client.meta.events.unregister("before-send.s3.GetObject", record)
