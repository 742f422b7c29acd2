"""Helpers the tests share (imported as ``from helpers import ...``): mount configs for
every backend of the contract suite, payloads, tree snapshots, S3 request recording."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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


def server_for(kind: str, request) -> object | None:
    """The emulator options a mount of ``kind`` needs, starting it on first use."""
    if kind == "s3":
        return request.getfixturevalue("s3_server")
    if kind == "gcs":
        return request.getfixturevalue("gcs_options")
    if kind == "azure":
        return request.getfixturevalue("azure_options")
    return None


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
