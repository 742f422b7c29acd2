"""The request pipeline every serving front end shares: decode, resolve, respond.

A :class:`ServeRoute` is built once, at start-up, from a manager and what the front end
serves (which mounts, which of them without a signature, listings, :class:`ServeOptions`);
everything is checked there. Per request, :meth:`ServeRoute.resolve` turns the part of the
URL below the serving prefix and the query string into the :class:`Target` to serve or the
404/403 :class:`Response` that refuses it (mount allow-list, path safety, signature and
expiry), and :meth:`ServeRoute.respond` answers it (the file, or a folder's listing).
``StorageApp``, the Django view and the Flask blueprint are each these calls plus the
translation of a :class:`Response` into their own; none parses ``expires=`` or
``signature=`` itself.
"""

from __future__ import annotations

import html
import json
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from ..errors import StorageConfigError, StorageError
from .offload import offloads
from .options import ServeOptions
from .responder import NOT_ALLOWED, Response, empty_response, request_headers, respond, status_for

if TYPE_CHECKING:
    from ..manager import StorageManager
    from ..node import StorageNode

__all__ = ["ServeRoute", "Target", "wsgi_path", "listing_response"]

#: ``authorize(node) -> bool``: the front end's say on a request its rules did not let
#: through by themselves (Django's ``AUTHORIZE(request, node)``, Flask's ``authorize``).
Authorize = Callable[["StorageNode"], bool]


class Target:
    """A request that passed the route's checks: the node, and whether a valid signed URL
    brought it (a front end may let signed requests skip its own permission checks)."""

    __slots__ = ("node", "signed")

    def __init__(self, node: StorageNode, signed: bool):
        self.node = node
        self.signed = signed

    def __repr__(self) -> str:
        return f"<Target {self.node.fullpath!r}{' signed' if self.signed else ''}>"


def wsgi_path(environ: Mapping[str, Any], prefix: str = "/") -> str | None:
    """The decoded part of a WSGI request's path below ``prefix`` (None if outside it, or
    not UTF-8). PEP 3333: ``PATH_INFO`` is the URL-decoded bytes as latin-1."""
    raw = environ.get("PATH_INFO", "")
    try:
        path = raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    if not prefix.endswith("/"):
        prefix += "/"  # '/files' must not match '/filesX/...'
    if not path.startswith(prefix):
        return None
    return path[len(prefix) :]


def _mount_names(storage: StorageManager, value: Iterable[str] | None, argument: str) -> frozenset[str] | None:
    """``value`` as a set of configured mount names, or a ValueError naming ``argument``."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{argument} must be a list of mount names, not {type(value).__name__} ({value!r})")
    names = frozenset(value)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{argument} must hold mount names (str), not {type(name).__name__} ({name!r})")
        if not storage.has_mount(name):
            known = ", ".join(sorted(storage.mounts)) or "none"
            raise ValueError(f"{argument} names {name!r}, which is not a mount of this manager (mounts: {known})")
    return names


class ServeRoute:
    """What one front end serves, checked once; then :meth:`resolve` and :meth:`respond`
    per request.

    ``mounts``: the mounts reachable (None: all of the manager's, as configured at each
    request). ``public``: the mounts served without a signature (None: every reachable
    one; ``()``: none, so every request needs a valid signed URL from ``node.url()`` or
    the front end's ``authorize``). ``listing``: answer a folder with its listing (HTML,
    or JSON for ``Accept: application/json``) instead of 403. ``base_url``: where the
    front end is mounted, for the listing's links. ``options``: how files are answered.
    ``offload``: ``{mount: mode or Offload}``, the mounts whose bytes the front server or
    the object store sends (see :class:`~genro_storage.http.Offload`).
    """

    def __init__(
        self,
        storage: StorageManager,
        *,
        mounts: Iterable[str] | None = None,
        public: Iterable[str] | None = None,
        listing: bool = False,
        base_url: str = "/",
        options: ServeOptions | None = None,
        offload: Mapping[str, Any] | None = None,
    ):
        from ..manager import StorageManager

        if not isinstance(storage, StorageManager):
            raise TypeError(f"storage must be a genro_storage.StorageManager, not {type(storage).__name__}")
        if not isinstance(listing, bool):
            raise TypeError(f"listing must be True or False, not {listing!r}")
        if not isinstance(base_url, str) or not base_url.endswith("/"):
            raise ValueError(f"base_url must be a string ending in '/', not {base_url!r}")
        if options is not None and not isinstance(options, ServeOptions):
            raise TypeError(f"options must be a ServeOptions, not {type(options).__name__}")
        self.storage = storage
        self.mounts = _mount_names(storage, mounts, "mounts")
        self.public = _mount_names(storage, public, "public")
        if self.public is not None and self.mounts is not None and not self.public <= self.mounts:
            extra = ", ".join(sorted(self.public - self.mounts))
            raise ValueError(f"public names mounts that are not served (not in mounts): {extra}")
        self.listing = listing
        self.base_url = base_url
        self.options = options if options is not None else ServeOptions()
        self._private = replace(self.options, private=True)
        self.offload = offloads(storage, offload)
        served = self.mounts if self.mounts is not None else frozenset(storage.mounts)
        if self.public is not None and not served <= self.public:
            try:
                storage.url_signer()
            except StorageConfigError:
                raise ValueError(
                    "mounts not listed in public need signed URLs, and signed URLs need a secret: "
                    "call storage.configure_urls(secret=..., base_url=...) before building the route"
                ) from None

    def __repr__(self) -> str:
        return f"<ServeRoute mounts={sorted(self.mounts) if self.mounts is not None else 'all'} base={self.base_url!r}>"

    def is_public(self, mount: str) -> bool:
        """Whether ``mount`` is served without a signature."""
        return self.public is None or mount in self.public

    def resolve(self, path: str, query: str | bytes = "", *, authorize: Authorize | None = None) -> Target | Response:
        """The :class:`Target` for ``path`` (``'<mount>/<path>'``, decoded, below the
        serving prefix) and ``query`` (the raw query string), or the refusal: 404 for a
        mount not served or unknown and a path that tries to leave its mount, 403 for a
        bad or expired signature, and for an unsigned request to a mount that is not
        public unless ``authorize(node)`` says yes."""
        mount, _, rest = path.partition("/")
        if not mount or ":" in mount or (self.mounts is not None and mount not in self.mounts):
            return empty_response(404)
        try:
            node = self.storage.node(f"{mount}:{rest}")
        except (StorageError, ValueError):
            return empty_response(404)  # unknown mount, or a path that tries to leave its mount
        signed = False
        if query:
            if isinstance(query, (bytes, bytearray)):
                query = query.decode("latin-1")  # werkzeug's and ASGI's raw query string
            params = parse_qs(query, keep_blank_values=True)
            signature = params.get("signature", [None])[0]
            expires = params.get("expires", [None])[0]
            if signature is not None or expires is not None:
                try:
                    signer = self.storage.url_signer(mount)
                except StorageConfigError:
                    return empty_response(403)
                if not signer.verify(mount, node.path, expires, signature):
                    return empty_response(403)
                signed = True
        if not signed and not self.is_public(mount) and not (authorize is not None and authorize(node)):
            return empty_response(403)
        return Target(node, signed)

    def respond(self, target: Target, method: str, headers: Any, options: ServeOptions | None = None) -> Response:
        """The answer to ``method`` for ``target`` with the request ``headers``: the file
        (see :func:`~genro_storage.http.respond`), or a folder's listing when enabled."""
        if method not in ("GET", "HEAD"):
            return empty_response(405, [NOT_ALLOWED])
        node = target.node
        headers = request_headers(headers)
        options = options or self.options
        if not options.private and not self.is_public(node.mount_name):
            # Signed or authorised: the browser that asked may keep it, no shared cache.
            options = self._private if options is self.options else replace(options, private=True)
        offload = self.offload.get(node.mount_name)
        if offload is not None:
            response = offload.respond(node, method, headers, options)
        else:
            response = respond(node, method, headers, options)
        if response.status != 403 or not self.listing:
            return response
        try:
            is_folder = node.isdir
        except (StorageError, OSError) as exc:
            return empty_response(status_for(exc))
        if not is_folder:
            return response
        return listing_response(node, self.base_url, method, headers.get("Accept"))


def _local_unfollowable(folder: StorageNode) -> Callable[[StorageNode], bool]:
    """For a local folder: whether a child is a link back to the folder or above it (an
    endless tree of URLs), or neither a file nor a folder (a FIFO, socket or device, which
    is never served)."""
    backend = folder.backend
    here = os.path.realpath(backend.ospath(folder.path))

    def unfollowable(child: StorageNode) -> bool:
        full = backend.ospath(child.path)
        st = os.stat(full)
        if stat.S_ISDIR(st.st_mode):
            target = os.path.realpath(full)
            return here == target or here.startswith(target.rstrip("/") + "/")
        return not stat.S_ISREG(st.st_mode)

    return unfollowable


def _entries(node: StorageNode) -> list[dict[str, Any]]:
    """The folder's entries that can be followed: a link leaving the root, a dangling one,
    a loop, a link back up the tree, a name that is not UTF-8 (no URL reaches it) or one
    the OS cannot reach is left out, never an error."""
    unfollowable = _local_unfollowable(node) if "local_files" in node.backend.capabilities else None
    entries = []
    for child in node.children():
        try:
            child.basename.encode("utf-8")
            info = child.info()
            if unfollowable is not None and unfollowable(child):
                continue
        except (StorageError, OSError, UnicodeEncodeError):
            continue
        entries.append(
            {
                "name": child.basename,
                "type": "directory" if info["type"] == "directory" else "file",
                "size": info.get("size", 0) if info["type"] == "file" else None,
                "mtime": info.get("mtime"),
            }
        )
    return entries


def _prefers_json(accept: str | None) -> bool:
    """Whether ``Accept`` ranks ``application/json`` above ``text/html`` (RFC 9110 12.5.1:
    each type takes the weight of the most specific range matching it, ``type/subtype``
    over ``type/*`` over ``*/*``; ``q=0`` refuses it). A tie is HTML's, as for a browser."""
    if not accept:
        return False
    ranges: list[tuple[str, float]] = []
    for item in accept.lower().split(","):
        media, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
                if not 0.0 <= q <= 1.0:  # nan too
                    q = 0.0
        ranges.append((media, q))
    return _weight(ranges, "application/json") > _weight(ranges, "text/html")


def _weight(ranges: list[tuple[str, float]], media: str) -> float:
    """The q of the most specific of ``ranges`` matching ``media``, 0 if none does."""
    family = media.partition("/")[0] + "/*"
    best, weight = -1, 0.0
    for candidate, q in ranges:
        rank = 2 if candidate == media else 1 if candidate == family else 0 if candidate == "*/*" else -1
        if rank > best:
            best, weight = rank, q
    return weight


def listing_response(node: StorageNode, base_url: str, method: str = "GET", accept: str | None = None) -> Response:
    """A folder's listing under ``base_url``: JSON when ``accept`` asks for
    ``application/json``, else a small HTML page; never cached without revalidation."""
    try:
        entries = _entries(node)
    except (StorageError, OSError) as exc:
        return empty_response(status_for(exc))
    folder = base_url + quote(node.mount_name) + "/" + (quote(node.path) + "/" if node.path else "")
    for entry in entries:
        entry["url"] = folder + quote(entry["name"]) + ("/" if entry["type"] == "directory" else "")
    if _prefers_json(accept):
        body = json.dumps({"path": node.fullpath, "entries": entries}, ensure_ascii=False).encode()
        ctype = "application/json"
    else:
        rows = "".join(
            f'<li><a href="{html.escape(e["url"])}">{html.escape(e["name"])}'
            f"{'/' if e['type'] == 'directory' else ''}</a></li>"
            for e in entries
        )
        title = html.escape(node.fullpath)
        body = f"<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1><ul>{rows}</ul>".encode()
        ctype = "text/html; charset=utf-8"
    headers = [
        ("Content-Type", ctype),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-cache"),
        ("Vary", "Accept"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    return Response(200, headers, [] if method == "HEAD" else [body])
