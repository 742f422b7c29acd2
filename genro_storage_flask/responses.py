"""The core's :class:`~genro_storage.http.Response` as a Flask response, and the core's
answer to the current request for a node (offloaded where configured)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import flask
from flask import Flask, abort, current_app, request
from werkzeug.datastructures import Headers
from werkzeug.wsgi import wrap_file

from genro_storage import StorageNode
from genro_storage.backends.base import CHUNK_SIZE
from genro_storage.http import EnvironHeaders, Response, ServeOptions, respond
from genro_storage.http.headers import http_date

from .config import X_SENDFILE, AppState

__all__ = ["flask_response", "respond_for"]

#: Refusals answered through Flask's error handling, so the app's own handlers run.
_ABORTED = frozenset({403, 404, 405, 503})
#: Answers that carry the caching fields, so ``Expires`` too (as werkzeug's ``send_file``).
_CACHED = frozenset({200, 206, 304})
#: The last ``Expires`` made, per max_age: ``(second, value)``; one date a second at most.
_expires: dict[int, tuple[int, str]] = {}


class _CoreHeaders(Headers):
    """The core's header list taken as it is: its names and values are checked where they
    are made (latin-1, no line breaks), so building werkzeug's ``Headers`` from it need not
    check each again (the most a small ranged answer spent in this adapter)."""

    def __init__(self, items: list[tuple[str, str]]):
        self._list = items


def _expires_at(max_age: int) -> str:
    now = int(time.time())
    made = _expires.get(max_age)
    if made is None or made[0] != now:
        if len(_expires) > 64:
            _expires.clear()
        made = _expires[max_age] = (now, http_date(now + max_age))
    return made[1]


def flask_response(
    response: Response,
    options: ServeOptions | None = None,
    app: Flask | None = None,
    environ: Mapping[str, Any] | None = None,
) -> flask.Response:
    """The Flask response for a core one: a local slice through ``wsgi.file_wrapper`` (the
    server may sendfile it), any other body streamed as it is; 403/404/405/503 ``abort``.
    With ``options.max_age`` above 0, ``Expires`` goes with ``Cache-Control`` (as
    ``send_file`` sends it); an answer the core gives no Content-Type (304, 412, 416) gets
    none from Flask either. ``app`` and ``environ`` default to the current ones (a caller
    holding them saves the lookups)."""
    status = response.status
    if status in _ABORTED:
        response.close()
        if status == 405:
            abort(405, valid_methods=["GET", "HEAD"])
        abort(status)
    if app is None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    body: Any = response.body
    if response.file is not None:
        body = wrap_file(request.environ if environ is None else environ, response.file, CHUNK_SIZE)
    headers = list(response.headers)  # the app may change them: never the core's own list
    if options is not None and options.max_age and status in _CACHED:
        headers.append(("Expires", _expires_at(options.max_age)))
    answer = app.response_class(body, status=status, headers=_CoreHeaders(headers), direct_passthrough=True)
    if status != 200 and status != 206 and response.header("Content-Type") is None:
        del answer.headers["Content-Type"]
    if getattr(response.body, "close", None) is not None:
        # The server closes the body it is given; werkzeug closes this response instead when
        # it sends none (HEAD, 304), so the core's body is released either way.
        answer.call_on_close(response.close)
    return answer


def respond_for(
    state: AppState,
    node: StorageNode,
    options: ServeOptions,
    app: Flask | None = None,
    environ: Mapping[str, Any] | None = None,
) -> Response:
    """The core's answer to the current request for ``node``, offloaded where configured
    (the mount's ``GENRO_STORAGE_OFFLOAD``, else ``USE_X_SENDFILE`` for local files, read at
    each call as ``send_file`` reads it). Any method but HEAD is answered as GET, as
    ``send_file`` answers it: a view taking a POST can send a file. ``app`` and ``environ``
    default to the current ones."""
    if app is None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    if environ is None:
        environ = request._get_current_object().environ  # type: ignore[attr-defined]
    offload = state.offload.get(node.mount_name)
    if offload is None and app.config.get("USE_X_SENDFILE") and node.backend.supports("local_files"):
        offload = X_SENDFILE
    headers = EnvironHeaders(environ)
    method = "HEAD" if environ.get("REQUEST_METHOD") == "HEAD" else "GET"
    if offload is not None:
        return offload.respond(node, method, headers, options)
    return respond(node, method, headers, options)
