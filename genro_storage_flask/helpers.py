"""``send_node()``: ``flask.send_file``'s keywords, for a file on any mount.

As ``flask.send_file`` is a wrapper passing Flask's arguments to werkzeug, ``send_node`` is
one passing them to the core responder: the app's serving options, ``USE_X_SENDFILE`` and
``SEND_FILE_MAX_AGE_DEFAULT``, the per-mount offload, the response class. Files of mounts not
in ``GENRO_STORAGE_PUBLIC_MOUNTS`` are answered ``Cache-Control: private``, as the blueprint
answers them: a view that checked access sends what no shared cache may hand to others.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

import flask
from flask import Flask, current_app, request

from genro_storage import StorageNode
from genro_storage.http import ServeOptions
from genro_storage.node import guess_mimetype

from .config import AppState
from .extension import app_state
from .responses import flask_response, respond_for

__all__ = ["send_node", "options_for", "default_max_age"]

#: Distinct per-call keyword sets kept per app before the cache starts over.
_DERIVED_MAX = 256
#: Flask's own ``get_send_file_max_age``: an app that does not override it gets
#: ``SEND_FILE_MAX_AGE_DEFAULT`` read here, without a second trip through ``current_app``.
_FLASK_MAX_AGE = Flask.get_send_file_max_age


def options_for(state: AppState, node: StorageNode, given: tuple[tuple[str, Any], ...] = ()) -> ServeOptions:
    """The options answering ``node``: the app's, with ``given`` (``(name, value)`` pairs)
    applied, and ``private`` for a mount not in ``GENRO_STORAGE_PUBLIC_MOUNTS`` (a browser may
    keep the file, never a shared cache). Built once per distinct set and kept in the app's
    state: a view passes the same keywords on every request."""
    private = node.mount_name not in state.public
    if not given:
        return state.private_options if private else state.options
    key = (private, given)
    try:
        options = state.derived.get(key)
    except TypeError:  # an unhashable value: let the options say what is wrong with it
        return _derive(state, given, private)
    if options is None:
        if len(state.derived) >= _DERIVED_MAX:
            state.derived.clear()
        options = state.derived[key] = _derive(state, given, private)
    return options


def _derive(state: AppState, given: tuple[tuple[str, Any], ...], private: bool) -> ServeOptions:
    options = ServeOptions.build(state.options, **dict(given))
    return ServeOptions.build(options, private=True) if private and not options.private else options


def default_max_age(app: Flask, state: AppState, node: StorageNode) -> int | None:
    """``max_age`` when neither the call nor ``GENRO_STORAGE_SERVE`` gives one: the app's
    ``get_send_file_max_age`` (``SEND_FILE_MAX_AGE_DEFAULT``), as ``send_file`` takes it."""
    if state.options.max_age is not None:
        return None
    if type(app).get_send_file_max_age is _FLASK_MAX_AGE and "get_send_file_max_age" not in app.__dict__:
        value = app.config["SEND_FILE_MAX_AGE_DEFAULT"]  # what Flask's method returns, read the same way
        return int(value.total_seconds()) if isinstance(value, _dt.timedelta) else value
    return app.get_send_file_max_age(node.path)


def send_node(
    node: StorageNode,
    *,
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: _dt.datetime | int | float | None = None,
    max_age: int | Callable[[str | None], int | None] | None = None,
) -> flask.Response:
    """Answer the current request with ``node``'s file, as ``flask.send_file`` answers with
    a path: the same keywords and defaults, for a file on any mount.

    ETag and Last-Modified, the preconditions (304, 412), single and multiple ranges,
    If-Range and 416 are the core responder's; the body streams (local slices through the
    server's sendfile), never read whole. A keyword left at its default takes the app's
    ``GENRO_STORAGE_SERVE`` value; ``max_age`` falls back to ``SEND_FILE_MAX_AGE_DEFAULT``
    and may be a callable given the node's path, as ``send_file`` calls it; ``Expires``
    goes with a ``max_age`` above 0. With no ``mimetype``, the type is guessed from
    ``download_name`` when it names one, else from the node's name. A naive
    ``last_modified`` is UTC (as werkzeug takes it). ``etag`` may be a string, the ETag
    to send and to check preconditions and If-Range against (the caller then answers for
    it changing with the file, as with ``send_file``). Any method but HEAD is answered as GET,
    so a POST view can send a file. A missing file is ``abort(404)``, so the app's 404 handler
    runs. A file of a mount not in ``GENRO_STORAGE_PUBLIC_MOUNTS`` gets ``Cache-Control:
    private`` (``private, max-age=N`` or ``private, no-cache``), never ``public``.

    As with ``send_file``: never build ``node`` from a path a user sent without checking it
    is one they may read (the core keeps it inside its mount, nothing more).
    """
    if not isinstance(node, StorageNode):
        raise TypeError(f"send_node() takes a StorageNode (ext.node('mount:path')), not {type(node).__name__}")
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # once: each proxy hop costs
    state = app_state(app)
    if callable(max_age):
        max_age = max_age(node.path)
    elif max_age is None:
        max_age = default_max_age(app, state, node)
    if (
        max_age is None
        and mimetype is None
        and download_name is None
        and last_modified is None
        and etag is True
        and conditional
        and not as_attachment
    ):
        options = options_for(state, node)  # the usual send_node(node): the app's own options
    else:
        given = _given(mimetype, as_attachment, download_name, conditional, etag, last_modified, max_age)
        options = options_for(state, node, given)
    environ = request._get_current_object().environ  # type: ignore[attr-defined]
    return flask_response(respond_for(state, node, options, app, environ), options, app, environ)


def _given(
    mimetype: str | None,
    as_attachment: bool,
    download_name: str | None,
    conditional: bool,
    etag: bool | str,
    last_modified: _dt.datetime | int | float | None,
    max_age: int | None,
) -> tuple[tuple[str, Any], ...]:
    """The keywords of a ``send_node`` call that differ from their defaults, as options."""
    given: list[tuple[str, Any]] = []
    if mimetype is None and download_name is not None:
        mimetype = guess_mimetype(download_name)
    if mimetype is not None:
        given.append(("mimetype", mimetype))
    if as_attachment:
        given.append(("as_attachment", True))
    if download_name is not None:
        given.append(("download_name", download_name))
    if not conditional:
        given.append(("conditional", False))
    if etag is not True:
        given.append(("etag", etag))
    if last_modified is not None:
        if isinstance(last_modified, _dt.datetime) and last_modified.tzinfo is None:
            last_modified = last_modified.replace(tzinfo=_dt.timezone.utc)
        given.append(("last_modified", last_modified))
    if max_age is not None:
        given.append(("max_age", max_age))
    return tuple(given)
