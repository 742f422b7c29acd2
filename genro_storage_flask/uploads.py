"""Uploads through the blueprint: a multipart POST to a folder URL, or a PUT of the raw
body to a file URL, streamed to the mount chunk by chunk: never held whole in memory, and
not first copied to a temporary upload file as werkzeug's form parser does.

Each file's name is made safe (a name carrying a path is refused); ``authorize(node,
'write')`` is asked for every file; ``GENRO_STORAGE_UPLOAD_TYPES`` and
``GENRO_STORAGE_MAX_UPLOAD_SIZE`` are enforced while the body is read (415, 413). An
existing file is never replaced unless the request asks (``?overwrite=1``): 409. Files of
one form are published together once the whole body has arrived, so a form refused while
it is read leaves nothing behind. The answer is JSON: 201 with the new files' URLs, or ``error``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import flask
from flask import abort, jsonify, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from genro_storage import StorageError, StorageNode

from .blueprint import BlueprintRoute, check_authorized, current_route
from .config import AppState
from .extension import app_state
from .names import safe_name

__all__ = ["upload", "safe_name", "UploadRefused"]

#: Bytes read from the request at a time: werkzeug's own size, well under the multipart
#: decoder's buffer limit (Flask's MAX_FORM_MEMORY_SIZE, 500 kB by default).
READ_SIZE = 64 * 1024


class UploadRefused(Exception):
    """An upload the request cannot have: its status and the reason sent back."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _check_type(state: AppState, node: StorageNode) -> None:
    patterns = state.upload_types.get(node.mount_name)
    if patterns is None:
        return
    mimetype = node.mimetype
    family = mimetype.partition("/")[0] + "/*"
    if mimetype not in patterns and family not in patterns:
        raise UploadRefused(
            415, f"{node.basename}: {mimetype} files are not taken here (allowed: {', '.join(patterns)})"
        )


def _open(node: StorageNode, overwrite: bool) -> IO[bytes]:
    """A writer publishing at close; without ``overwrite`` only if no file has the name by
    then (atomically where the backend can; else checked first, a race the backend allows)."""
    try:
        if overwrite:
            return node.open("wb")
        if "exclusive_create" in node.capabilities:
            return node.open("xb")
        if node.exists:
            raise FileExistsError(node.fullpath)
        return node.open("wb")
    except FileExistsError:
        raise UploadRefused(409, f"{node.fullpath} exists (add ?overwrite=1 to replace it)") from None


def _publish(node: StorageNode, writer: Any) -> None:
    try:
        writer.close()
    except FileExistsError:
        raise UploadRefused(409, f"{node.fullpath} was created meanwhile (add ?overwrite=1 to replace it)") from None


def _chunks(stream: IO[bytes], limit: int | None) -> Iterator[bytes]:
    """The request body in chunks, refused (413) once past ``limit`` bytes."""
    total = 0
    while chunk := stream.read(READ_SIZE):
        total += len(chunk)
        if limit is not None and total > limit:
            raise UploadRefused(413, f"the upload is larger than {limit} bytes")
        yield chunk


def _record(node: StorageNode, size: int) -> dict[str, Any]:
    return {
        "mount": node.mount_name,
        "path": node.path,
        "name": node.basename,
        "size": size,
        "url": url_for(f"{request.blueprint}.serve", mount=node.mount_name, path=node.path),
    }


def upload(mount: str, path: str) -> flask.Response:
    """POST (multipart, to a folder) or PUT (raw body, to a file) into ``mount``."""
    route = current_route()
    if route.route.mounts is not None and mount not in route.route.mounts:
        abort(404)
    if mount not in route.uploads:
        abort(405, valid_methods=["GET", "HEAD"])
    state = app_state()
    overwrite = request.args.get("overwrite", "").lower() in ("1", "true", "yes")
    try:
        limit = state.max_upload_size
        if limit is not None and request.content_length is not None and request.content_length > limit:
            raise UploadRefused(413, f"the upload is larger than {limit} bytes")
        try:
            node = state.storage.node(f"{mount}:{path}")
        except (StorageError, ValueError) as exc:
            raise UploadRefused(400, str(exc)) from None
        if request.method == "PUT":
            saved = [_put(state, route, node, path, overwrite, limit)]
        else:
            saved = _post(state, route, node, overwrite, limit)
    except UploadRefused as refused:
        return _answer({"error": str(refused)}, refused.status)
    except RequestEntityTooLarge:
        return _answer({"error": "the upload is too large"}, 413)
    except PermissionError as exc:
        return _answer({"error": str(exc)}, 403)
    records = [_record(node, size) for node, size in saved]
    answer = _answer({"files": records}, 201)
    answer.headers["Location"] = records[0]["url"]
    return answer


def _answer(body: dict[str, Any], status: int) -> flask.Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _put(
    state: AppState, route: BlueprintRoute, node: StorageNode, path: str, overwrite: bool, limit: int | None
) -> tuple[StorageNode, int]:
    if not node.path or path.endswith("/"):
        raise UploadRefused(400, "PUT a file to its own URL, not to a folder's (or POST a form to the folder)")
    for segment in node.path.split("/"):
        try:
            if safe_name(segment) != segment:
                raise ValueError(f"{segment!r} is not a safe file name (try {safe_name(segment)!r})")
        except ValueError as exc:
            raise UploadRefused(400, str(exc)) from None
    _check_type(state, node)
    check_authorized(route, node, "write")
    writer = _open(node, overwrite)
    size = 0
    try:
        for chunk in _chunks(request.stream, limit):
            writer.write(chunk)
            size += len(chunk)
    except BaseException:
        writer.discard()
        raise
    _publish(node, writer)
    return node, size


def _post(
    state: AppState, route: BlueprintRoute, folder: StorageNode, overwrite: bool, limit: int | None
) -> list[tuple[StorageNode, int]]:
    ctype, params = parse_options_header(request.headers.get("Content-Type", ""))
    boundary = params.get("boundary", "")
    if ctype != "multipart/form-data" or not boundary:
        raise UploadRefused(
            415, "POST a multipart/form-data form to a folder's URL (or PUT the raw body to the file's)"
        )
    decoder = MultipartDecoder(
        boundary.encode("latin-1"), request.max_form_memory_size, max_parts=request.max_form_parts
    )
    pending: list[list[Any]] = []  # [node, writer, size] per file, published at the end
    current: list[Any] | None = None
    complete = False
    try:
        for chunk in _with_end(_chunks(request.stream, limit)):
            try:
                decoder.receive_data(chunk)
                event = decoder.next_event()
                while not isinstance(event, NeedData):
                    if isinstance(event, Epilogue):
                        complete = True
                        break
                    if isinstance(event, File):
                        current = _start_file(state, route, folder, event.filename, overwrite, pending)
                    elif isinstance(event, Field):
                        current = None  # form fields are not kept
                    elif isinstance(event, Data) and current is not None:
                        current[1].write(event.data)
                        current[2] += len(event.data)
                    event = decoder.next_event()
            except ValueError as exc:
                raise UploadRefused(400, f"malformed multipart body: {exc}") from None
        if not complete:
            raise UploadRefused(400, "the multipart body ended early")
        if not pending:
            raise UploadRefused(400, "no file in the form (a file field with a file name)")
        saved = []
        while pending:
            node, writer, size = pending[0]
            _publish(node, writer)
            pending.pop(0)
            saved.append((node, size))
        return saved
    finally:
        for _node, writer, _size in pending:
            writer.discard()


def _with_end(chunks: Iterator[bytes]) -> Iterator[bytes | None]:
    yield from chunks
    yield None  # tells the decoder the body is over


def _start_file(
    state: AppState,
    route: BlueprintRoute,
    folder: StorageNode,
    filename: str,
    overwrite: bool,
    pending: list[list[Any]],
) -> list[Any] | None:
    if not filename:
        return None  # a file field left empty
    try:
        node = folder.child(safe_name(filename))
    except ValueError as exc:
        raise UploadRefused(400, str(exc)) from None
    if any(entry[0] == node for entry in pending):
        raise UploadRefused(409, f"{node.basename} is sent twice in one form")
    _check_type(state, node)
    check_authorized(route, node, "write")
    entry = [node, _open(node, overwrite), 0]
    pending.append(entry)
    return entry
