"""Uploads through the blueprint: a multipart POST to a folder URL (see
:mod:`genro_storage_flask.forms`), or a PUT of the raw body to a file URL, streamed to the
mount chunk by chunk: never held whole in memory, and not first copied to a temporary
upload file as werkzeug's form parser does.

Each file's name is made safe (a name carrying a path is refused), and so must every
folder of the URL be; ``authorize(node, 'write')`` is asked for every file;
``GENRO_STORAGE_UPLOAD_TYPES`` and ``GENRO_STORAGE_MAX_UPLOAD_SIZE`` are enforced while
the body is read (415, 413). An existing file is never replaced unless the request asks
(``?overwrite=1``): 409, as for a folder in the way or a file where a folder should be.
Unless ``GENRO_STORAGE_UPLOAD_SAME_ORIGIN`` is False, an upload a browser sends from
another site is refused (403). The answer is JSON: 201 with the new files' URLs, or
``error`` (and ``files``, those a form published before it was refused).
"""

from __future__ import annotations

import errno
from typing import Any
from urllib.parse import urlsplit

import flask
from flask import abort, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from genro_storage import StorageError, StorageNode
from genro_storage.http import status_for

from .config import AppState
from .extension import app_state
from .forms import save_form
from .names import safe_name
from .routes import BlueprintRoute, current_route
from .writing import UploadRefused, check_segments, check_writable, chunks, open_writer, publish, record

__all__ = ["upload", "safe_name", "UploadRefused"]

#: Store errors that mean the request's path is in the way of another kind of entry.
_CONFLICTS = (NotADirectoryError, IsADirectoryError, FileExistsError)


def upload(mount: str, path: str) -> flask.Response:
    """POST (multipart, to a folder) or PUT (raw body, to a file) into ``mount``."""
    route = current_route()
    state = app_state()
    if not state.storage.has_mount(mount) or (route.route.mounts is not None and mount not in route.route.mounts):
        abort(404)
    if mount not in route.uploads:
        abort(405, valid_methods=["GET", "HEAD"])
    overwrite = request.args.get("overwrite", "").lower() in ("1", "true", "yes")
    saved: list[tuple[StorageNode, int]] = []
    try:
        if state.same_origin:
            _check_same_origin()
        limit = state.max_upload_size
        if limit is not None and request.content_length is not None and request.content_length > limit:
            raise UploadRefused(413, f"the upload is larger than {limit} bytes")
        try:
            node = state.storage.node(f"{mount}:{path}")
        except (StorageError, ValueError) as exc:
            raise UploadRefused(400, str(exc)) from None
        check_segments(node.path)
        if request.method == "PUT":
            saved.append(_put(state, route, node, path, overwrite, limit))
        else:
            if node.isfile:
                raise UploadRefused(409, f"{node.fullpath} is a file, not a folder: POST a form to a folder's URL")
            save_form(state, route, node, overwrite, limit, saved)
    except UploadRefused as refused:
        return _refusal(refused.status, str(refused), saved)
    except RequestEntityTooLarge:
        return _refusal(413, "the upload is too large", saved)
    except (StorageError, OSError) as exc:
        status, message = _store_refusal(exc, f"{mount}:{path}")
        return _refusal(status, message, saved)
    records = [record(node, size) for node, size in saved]
    answer = _answer({"files": records}, 201)
    answer.headers["Location"] = records[0]["url"]
    return answer


def _store_refusal(exc: BaseException, where: str) -> tuple[int, str]:
    """The status and message for an upload the store refused. A write's own cases first:
    the path in the way of another entry (409), a name too long (400), no space left (507).
    A store out of reach (503) is told in general terms, its details (an endpoint, a
    bucket) going to the app's log, not to the client."""
    if isinstance(exc, _CONFLICTS):
        return 409, str(exc)
    code = getattr(exc, "errno", None)
    if code == errno.ENAMETOOLONG:
        return 400, str(exc)
    if code in (errno.ENOSPC, errno.EDQUOT):
        return 507, f"{where}: no space is left on the storage"
    status = status_for(exc)
    if status == 503:
        current_app.logger.warning("upload to %s refused (503): %s", where, exc)
        return 503, f"{where}: the storage cannot take the upload now; try again later"
    return status, str(exc)


def _check_same_origin() -> None:
    """403 for what a browser says comes from another site: ``Sec-Fetch-Site: cross-site``,
    or an ``Origin`` (``null`` included) whose host is not the request's ``Host``."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise UploadRefused(403, "uploads from another site are refused (Sec-Fetch-Site: cross-site)")
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc.lower() != request.host.lower():
        raise UploadRefused(403, f"uploads from another origin are refused (Origin: {origin})")


def _refusal(status: int, message: str, saved: list[tuple[StorageNode, int]]) -> flask.Response:
    body: dict[str, Any] = {"error": message}
    if saved:
        body["files"] = [record(node, size) for node, size in saved]
    return _answer(body, status)


def _answer(body: dict[str, Any], status: int) -> flask.Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _put(
    state: AppState, route: BlueprintRoute, node: StorageNode, path: str, overwrite: bool, limit: int | None
) -> tuple[StorageNode, int]:
    if not node.path or path.endswith("/"):
        raise UploadRefused(400, "PUT a file to its own URL, not to a folder's (or POST a form to the folder)")
    check_writable(state, route, node)
    if node.isdir:
        raise UploadRefused(409, f"{node.fullpath} is a folder: a file cannot replace it")
    writer = open_writer(node, overwrite)
    size = 0
    try:
        for chunk in chunks(limit):
            writer.write(chunk)
            size += len(chunk)
    except BaseException:
        writer.discard()
        raise
    publish(node, writer)
    return node, size
