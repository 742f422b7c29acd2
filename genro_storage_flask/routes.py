"""What one registration of the storage blueprint serves on one app: checked against the
app's config when the blueprint is registered, kept in the app's state, found per request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import abort, request
from flask.blueprints import BlueprintSetupState

from genro_storage import StorageNode
from genro_storage.http import ServeRoute

from .config import PREFIX
from .extension import app_state

__all__ = ["Authorize", "BlueprintRoute", "current_route", "check_authorized", "register"]

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


def _default_prefix(base_url: str, root: object) -> str:
    """The blueprint's routes for ``BASE_URL``: its path, less the ``APPLICATION_ROOT`` the
    app is mounted under (a route matches what follows SCRIPT_NAME; a URL carries both)."""
    path = urlsplit(base_url).path.rstrip("/")
    root = root.rstrip("/") if isinstance(root, str) else ""
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :]
    return path


def register(
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
        setup.url_prefix = _default_prefix(state.base_url, app.config.get("APPLICATION_ROOT"))
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
        root = app.config.get("APPLICATION_ROOT")
        public_path = (root.rstrip("/") if isinstance(root, str) else "") + prefix + "/"
        raise RuntimeError(
            f"the storage blueprint is registered at {prefix + '/'!r} but {PREFIX}BASE_URL is {state.base_url!r}: "
            f"signed URLs from node.url() would point elsewhere; set {PREFIX}BASE_URL to {public_path!r}"
        )
    upload_mounts = reachable if uploads is True else (uploads or frozenset())
    full_name = f"{setup.name_prefix}.{setup.name}".lstrip(".")
    state.routes[full_name] = BlueprintRoute(route, prefix, listing, frozenset(upload_mounts), authorize)
