"""Helpers the tests share (imported as ``from helpers import ...``): mount configs for
every backend of the contract suite, payloads, tree snapshots, S3 request recording."""

from __future__ import annotations

import itertools
import os
from collections import Counter
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
def on_s3_event(backend, event: str, handler) -> Iterator[None]:
    """Call ``handler`` on botocore ``event`` of both S3 clients of ``backend`` (s3fs's and
    the boto3 one) while the block runs."""
    clients = [backend.fs.s3] + ([backend.client] if backend.client is not None else [])
    for client in clients:
        client.meta.events.register(event, handler)
    try:
        yield
    finally:
        for client in clients:
            client.meta.events.unregister(event, handler)


@contextmanager
def recording_s3_gets(backend) -> Iterator[list]:
    """Record (method, Range header) of every GetObject either S3 client of ``backend`` sends."""
    seen: list = []

    def record(request, **_):
        value = request.headers.get("Range")
        seen.append((request.method, value.decode() if isinstance(value, bytes) else value))

    with on_s3_event(backend, "before-send.s3.GetObject", record):
        yield seen


@contextmanager
def counting_s3_requests(backend) -> Iterator[Counter]:
    """Count every S3 operation either client of ``backend`` sends, by name."""
    seen: Counter = Counter()

    def record(model, **_):
        seen[model.name] += 1

    with on_s3_event(backend, "before-call.s3", record):
        yield seen
