"""The blueprint: GET/HEAD a file, optionally list folders and take uploads.

Endpoints (with the default name): ``genro_storage.serve`` and ``genro_storage.upload``,
both ``url_for(endpoint, mount='docs', path='a/b.pdf')``. What a registration serves is
checked when the blueprint is registered on an app (``init_app`` must come first) and
kept in that app's state, so one blueprint object can serve two apps, each its own mounts.
"""

from __future__ import annotations

from collections.abc import Iterable

import flask
from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask.blueprints import BlueprintSetupState

from genro_storage import StorageError, StorageNode
from genro_storage.http import Response, listing_response, status_for

from .extension import app_state
from .helpers import default_max_age, options_for
from .responses import flask_response, respond_for
from .routes import Authorize, BlueprintRoute, check_authorized, current_route, register

__all__ = ["storage_blueprint"]


def storage_blueprint(
    name: str = "genro_storage",
    url_prefix: str | None = None,
    *,
    mounts: Iterable[str] | None = None,
    listing: bool = False,
    upload: bool | Iterable[str] = False,
    authorize: Authorize | None = None,
) -> Blueprint:
    """A blueprint serving ``<url_prefix>/<mount>/<path>`` (``url_prefix`` defaults to the
    app's ``GENRO_STORAGE_BASE_URL``).

    ``mounts``: those reachable (None: all). Files of ``GENRO_STORAGE_PUBLIC_MOUNTS`` are
    served to anyone; the others need a valid signed URL from ``node.url()`` or
    ``authorize(node, 'read')``. ``listing``: a folder URL (ending in ``/``) answers its
    entries, JSON for ``Accept: application/json``, else a small HTML page; with
    ``authorize``, ``authorize(node, 'list')`` is asked for every listing, public mounts too.
    ``upload``: True (every served mount) or the mounts taking a multipart POST to a folder
    URL or a PUT of a raw body to a file URL (``'write'``, asked for every upload: it needs
    ``authorize``); see :mod:`genro_storage_flask.uploads`.
    """
    if not isinstance(listing, bool):
        raise TypeError(f"listing must be True or False, not {listing!r}")
    if authorize is not None and not callable(authorize):
        raise TypeError(f"authorize must be a callable(node, action) -> bool, not {authorize!r}")
    if isinstance(upload, str) or not isinstance(upload, (bool, Iterable)):
        raise TypeError(f"upload must be True, False or a list of mount names, not {upload!r}")
    if upload is not False and authorize is None:
        raise ValueError(
            "upload needs authorize=callable(node, action): who may write is the app's decision "
            "(authorize=lambda node, action: True lets anyone)"
        )
    served = None if mounts is None else _names(mounts, "mounts")
    uploads = upload if isinstance(upload, bool) else _names(upload, "upload")
    if served is not None and not isinstance(uploads, bool) and not uploads <= served:
        raise ValueError(f"upload names mounts that are not served: {', '.join(sorted(uploads - served))}")

    bp = Blueprint(name, __name__, url_prefix=url_prefix)
    prefix_given = url_prefix is not None

    def setup(state: BlueprintSetupState) -> None:
        register(state, prefix_given, served, listing, uploads, authorize)

    bp.record(setup)
    bp.add_url_rule("/<mount>/", "serve", serve, defaults={"path": ""})
    bp.add_url_rule("/<mount>/<path:path>", "serve", serve)
    if uploads:
        from .uploads import upload as upload_view

        bp.add_url_rule("/<mount>/", "upload", upload_view, defaults={"path": ""}, methods=["POST"])
        bp.add_url_rule("/<mount>/<path:path>", "upload", upload_view, methods=["POST", "PUT"])
    return bp


def _names(value: Iterable[str], argument: str) -> frozenset[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{argument} must be a list of mount names, not {value!r}")
    return frozenset(value)


def serve(mount: str, path: str) -> flask.Response:
    """GET/HEAD a file, or a folder's listing for a URL ending in ``/``."""
    route = current_route()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = app_state(app)
    asked: list[StorageNode] = []

    def later(node: StorageNode) -> bool:
        asked.append(node)  # decided below, once the action ('read' or 'list') is known
        return True

    found = route.route.resolve(
        f"{mount}/{path}", request.query_string, authorize=later if route.authorize is not None else None
    )
    if isinstance(found, Response):
        return flask_response(found)
    node = found.node
    if path == "" or path.endswith("/"):
        return _listing(route, node)
    authorize = route.authorize
    if asked and authorize is not None and not authorize(node, "read"):
        # A folder's URL without its '/': whoever may list it is sent to its listing.
        if route.listing and _is_folder(node) and authorize(node, "list"):
            return _to_folder(mount, path)
        abort(403)
    max_age = default_max_age(app, state, node)
    # A mount not in PUBLIC_MOUNTS (signed or authorised) is answered private: no shared cache keeps it.
    options = options_for(state, node, (("max_age", max_age),) if max_age is not None else ())
    response = respond_for(state, node, options, app)
    if response.status == 403 and route.listing and _is_folder(node):
        response.close()
        return _to_folder(mount, path)
    return flask_response(response, options, app)


def _to_folder(mount: str, path: str) -> flask.Response:
    """308 to the folder's URL, which ends in '/' as its listing's links do (relative links
    then work); the query (a signature) goes along as it came."""
    target = url_for(str(request.endpoint), mount=mount, path=path + "/")
    query = request.query_string.decode("latin-1")
    return redirect(target + ("?" + query if query else ""), 308)


def _is_folder(node: StorageNode) -> bool:
    try:
        return node.isdir
    except (StorageError, OSError) as exc:
        abort(status_for(exc))


def _listing(route: BlueprintRoute, node: StorageNode) -> flask.Response:
    if not route.listing:
        abort(403)
    if not _is_folder(node):
        abort(404)  # 'file.txt/' names no folder
    if route.authorize is not None:
        check_authorized(route, node, "list")
    base = request.script_root + route.prefix + "/"
    return flask_response(listing_response(node, base, request.method, request.headers.get("Accept")))
