"""StorageApp: a WSGI application serving ``/<mount>/<path>`` from a manager's mounts."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from ..errors import MountNotFoundError, StorageError
from .responder import NOT_ALLOWED, EnvironHeaders, Response, empty_response, respond

if TYPE_CHECKING:
    from ..manager import StorageManager

__all__ = ["StorageApp"]


class StorageApp:
    """Serve files of ``storage`` at ``<prefix><mount>/<path>`` to any WSGI server.

    ``mounts`` limits which mounts are reachable (all of them when None). Folders answer
    403 unless ``listing=True``. A request carrying ``expires`` and ``signature`` (from
    ``node.url()``) is verified, and a bad or expired one gets 403; with
    ``require_signature=True`` unsigned requests get 403 too. Other keywords are passed to
    the responder (``cache_max_age``, ``as_attachment``...).
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
        self.storage = storage
        self.mounts = frozenset(mounts) if mounts is not None else None
        self.prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
        self.listing = listing
        self.require_signature = require_signature
        self.serve_options = serve_options

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        response = self.handle(environ)
        return response(environ, start_response)

    def handle(self, environ: Mapping[str, Any]) -> Response:
        """The :class:`Response` for a WSGI request (no I/O beyond the backend's)."""
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return empty_response(405, [NOT_ALLOWED])
        raw = environ.get("PATH_INFO", "")
        try:
            # PEP 3333: PATH_INFO is the URL-decoded bytes as latin-1; URLs are UTF-8.
            path_info = raw.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return empty_response(404)
        if not path_info.startswith(self.prefix):
            return empty_response(404)
        mount, _, path = path_info[len(self.prefix) :].partition("/")
        if not mount or ":" in mount or (self.mounts is not None and mount not in self.mounts):
            return empty_response(404)
        try:
            node = self.storage.node(f"{mount}:{path}")
        except (MountNotFoundError, StorageError, ValueError):
            return empty_response(404)  # unknown mount, or a path that tries to leave its mount
        query = environ.get("QUERY_STRING", "")
        if query or self.require_signature:
            params = parse_qs(query)
            signature = params.get("signature", [None])[0]
            expires = params.get("expires", [None])[0]
            if signature is not None or expires is not None or self.require_signature:
                try:
                    signer = self.storage.url_signer(mount)
                except StorageError:
                    return empty_response(403)
                if not signer.verify(mount, node.path, expires, signature):
                    return empty_response(403)
        headers = EnvironHeaders(environ)
        response = respond(node, method, headers, **self.serve_options)
        if response.status == 403 and self.listing and node.isdir:
            return self._listing(node, method)
        return response

    def _listing(self, node: Any, method: str) -> Response:
        base = self.prefix + quote(node.mount_name) + "/" + (quote(node.path) + "/" if node.path else "")
        rows = []
        for child in node.children():
            name = child.basename + ("/" if child.isdir else "")
            rows.append(f'<li><a href="{html.escape(base + quote(name))}">{html.escape(name)}</a></li>')
        title = html.escape(node.fullpath)
        body = (
            f"<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1><ul>{''.join(rows)}</ul>"
        ).encode()
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        return Response(200, headers, [] if method == "HEAD" else [body])
