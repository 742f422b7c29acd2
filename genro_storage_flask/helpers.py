"""``send_node()``, and the translation of the core's :class:`~genro_storage.http.Response`
into a Flask response.

As ``flask.send_file`` is a wrapper passing Flask's arguments to werkzeug, ``send_node`` is
one passing them to the core responder: the app's serving options, ``USE_X_SENDFILE`` and
``SEND_FILE_MAX_AGE_DEFAULT``, the per-mount offload, the response class.
"""

from __future__ import annotations

from typing import Any

import flask
from flask import abort, current_app, request
from werkzeug.wsgi import wrap_file

from genro_storage import StorageNode
from genro_storage.backends.base import CHUNK_SIZE
from genro_storage.http import EnvironHeaders, Response, ServeOptions, respond

from .config import X_SENDFILE, AppState
from .extension import app_state

__all__ = ["send_node", "flask_response", "respond_for"]

#: Refusals answered through Flask's error handling, so the app's own handlers run.
_ABORTED = frozenset({403, 404, 405, 503})


def flask_response(response: Response) -> flask.Response:
    """The Flask response for a core one: a local slice through ``wsgi.file_wrapper`` (the
    server may sendfile it), any other body streamed as it is; 403/404/405/503 ``abort``."""
    status = response.status
    if status in _ABORTED:
        response.close()
        if status == 405:
            abort(405, valid_methods=["GET", "HEAD"])
        abort(status)
    body: Any = response.body
    if response.file is not None:
        body = wrap_file(request.environ, response.file, CHUNK_SIZE)
    answer = current_app.response_class(body, status=status, headers=response.headers, direct_passthrough=True)
    answer.call_on_close(response.close)
    return answer


def respond_for(state: AppState, node: StorageNode, options: ServeOptions) -> Response:
    """The core's answer to the current request for ``node``, offloaded where configured
    (the mount's ``GENRO_STORAGE_OFFLOAD``, else ``USE_X_SENDFILE`` for local files, read at
    each call as ``send_file`` reads it)."""
    offload = state.offload.get(node.mount_name)
    if offload is None and current_app.config.get("USE_X_SENDFILE") and node.backend.supports("local_files"):
        offload = X_SENDFILE
    headers = EnvironHeaders(request.environ)
    if offload is not None:
        return offload.respond(node, request.method, headers, options)
    return respond(node, request.method, headers, options)


def send_node(
    node: StorageNode,
    *,
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool = True,
    last_modified: Any = None,
    max_age: int | None = None,
) -> flask.Response:
    """Answer the current request with ``node``'s file, as ``flask.send_file`` answers with
    a path: the same keywords and defaults, for a file on any mount.

    ETag and Last-Modified, the preconditions (304, 412), single and multiple ranges,
    If-Range and 416 are the core responder's; the body streams (local slices through the
    server's sendfile), never read whole. A keyword left at its default takes the app's
    ``GENRO_STORAGE_SERVE`` value; ``max_age`` falls back to ``SEND_FILE_MAX_AGE_DEFAULT``.
    A missing file is ``abort(404)``, so the app's 404 handler runs. ``etag`` is True or
    False (a custom ETag string is not taken: the file's own validator is what ranges and
    If-Range are checked against).

    As with ``send_file``: never build ``node`` from a path a user sent without checking it
    is one they may read (the core keeps it inside its mount, nothing more).
    """
    if not isinstance(node, StorageNode):
        raise TypeError(f"send_node() takes a StorageNode (ext.node('mount:path')), not {type(node).__name__}")
    state = app_state()
    given: dict[str, Any] = {}
    if mimetype is not None:
        given["mimetype"] = mimetype
    if as_attachment:
        given["as_attachment"] = True
    if download_name is not None:
        given["download_name"] = download_name
    if not conditional:
        given["conditional"] = False
    if etag is not True:
        given["etag"] = etag
    if last_modified is not None:
        given["last_modified"] = last_modified
    if max_age is None and state.options.max_age is None:
        max_age = current_app.get_send_file_max_age(node.basename)
    if max_age is not None:
        given["max_age"] = max_age
    options = ServeOptions.build(state.options, **given) if given else state.options
    return flask_response(respond_for(state, node, options))
