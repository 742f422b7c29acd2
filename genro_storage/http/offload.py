"""Offload: the application checks access, then the front server or the object store moves
the bytes.

Per mount, one of three modes:

- ``x-accel-redirect`` (nginx) and ``x-sendfile`` (Apache's mod_xsendfile, lighttpd) for
  local mounts: the answer carries the validators and the serving headers, an empty body
  and the header naming the file; the front server sends it (ranges included).
- ``redirect`` for object stores: a 302 to a presigned URL, signed for the response's
  Content-Type and Content-Disposition where the service allows it.

Preconditions are still answered by the application (304, 412), so a cached copy costs no
trip to the front server's disk. nginx sends its own ETag for the file it reads, so under
``x-accel-redirect`` the application's ETag takes nginx's form (``"<mtime>-<size>"`` in
hex): both judge the same validator. Ranges are the front server's, and so is what it
sends after an internal redirect: an ``etag``, ``last_modified`` or ``conditional`` of
the application's does not reach the client there (nginx's ``etag``, ``if_modified_since``
and ``max_ranges`` settle them).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..errors import StorageConfigError, StorageError
from .headers import content_disposition
from .options import ACTIVE_TYPES, ServeOptions, _suggest
from .responder import Response, content_type_for, empty_response, request_headers, respond, status_for

if TYPE_CHECKING:
    from ..manager import StorageManager
    from ..node import StorageNode

__all__ = ["Offload", "OFFLOAD_MODES", "offloads"]

#: The modes, and the backend capability each needs.
OFFLOAD_MODES: Mapping[str, str] = {
    "x-accel-redirect": "local_files",
    "x-sendfile": "local_files",
    "redirect": "presign",
}

#: Seconds a redirect's presigned URL stays valid by default.
REDIRECT_EXPIRES = 300

_KEYS = ("mode", "location", "expires_in")


class _WithoutRanges:
    """The request's headers minus Range and If-Range: the front server answers ranges."""

    __slots__ = ("_headers",)

    def __init__(self, headers: Any):
        self._headers = headers

    def get(self, name: str, default: str | None = None) -> str | None:
        if name.lower() in ("range", "if-range"):
            return default
        return self._headers.get(name, default)


@dataclass(frozen=True)
class Offload:
    """How one mount's files leave once access is granted.

    ``mode``: one of :data:`OFFLOAD_MODES`. ``location``: for ``x-accel-redirect``, the
    nginx ``internal`` location whose ``alias`` is the mount's folder (default
    ``/_genro_storage/<mount>/``). ``expires_in``: for ``redirect``, the presigned URL's
    lifetime in seconds.
    """

    mode: str
    location: str | None = None
    expires_in: int = REDIRECT_EXPIRES

    def __post_init__(self) -> None:
        if self.mode not in OFFLOAD_MODES:
            raise ValueError(f"offload mode must be one of {', '.join(OFFLOAD_MODES)}, not {self.mode!r}")
        if self.location is not None:
            if self.mode != "x-accel-redirect":
                raise ValueError(f"location is for x-accel-redirect, not {self.mode}")
            if not isinstance(self.location, str) or not self.location.startswith("/"):
                raise ValueError(f"location must be a URL path starting with '/', not {self.location!r}")
            if not self.location.endswith("/"):
                object.__setattr__(self, "location", self.location + "/")
        expires = self.expires_in
        if isinstance(expires, bool) or not isinstance(expires, int) or expires < 1:
            raise ValueError(f"expires_in must be a whole number of seconds, at least 1, not {expires!r}")

    @classmethod
    def parse(cls, value: str | Mapping[str, Any] | Offload, *, mount: str) -> Offload:
        """An :class:`Offload` from settings: a mode name, a dict of :class:`Offload`'s
        fields, or an Offload; a bad value is StorageConfigError naming the mount and key."""
        if isinstance(value, Offload):
            return value
        if isinstance(value, str):
            value = {"mode": value}
        if not isinstance(value, Mapping):
            raise StorageConfigError(
                f"offload must be a mode name or a dict, not {type(value).__name__}", mount=mount, key="offload"
            )
        values = {str(key).lower(): item for key, item in value.items()}
        for key in values:
            if key not in _KEYS:
                raise StorageConfigError(f"unknown offload key{_suggest(key, list(_KEYS))}", mount=mount, key=key)
        if "mode" not in values:
            raise StorageConfigError("offload needs a mode", mount=mount, key="mode")
        try:
            return cls(**values)
        except ValueError as exc:
            key = next((k for k in _KEYS if str(exc).startswith(k)), "mode")
            raise StorageConfigError(str(exc), mount=mount, key=key) from None

    def checked_for(self, storage: StorageManager, mount: str) -> Offload:
        """This offload, after checking ``mount`` exists and its backend can do it."""
        if mount not in storage.mounts:
            known = ", ".join(sorted(storage.mounts)) or "none configured"
            raise StorageConfigError(f"offload names an unknown mount (mounts: {known})", mount=mount, key="offload")
        needed = OFFLOAD_MODES[self.mode]
        backend = storage.get_mount(mount).backend
        if not backend.supports(needed):
            what = "local mounts" if needed == "local_files" else "mounts whose service presigns URLs (S3, GCS, Azure)"
            raise StorageConfigError(
                f"offload {self.mode!r} is for {what}; this is a {type(backend).__name__}", mount=mount, key="offload"
            )
        if self.mode == "x-accel-redirect" and self.location is None:
            return Offload(self.mode, f"/_genro_storage/{mount}/", self.expires_in)
        return self

    def respond(self, node: StorageNode, method: str, headers: Any, options: ServeOptions | None = None) -> Response:
        """The offloaded answer for ``node``: the preconditions' 304/412 and refusals as
        :func:`~genro_storage.http.respond` gives them, else the hand-over."""
        options = options if options is not None else ServeOptions()
        if self.mode == "redirect":
            return self._redirect(node, method, headers, options)
        if self.mode == "x-accel-redirect":
            changes: dict[str, Any] = {}
            # nginx drops the sandboxing CSP on an internal redirect unless its location adds
            # it back, but keeps Content-Disposition: active content is a download there too.
            if options.active_content == "sandbox" and not options.as_attachment:
                if _is_active(options.mimetype or node.mimetype):
                    changes["as_attachment"] = True
            if options.etag is True and (tag := _nginx_etag(node)) is not None:
                changes["etag"] = tag
            if changes:
                options = ServeOptions.build(options, **changes)
        answer = respond(node, "HEAD", _WithoutRanges(request_headers(headers)), options)
        if answer.status != 200:
            return answer
        # The front server gives the length, and nginx its own Accept-Ranges beside any kept.
        dropped = ("content-length", "accept-ranges") if self.mode == "x-accel-redirect" else ("content-length",)
        head = [(name, value) for name, value in answer.headers if name.lower() not in dropped]
        if self.mode == "x-accel-redirect":
            head.append(("X-Accel-Redirect", self.location + quote(node.path, safe="/")))
        else:
            # WSGI header values are latin-1 strings: the file name's UTF-8 bytes pass unchanged.
            path = os.fsencode(node.backend.ospath(node.path)).decode("latin-1")
            if any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
                return respond(node, method, headers, options)  # no header can carry it: sent from here
            head.append(("X-Sendfile", path))
        head.append(("Content-Length", "0"))
        return Response(200, head)

    def _redirect(self, node: StorageNode, method: str, headers: Any, options: ServeOptions) -> Response:
        if method == "HEAD":
            # A presigned URL is signed for GET: a HEAD sent there is refused. The metadata
            # the answer needs is the one request a redirect costs anyway.
            return respond(node, method, headers, options)
        backend = node.backend
        try:
            info = backend.info(node.path)
        except (StorageError, OSError) as exc:
            return empty_response(status_for(exc))
        if info["type"] != "file":
            return empty_response(403)
        answer: dict[str, str] = {}
        if options.mimetype:
            answer["content-type"] = options.mimetype
        # The service sends no sandboxing CSP: active content from it is downloaded instead.
        active = _is_active(options.mimetype or node.mimetype) and options.active_content != "inline"
        if options.as_attachment or options.download_name or active:
            disposition = "attachment" if options.as_attachment or active else "inline"
            answer["content-disposition"] = content_disposition(disposition, options.download_name or node.basename)
        if answer and not backend.supports("presign_response"):
            return respond(node, method, headers, options)  # the service cannot be told: serve it here
        if backend.supports("presign_response") and "content-type" not in answer:
            # The stored type may be the service's default (binary/octet-stream): send the one
            # this file would be served with here.
            answer["content-type"] = content_type_for(node.mimetype)
        try:
            if answer:
                url = backend.presign(node.path, self.expires_in, response=answer)
            else:
                url = backend.presign(node.path, self.expires_in)
        except (StorageError, OSError) as exc:
            return empty_response(status_for(exc))
        # The URL expires: no cache keeps the redirect longer than the page asking for it.
        return Response(302, [("Location", url), ("Cache-Control", "private, no-store"), ("Content-Length", "0")])


def _nginx_etag(node: StorageNode) -> str | None:
    """The ETag nginx sends for ``node``'s file (``"%xT-%xO"``: mtime and size in hex), or
    None when the file cannot be looked at (the answer then says why)."""
    try:
        st = os.stat(node.backend.ospath(node.path))
    except (StorageError, OSError):
        return None
    return f"{int(st.st_mtime):x}-{st.st_size:x}"


def _is_active(media_type: str) -> bool:
    media_type = media_type.partition(";")[0].strip().lower()
    return media_type in ACTIVE_TYPES or media_type.endswith("+xml")


def offloads(storage: StorageManager, settings: Mapping[str, Any] | None) -> dict[str, Offload]:
    """``{mount: Offload}`` from settings (``{"uploads": "x-accel-redirect", "s3":
    {"mode": "redirect", "expires_in": 60}}``), each checked against its mount."""
    if not settings:
        return {}
    if not isinstance(settings, Mapping):
        raise StorageConfigError(f"offload settings must be a dict of mount: mode, not {type(settings).__name__}")
    return {
        str(mount): Offload.parse(value, mount=str(mount)).checked_for(storage, str(mount))
        for mount, value in settings.items()
    }
