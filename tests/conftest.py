"""Shared fixtures: a moto S3 server on 127.0.0.1 for the session, and managers whose
mounts cover every backend of the contract suite."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from emulators import azurite, gcs_emulator

from genro_storage import StorageManager
from genro_storage.testing import LocalS3, local_s3

BACKENDS = ["local", "memory", "s3", "gcs", "azure"]
BUCKET = "contract"
_prefixes = itertools.count()


def payload(size: int) -> bytes:
    """Random bytes that do not end in b"\\r".

    Emulator gap: gcp-storage-emulator drops a trailing carriage return from uploaded
    bodies (a 1-in-256 chance with random data), which real GCS does not.
    """
    data = bytearray(os.urandom(size))
    if data and data[-1] == 0x0D:
        data[-1] = 0x0A
    return bytes(data)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[LocalS3]:
    with local_s3(BUCKET) as s3:
        yield s3


def mount_config(kind: str, name: str, tmp_path: Path, server, **extra) -> dict:
    """A fresh, empty mount of backend ``kind`` named ``name`` (``server``: see server_for)."""
    if kind == "local":
        return {"name": name, "type": "local", "path": str(tmp_path / f"{name}-root"), **extra}
    if kind == "memory":
        return {"name": name, "type": "memory", **extra}
    if kind == "s3":
        return server.mount(name, BUCKET, prefix=f"t{next(_prefixes)}/{name}", **extra)
    if kind == "gcs":
        prefix = f"t{next(_prefixes)}/{name}"
        return {"name": name, "type": "gcs", "bucket": BUCKET, "prefix": prefix, **server, **extra}
    if kind == "azure":
        prefix = f"t{next(_prefixes)}/{name}"
        return {"name": name, "type": "azure", "container": BUCKET, "prefix": prefix, **server, **extra}
    raise ValueError(kind)


@pytest.fixture(scope="session")
def gcs_options() -> Iterator[dict]:
    with gcs_emulator(BUCKET) as options:
        yield options


@pytest.fixture(scope="session")
def azure_options(tmp_path_factory) -> Iterator[dict]:
    with azurite(tmp_path_factory.mktemp("azurite"), BUCKET) as options:
        yield options


def server_for(kind: str, request) -> object | None:
    """The emulator options a mount of ``kind`` needs, starting it on first use."""
    if kind == "s3":
        return request.getfixturevalue("s3_server")
    if kind == "gcs":
        return request.getfixturevalue("gcs_options")
    if kind == "azure":
        return request.getfixturevalue("azure_options")
    return None


@pytest.fixture(params=BACKENDS)
def backend_kind(request) -> str:
    return request.param


@pytest.fixture
def storage(backend_kind: str, tmp_path: Path, request) -> StorageManager:
    """A manager with one empty mount, ``m``, of the parametrised backend."""
    manager = StorageManager()
    manager.configure([mount_config(backend_kind, "m", tmp_path, server_for(backend_kind, request))])
    return manager


@pytest.fixture
def all_mounts(tmp_path: Path, request) -> StorageManager:
    """A manager with one empty mount of each backend, named after it."""
    manager = StorageManager()
    manager.configure([mount_config(kind, kind, tmp_path, server_for(kind, request)) for kind in BACKENDS])
    return manager


def snapshot(storage, mount: str) -> dict:
    """Every file of ``mount`` with its content, and every folder (key ending in ``/``, value None)."""
    found: dict = {}
    stack = [storage.node(mount, "")]
    while stack:
        for child in stack.pop().children():
            if child.isdir:
                found[child.path + "/"] = None
                stack.append(child)
            else:
                found[child.path] = child.read_bytes()
    return found


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
