"""The blueprint: GET/HEAD a file, optionally list folders and take uploads.

Endpoints (with the default name): ``genro_storage.serve`` and ``genro_storage.upload``,
both ``url_for(endpoint, mount='docs', path='a/b.pdf')``. What a registration serves is
checked when the blueprint is registered on an app (``init_app`` must come first) and
kept in that app's state, so one blueprint object can serve two apps, each its own mounts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import flask
from flask import Blueprint, abort, redirect, request
from flask.blueprints import BlueprintSetupState

from genro_storage import StorageError, StorageNode
from genro_storage.http import Response, ServeRoute, listing_response, status_for

from .config import PREFIX
from .extension import app_state
from .helpers import flask_response, respond_for

__all__ = ["storage_blueprint", "Authorize", "BlueprintRoute", "current_route", "check_authorized"]

#: ``authorize(node, action) -> bool``, ``action`` one of 'read', 'list', 'write'.
Authorize = Callable[[StorageNode, str], bool]


@dataclass(frozen=True)
class BlueprintRoute:
    """What one registration of the blueprint serves on one app."""

    route: ServeRoute
    prefix: str
    listing: bool
    uploads: frozenset[str]
    authorize: Authorize | None


def current_route() -> BlueprintRoute:
    """What the registration handling the current request serves."""
    return app_state().routes[request.blueprint]


def check_authorized(route: BlueprintRoute, node: StorageNode, action: str) -> None:
    """``abort(403)`` unless the blueprint's ``authorize`` allows ``action`` on ``node``."""
    if route.authorize is None or not route.authorize(node, action):
        abort(403)


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
    entries, JSON for ``Accept: application/json``, else a small HTML page (``'list'``).
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
        _register(state, prefix_given, served, listing, uploads, authorize)

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


def _register(
    setup: BlueprintSetupState,
    prefix_given: bool,
    served: frozenset[str] | None,
    listing: bool,
    uploads: bool | frozenset[str],
    authorize: Authorize | None,
) -> None:
    """Check what this registration serves against the app's config, and keep it."""
    app = setup.app
    try:
        state = app_state(app)
    except RuntimeError:
        raise RuntimeError(
            f"register the storage blueprint after GenroStorage.init_app(app) on app {app.name!r}: "
            "its mounts come from the app's config"
        ) from None
    if not prefix_given and "url_prefix" not in setup.options:
        setup.url_prefix = urlsplit(state.base_url).path.rstrip("/")
    prefix = (setup.url_prefix or "").rstrip("/")
    public = state.public if served is None else state.public & served
    try:
        route = ServeRoute(state.storage, mounts=served, public=public, base_url=prefix + "/", options=state.options)
    except ValueError as exc:
        if "secret" not in str(exc):
            raise
        raise RuntimeError(
            "the storage blueprint serves mounts not in GENRO_STORAGE_PUBLIC_MOUNTS, which need signed URLs: "
            "set SECRET_KEY or GENRO_STORAGE_URL_SECRET"
        ) from None
    reachable = frozenset(state.storage.mounts) if served is None else served
    if not reachable <= public and not urlsplit(state.base_url).path.endswith(prefix + "/"):
        raise RuntimeError(
            f"the storage blueprint is registered at {prefix + '/'!r} but {PREFIX}BASE_URL is {state.base_url!r}: "
            f"signed URLs from node.url() would point elsewhere; set {PREFIX}BASE_URL to {prefix + '/'!r}"
        )
    upload_mounts = reachable if uploads is True else (uploads or frozenset())
    full_name = f"{setup.name_prefix}.{setup.name}".lstrip(".")
    state.routes[full_name] = BlueprintRoute(route, prefix, listing, frozenset(upload_mounts), authorize)


def serve(mount: str, path: str) -> flask.Response:
    """GET/HEAD a file, or a folder's listing for a URL ending in ``/``."""
    route = current_route()
    state = app_state()
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
        return _listing(route, node, bool(asked))
    if asked:
        check_authorized(route, node, "read")
    response = respond_for(state, node, route.route.options)
    if response.status == 403 and route.listing and _is_folder(node):
        response.close()
        # A folder's URL ends in '/', as its listing's links do: relative links then work.
        target = request.script_root + request.path + "/"
        query = request.query_string.decode("latin-1")
        return redirect(target + ("?" + query if query else ""), 308)
    return flask_response(response)


def _is_folder(node: StorageNode) -> bool:
    try:
        return node.isdir
    except (StorageError, OSError) as exc:
        abort(status_for(exc))


def _listing(route: BlueprintRoute, node: StorageNode, needs_check: bool) -> flask.Response:
    if not route.listing:
        abort(403)
    if not _is_folder(node):
        abort(404)  # 'file.txt/' names no folder
    if needs_check:
        check_authorized(route, node, "list")
    base = request.script_root + route.prefix + "/"
    return flask_response(listing_response(node, base, request.method, request.headers.get("Accept")))
