"""Writing one uploaded file: the checks it must pass, the writer publishing it at close,
the request body in chunks under the size limit, and its record in the answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from flask import request, url_for

from genro_storage import StorageNode

from .config import AppState
from .names import safe_name
from .routes import BlueprintRoute

__all__ = [
    "READ_SIZE",
    "UploadRefused",
    "check_writable",
    "check_segments",
    "open_writer",
    "publish",
    "chunks",
    "record",
]

#: Bytes read from the request at a time: werkzeug's own size, well under the multipart
#: decoder's buffer limit (Flask's MAX_FORM_MEMORY_SIZE, 500 kB by default).
READ_SIZE = 64 * 1024


class UploadRefused(Exception):
    """An upload the request cannot have: its status and the reason sent back."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def check_writable(state: AppState, route: BlueprintRoute, node: StorageNode) -> None:
    """415 unless ``node``'s type is one ``GENRO_STORAGE_UPLOAD_TYPES`` allows on its mount;
    403 unless ``authorize(node, 'write')``."""
    patterns = state.upload_types.get(node.mount_name)
    if patterns is not None:
        mimetype = node.mimetype
        if mimetype not in patterns and mimetype.partition("/")[0] + "/*" not in patterns:
            raise UploadRefused(
                415, f"{node.basename}: {mimetype} files are not taken here (allowed: {', '.join(patterns)})"
            )
    if route.authorize is None or not route.authorize(node, "write"):
        raise UploadRefused(403, f"writing {node.fullpath} is not allowed")


def check_segments(path: str) -> None:
    """400 unless every segment of ``path`` is a name :func:`safe_name` keeps as it is
    (no ``.git``, no ``.htaccess``, no reserved character), as an uploaded name would be."""
    for segment in path.split("/"):
        if not segment:
            continue
        try:
            if safe_name(segment) != segment:
                raise ValueError(f"{segment!r} is not a safe file name (try {safe_name(segment)!r})")
        except ValueError as exc:
            raise UploadRefused(400, str(exc)) from None


def open_writer(node: StorageNode, overwrite: bool) -> IO[bytes]:
    """A writer publishing at close; without ``overwrite`` only if no file has the name by
    then. A name already taken is refused before any byte is read (one lookup), and again
    at close where the backend checks atomically; elsewhere the check first is the only one,
    a race the backend allows."""
    try:
        if overwrite:
            return node.open("wb")
        if node.exists:
            raise FileExistsError(node.fullpath)
        return node.open("xb" if "exclusive_create" in node.capabilities else "wb")
    except FileExistsError:
        raise UploadRefused(409, f"{node.fullpath} exists (add ?overwrite=1 to replace it)") from None


def publish(node: StorageNode, writer: Any) -> None:
    """Close ``writer``: the file appears under its name, whole."""
    try:
        writer.close()
    except FileExistsError:
        raise UploadRefused(409, f"{node.fullpath} was created meanwhile (add ?overwrite=1 to replace it)") from None


def chunks(limit: int | None) -> Iterator[bytes]:
    """The request body in chunks, refused (413) once past ``limit`` bytes, and refused (400)
    when it ends short of its Content-Length: a server that hands the socket over as it is
    (gunicorn) reads an end where the client went away, and a cut file must not be saved.
    A chunked body reaches the app only from a server saying so (``wsgi.input_terminated``);
    from another, werkzeug reads it as empty, so it is refused (411), not saved empty."""
    stream = request.stream
    expected = request.content_length
    environ = request.environ
    if expected is None and "HTTP_TRANSFER_ENCODING" in environ and not environ.get("wsgi.input_terminated"):
        raise UploadRefused(411, "this server does not pass a chunked body on: send the upload with a Content-Length")
    total = 0
    while chunk := stream.read(READ_SIZE):
        total += len(chunk)
        if limit is not None and total > limit:
            raise UploadRefused(413, f"the upload is larger than {limit} bytes")
        yield chunk
    if expected is not None and total < expected:
        raise UploadRefused(400, f"the upload ended after {total} of its {expected} bytes")


def record(node: StorageNode, size: int) -> dict[str, Any]:
    """What the answer says of a saved file: where it is, its size, its URL."""
    return {
        "mount": node.mount_name,
        "path": node.path,
        "name": node.basename,
        "size": size,
        "url": url_for(f"{request.blueprint}.serve", mount=node.mount_name, path=node.path),
    }
