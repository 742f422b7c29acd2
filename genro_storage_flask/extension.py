"""GenroStorage: the Flask extension. Mounts come from ``app.config``, one manager per app."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, abort, current_app

from genro_storage import MountNotFoundError, StorageManager, StorageNode, StoragePathError

from .config import AppState, build_state

if TYPE_CHECKING:
    from flask import Blueprint, Response

__all__ = ["GenroStorage", "app_state", "EXTENSION_KEY"]

EXTENSION_KEY = "genro_storage"


def app_state(app: Flask | None = None) -> AppState:
    """The state ``init_app`` built for ``app`` (the current app by default)."""
    app = app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        return app.extensions[EXTENSION_KEY]
    except KeyError:
        raise RuntimeError(
            f"The Flask app {app.name!r} is not registered with GenroStorage. "
            "Did you forget to call 'GenroStorage(app)' or 'ext.init_app(app)'?"
        ) from None


class GenroStorage:
    """Files of any mount for a Flask app: ``ext = GenroStorage(app)``, or
    ``ext = GenroStorage()`` then ``ext.init_app(app)`` in an application factory.

    Nothing that belongs to one app is kept on this object: each app's manager, serving
    options and routes live in ``app.extensions['genro_storage']`` and are found through
    ``current_app``, so two apps with different configs never see each other's mounts.
    The config keys are listed in :mod:`genro_storage_flask.config`.
    """

    def __init__(self, app: Flask | None = None):
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read and check the ``GENRO_STORAGE_*`` keys of ``app.config``, build the app's
        manager and add the ``flask storage`` commands; a bad key raises here, naming it."""
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "A 'GenroStorage' instance has already been registered on this Flask app. "
                "Import and use that instance instead."
            )
        state = build_state(self, app.config)
        app.extensions[EXTENSION_KEY] = state
        from .cli import storage_commands

        app.cli.add_command(storage_commands)

    @property
    def storage(self) -> StorageManager:
        """The current app's :class:`~genro_storage.StorageManager`."""
        return app_state().storage

    def node(self, mount_or_spec: str, *parts: str) -> StorageNode:
        """The current app's node at ``'mount:path'`` (or ``node('mount', 'dir', 'x')``)."""
        return app_state().storage.node(mount_or_spec, *parts)

    def serve(self, spec: str | StorageNode, **options: Any) -> Response:
        """``send_node`` for ``'mount:path'``: an unknown mount, or a path that tries to leave
        its mount, is ``abort(404)`` (a view building the spec from its URL then answers as
        for any missing file)."""
        from .helpers import send_node

        if isinstance(spec, StorageNode):
            return send_node(spec, **options)
        try:
            node = self.node(spec)
        except (MountNotFoundError, StoragePathError):
            abort(404)
        return send_node(node, **options)

    def blueprint(
        self,
        name: str = "genro_storage",
        url_prefix: str | None = None,
        *,
        mounts: Iterable[str] | None = None,
        listing: bool = False,
        upload: bool | Iterable[str] = False,
        authorize: Callable[[StorageNode, str], bool] | None = None,
    ) -> Blueprint:
        """A blueprint serving ``<url_prefix>/<mount>/<path>``; see
        :func:`genro_storage_flask.blueprint.storage_blueprint`."""
        from .blueprint import storage_blueprint

        return storage_blueprint(name, url_prefix, mounts=mounts, listing=listing, upload=upload, authorize=authorize)
