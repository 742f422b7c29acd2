"""StorageApp: a WSGI application serving ``/<mount>/<path>`` from a manager's mounts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .options import ServeOptions
from .pipeline import ServeRoute, wsgi_path
from .responder import NOT_ALLOWED, EnvironHeaders, Response, empty_response

if TYPE_CHECKING:
    from ..manager import StorageManager

__all__ = ["StorageApp"]


class StorageApp:
    """Serve files of ``storage`` at ``<prefix><mount>/<path>`` to any WSGI server.

    ``mounts`` limits which mounts are reachable (all of them when None). Folders answer
    403 unless ``listing=True``. A request carrying ``expires`` and ``signature`` (from
    ``node.url()``) is verified, and a bad or expired one gets 403; with
    ``require_signature=True`` unsigned requests get 403 too. Other keywords are
    :class:`ServeOptions` (``max_age``, ``as_attachment``...). Every argument is checked
    here: a mistake fails at start-up, naming the argument, never as a 500 per request.
    Each request is three steps: decode the path, resolve it, respond.
    """

    def __init__(
        self,
        storage: StorageManager,
        mounts: Iterable[str] | None = None,
        prefix: str = "/",
        *,
        listing: bool = False,
        require_signature: bool = False,
        **serve_options: Any,
    ):
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a string like '/files/', not {type(prefix).__name__}")
        if not isinstance(require_signature, bool):
            raise TypeError(f"require_signature must be True or False, not {require_signature!r}")
        self.prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
        self.options = ServeOptions.build(**serve_options)
        self.route = ServeRoute(
            storage,
            mounts=mounts,
            public=() if require_signature else None,
            listing=listing,
            base_url=self.prefix,
            options=self.options,
        )
        self.storage = storage
        self.require_signature = require_signature

    @property
    def mounts(self) -> frozenset[str] | None:
        return self.route.mounts

    @property
    def listing(self) -> bool:
        return self.route.listing

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        response = self.handle(environ)
        return response(environ, start_response)

    def handle(self, environ: Mapping[str, Any]) -> Response:
        """The :class:`Response` for a WSGI request (no I/O beyond the backend's)."""
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return empty_response(405, [NOT_ALLOWED])
        path = wsgi_path(environ, self.prefix)
        if path is None:
            return empty_response(404)
        found = self.route.resolve(path, environ.get("QUERY_STRING", ""))
        if isinstance(found, Response):
            return found
        return self.route.respond(found, method, EnvironHeaders(environ))
