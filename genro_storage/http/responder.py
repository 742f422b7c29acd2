"""The file responder: a node and a request's method and headers in, a :class:`Response` out.

It implements RFC 9110 for a static representation: validators (strong ETag,
Last-Modified), preconditions in the order of section 13.2.2, byte ranges (section 14)
with multipart/byteranges, HEAD, 304/412/416. No framework is imported: WSGI, Django and
Flask each turn the :class:`Response` into their own response in a few lines.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..backends.base import CHUNK_SIZE
from ..errors import ErrorContext, StorageError
from .headers import (
    coalesce,
    content_disposition,
    content_range,
    http_date,
    parse_etags,
    parse_http_date,
    parse_range,
    quote_etag,
)
from .options import ACTIVE_TYPES, MAX_RANGES, SANDBOX_POLICY, ServeOptions

if TYPE_CHECKING:
    from ..backends.openfiles import SharedFile
    from ..node import StorageNode

__all__ = ["Response", "respond", "EnvironHeaders", "MAX_RANGES", "serve", "request_headers", "status_for"]

#: Local bodies up to this size are read in one ``pread`` and sent from memory: for them,
#: setting up ``sendfile`` costs the server more than copying the bytes.
SMALL_BODY = 256 * 1024

STATUS_LINES = {
    200: "200 OK",
    206: "206 Partial Content",
    302: "302 Found",
    304: "304 Not Modified",
    403: "403 Forbidden",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    412: "412 Precondition Failed",
    416: "416 Range Not Satisfiable",
    503: "503 Service Unavailable",
}

_DEFAULTS = ServeOptions()

#: Media types that are text though not ``text/*``: they get ``charset=utf-8`` too.
_TEXTUAL = {"application/javascript", "application/json", "application/xml", "image/svg+xml"}


class Response:
    """A framework-free response: status, headers and a body iterable.

    ``file`` is set when the body is a slice of a local file the server may ``sendfile``
    (through ``wsgi.file_wrapper``); ``body`` is always a valid iterable of bytes.
    """

    __slots__ = ("status", "headers", "body", "file")

    def __init__(
        self,
        status: int,
        headers: list[tuple[str, str]],
        body: Iterable[bytes] = (),
        file: FileSlice | None = None,
    ):
        self.status = status
        self.headers = headers
        self.body = body
        self.file = file

    @property
    def status_line(self) -> str:
        return STATUS_LINES.get(self.status, f"{self.status} Unknown")

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def close(self) -> None:
        close = getattr(self.body, "close", None)
        if close is not None:
            close()

    def __call__(self, environ: Mapping[str, Any], start_response: Any) -> Iterable[bytes]:
        """Answer as a WSGI application: local file slices go through ``wsgi.file_wrapper``."""
        start_response(self.status_line, self.headers)
        if self.file is not None:
            wrapper = environ.get("wsgi.file_wrapper")
            if wrapper is not None:
                return wrapper(self.file, CHUNK_SIZE)
        return self.body

    def __repr__(self) -> str:
        return f"<Response {self.status_line}>"


def empty_response(status: int, headers: list[tuple[str, str]] | None = None) -> Response:
    """A response with no body (405, 404, 412, 416...)."""
    return Response(status, [*(headers or ()), ("Content-Length", "0")])


NOT_ALLOWED = ("Allow", "GET, HEAD")


class FileSlice:
    """An open local file read from ``start`` up to ``stop``: what sendfile or a read loop sends.

    ``fileno()``, ``tell()`` and ``seek()`` let a server's ``wsgi.file_wrapper`` sendfile
    exactly this slice (gunicorn sends from ``tell()`` for Content-Length bytes, and
    ``socket.sendfile`` seeks when it falls back to ``send``); ``read()`` never goes past
    ``stop``, for servers that iterate instead. It owns the descriptor and closes it once.
    """

    def __init__(self, fd: int, start: int, stop: int, version: tuple[int, int] | None = None):
        self._fd = fd
        self._stop = stop
        #: (size, mtime_ns) the headers were built from: checked before the last bytes go.
        self._version = version
        if start:
            os.lseek(fd, start, os.SEEK_SET)

    def fileno(self) -> int:
        return self._fd

    def tell(self) -> int:
        return os.lseek(self._fd, 0, os.SEEK_CUR)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return os.lseek(self._fd, offset, whence)

    def read(self, size: int = -1) -> bytes:
        left = self._stop - self.tell()
        if left <= 0:
            return b""
        last = size < 0 or size >= left
        data = os.read(self._fd, left if last else size)
        if not data or (last and len(data) < left):
            raise _shrank(f"descriptor {self._fd}")
        if last and self._version is not None and _changed(os.fstat(self._fd), self._version):
            raise _rewritten(f"descriptor {self._fd}")
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK_SIZE):
            yield chunk

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    __del__ = close  # a server that never closes its body must not leak the descriptor


def _version(st: os.stat_result) -> tuple[int, int]:
    """What a write in place changes: the size and the mtime. (Not the ctime: renaming a
    new version over the file changes the old one's link count, and so its ctime, though
    the bytes being sent stay the same.)"""
    return (st.st_size, st.st_mtime_ns)


def _changed(st: os.stat_result, version: tuple[int, int]) -> bool:
    """Whether a file was written in place since its :func:`_version` was taken."""
    return _version(st) != version


def _rewritten(what: str) -> OSError:
    """The error that ends a body whose file was rewritten in place while being sent: its
    last bytes are never sent, so no client takes a mix of two versions for a whole body."""
    return OSError(errno.EIO, "File rewritten while being sent", what)


def _shrank(what: str) -> OSError:
    """The error that ends a body whose file was truncated in place while being sent: the
    server drops the connection rather than send fewer bytes than Content-Length says."""
    return OSError(errno.EIO, "File truncated while being sent", what)


class _Body:
    """An iterable body that closes what it reads from when the server is done."""

    __slots__ = ("_chunks", "_closer")

    def __init__(self, chunks: Iterator[bytes], closer: Any = None):
        self._chunks = chunks
        self._closer = closer

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        closer, self._closer = self._closer, None
        if closer is not None:
            closer()  # once only: a second os.close() could close a descriptor reused since


_ENVIRON_KEYS = {
    name: "HTTP_" + name.upper().replace("-", "_")
    for name in ("Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since")
}
_ENVIRON_ITEMS = tuple(_ENVIRON_KEYS.items())


class EnvironHeaders:
    """Request headers read from a WSGI environ: ``get('If-None-Match')``."""

    __slots__ = ("environ",)

    def __init__(self, environ: Mapping[str, Any]):
        self.environ = environ

    def get(self, name: str, default: str | None = None) -> str | None:
        try:
            key = _ENVIRON_KEYS[name]
        except KeyError:
            key = "HTTP_" + name.upper().replace("-", "_")
        return self.environ.get(key, default)

    def fields(self) -> dict[str, str]:
        """The range and conditional fields the request has, by the names the responder
        reads (``'If-None-Match'``): a plain dict, whose ``get`` is no Python call."""
        environ = self.environ
        return {name: value for name, key in _ENVIRON_ITEMS if (value := environ.get(key)) is not None}


_WANTED = frozenset({*(name.lower() for name in _ENVIRON_KEYS), "accept"})


class _LowerHeaders:
    """The request headers the responder reads, from any mapping, by lower-case name."""

    __slots__ = ("values",)

    def __init__(self, headers: Mapping[Any, Any]):
        values = {}
        for key, value in headers.items():
            if isinstance(key, (bytes, bytearray)):
                key = key.decode("latin-1")  # ASGI's shape: names and values as bytes
            if not isinstance(key, str) or (key := key.lower()) not in _WANTED:
                continue
            if isinstance(value, (bytes, bytearray)):
                value = value.decode("latin-1")
            if isinstance(value, str):
                values[key] = value
        self.values = values

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.values.get(name.lower(), default)


_NO_HEADERS = _LowerHeaders({})


def request_headers(headers: Any) -> Any:
    """Something whose ``get(name)`` finds a request header whatever the case of its name:
    a plain dict (``{'range': ...}``) or any mapping is read once into lower-case names;
    :class:`EnvironHeaders`, werkzeug's and Django's headers already look up that way."""
    if isinstance(headers, EnvironHeaders):
        return headers
    if not headers:
        return _NO_HEADERS  # None, or an empty mapping: nothing to look up
    if isinstance(headers, Mapping):
        return _LowerHeaders(headers)
    return headers


def status_for(exc: BaseException) -> int:
    """The status that refuses a request whose file could not be opened: 404 for what is
    not there (a missing file, a path through a file, a name too long), 503 for what may
    work later (a service unreachable, no descriptor to spare), 403 for the rest."""
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return 404
    if isinstance(exc, ConnectionError):
        return 503
    if isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE):
        return 503
    if isinstance(exc, OSError) and exc.errno in (errno.ENAMETOOLONG, errno.ELOOP):
        return 404
    return 403  # a folder, a FIFO or device, no permission, a link leaving the root


def content_type_for(mimetype: str) -> str:
    """The Content-Type for a media type: text gets ``charset=utf-8`` unless it has parameters."""
    if ";" in mimetype:
        return mimetype  # the caller's own parameters (a charset of its choosing)
    if mimetype.startswith("text/") or mimetype in _TEXTUAL:
        return f"{mimetype}; charset=utf-8"
    return mimetype


def respond(
    node: StorageNode,
    method: str,
    headers: Any,
    options: ServeOptions | None = None,
    **overrides: Any,
) -> Response:
    """Build the response to a ``method`` request for ``node`` with request ``headers``.

    ``headers`` is anything with ``get(name)`` or a mapping, looked up case-insensitively
    (a plain dict, Django's ``request.headers``, Flask's ``request.headers``,
    :class:`EnvironHeaders`). ``options`` (a :class:`ServeOptions`) and keyword overrides
    of it say how to answer; front ends build the options once at start-up.
    """
    if overrides:
        options = ServeOptions.build(options, **overrides)
    elif options is None:
        options = _DEFAULTS
    if method not in ("GET", "HEAD"):
        return empty_response(405, [NOT_ALLOWED])
    # Read by the responder's own names only: from an environ, a dict of the fields it has.
    headers = headers.fields() if type(headers) is EnvironHeaders else request_headers(headers)
    backend = node.mount.backend
    shared = None
    try:
        if "local_files" in backend.capabilities:
            # A local file: headers and body come from one open file, so a new version
            # renamed into place meanwhile cannot pair one version's ETag with other bytes.
            shared = backend.open_current(node.path)
            st = shared.stat
            info = {
                "type": "file",
                "size": st.st_size,
                "mtime": st.st_mtime,
                "mtime_ns": st.st_mtime_ns,
                "inode": st.st_ino,
            }
        else:
            info = backend.info(node.path)
    except Exception as exc:
        return _refusal(node, exc)
    if info["type"] != "file":
        return empty_response(403)
    return _respond(node, method, headers, info, shared, options)


def _refusal(node: StorageNode, exc: Exception) -> Response:
    """The answer to a request whose file could not be opened: the failure gets its
    mount-and-path class (as everywhere, through :class:`ErrorContext`), then its status.
    A bug is raised, never turned into a refusal."""
    try:
        with ErrorContext(node.mount_name, node.path):
            raise exc
    except (StorageError, OSError) as ours:
        return empty_response(status_for(ours))
    finally:
        del exc  # its traceback now holds this frame: no cycle keeping an open file alive


def _respond(
    node: StorageNode,
    method: str,
    headers: Any,
    info: dict[str, Any],
    shared: SharedFile | None,
    options: ServeOptions,
) -> Response:
    size: int = info["size"]
    rep = _representation(node, info, options)
    now = time.time()
    if rep.last_modified is not None and rep.last_modified > now:
        # "An origin server with a clock MUST NOT generate a Last-Modified date that is
        # later than the server's time of message origination" (section 8.8.2.1).
        rep = _Representation(rep.tag, int(now), rep.content_type, rep.cache_control, options.nosniff)
    tag, last_modified = rep.tag, rep.last_modified

    if options.conditional:
        status = evaluate_preconditions(method, headers, tag, last_modified)
        if status == 304:
            # Section 15.4.5: a 304 carries the fields a 200 would (ETag, Cache-Control...);
            # Last-Modified only guides caches when there is no ETag.
            not_modified = [("ETag", tag)] if tag else rep.validators
            return Response(304, [*not_modified, rep.cache_control])
        if status == 412:
            return empty_response(412)

    common = rep.common
    as_attachment = options.as_attachment
    if rep.active and options.active_content != "inline":
        if options.active_content == "attachment":
            as_attachment = True
        else:
            common = [*common, ("Content-Security-Policy", SANDBOX_POLICY)]
    if as_attachment or options.download_name:
        name = options.download_name or node.basename
        disposition = content_disposition("attachment" if as_attachment else "inline", name)
        common = [*common, ("Content-Disposition", disposition)]
    ctype = rep.content_type

    ranges = None
    if method == "GET" and options.conditional:
        ranges = parse_range(headers.get("Range"), size)
        if_range = headers.get("If-Range")
        if ranges is not None and if_range is not None and not _if_range_holds(if_range, tag, last_modified):
            ranges = None
    if ranges is not None:
        if not ranges:
            return empty_response(416, [("Content-Range", f"bytes */{size}"), ("Accept-Ranges", "bytes")])
        several = len(ranges) > 1  # one range is clipped to the file already
        if len(ranges) > options.max_ranges or (several and sum(stop - start for start, stop in ranges) > size):
            ranges = None  # too many, or overlapping past the file's size: send it whole
        elif several:
            ranges = coalesce(ranges)

    if ranges is None:
        head = [("Content-Type", ctype), ("Content-Length", str(size)), *common]
        if method == "HEAD":
            return Response(200, head)
        return _body_response(node, info, shared, 200, head, 0, size)

    if len(ranges) == 1:
        start, stop = ranges[0]
        head = [
            ("Content-Type", ctype),
            ("Content-Length", str(stop - start)),
            ("Content-Range", content_range(start, stop, size)),
            *common,
        ]
        return _body_response(node, info, shared, 206, head, start, stop)

    boundary = os.urandom(12).hex()
    parts = [
        (f"--{boundary}\r\nContent-Type: {ctype}\r\nContent-Range: {content_range(a, b, size)}\r\n\r\n".encode(), a, b)
        for a, b in ranges
    ]
    closing = f"\r\n--{boundary}--\r\n".encode()
    length = sum(len(h) + (b - a) for h, a, b in parts) + 2 * (len(parts) - 1) + len(closing)
    head = [
        ("Content-Type", f"multipart/byteranges; boundary={boundary}"),
        ("Content-Length", str(length)),
        *common,
    ]
    read = _file_reader(shared) if shared is not None else _backend_reader(node, info.get("etag"))
    return Response(206, head, _Body(_multipart(read, parts, closing)))


class _Representation:
    """The header values of one version of a file, computed once and reused."""

    __slots__ = ("tag", "last_modified", "validators", "content_type", "cache_control", "common", "active")

    def __init__(
        self,
        tag: str | None,
        last_modified: int | None,
        content_type: str,
        cache_control: tuple[str, str],
        nosniff: bool = True,
    ):
        self.tag = tag
        self.last_modified = last_modified
        self.validators: list[tuple[str, str]] = []
        if tag:
            self.validators.append(("ETag", tag))
        if last_modified is not None:
            self.validators.append(("Last-Modified", http_date(last_modified)))
        self.content_type = content_type
        self.cache_control = cache_control
        media_type = content_type.partition(";")[0].strip().lower()
        #: Whether a browser would render it as a page able to run scripts (HTML, SVG, XML).
        self.active = media_type in ACTIVE_TYPES or media_type.endswith("+xml")
        #: Sent with every 200 and 206: the validators, caching and the fixed fields.
        self.common = [("Accept-Ranges", "bytes"), *self.validators, cache_control]
        if nosniff:
            self.common.append(("X-Content-Type-Options", "nosniff"))


#: Representations kept per mount (on ``Mount.serving_cache``): whitenoise precomputes
#: these at startup; we keep them fresh by keying them on the stat we take anyway.
REPRESENTATIONS_MAX = 4096


def _representation(node: StorageNode, info: dict[str, Any], options: ServeOptions) -> _Representation:
    key = (
        node.path,
        info["size"],
        info.get("mtime_ns", info.get("mtime")),
        info.get("inode"),
        info.get("etag"),
        options.token,
    )
    cache = node.mount.serving_cache
    cached = cache.get(key)
    if cached is not None:
        return cached
    mtime = info.get("mtime") if options.last_modified is None else options.last_modified
    rep = _Representation(
        _tag(node, info, options.etag),
        int(mtime) if mtime is not None else None,
        content_type_for(options.mimetype or node.mimetype),
        _cache_control(options.max_age, options.immutable, options.private),
        options.nosniff,
    )
    if len(cache) >= REPRESENTATIONS_MAX:
        cache.clear()  # simple and bounded; refilled by the next requests
    cache[key] = rep
    return rep


def _tag(node: StorageNode, info: dict[str, Any], etag: bool | str) -> str | None:
    """The ETag header's value: the caller's own string, the file's, or none."""
    if isinstance(etag, str):
        return quote_etag(etag)
    return quote_etag(node.etag_for(info), weak=bool(info.get("etag_weak"))) if etag else None


def _cache_control(max_age: int | None, immutable: bool, private: bool = False) -> tuple[str, str]:
    if max_age is None or max_age <= 0:
        # Revalidate on each use: cheap with ETag/Last-Modified, and never stale.
        return ("Cache-Control", "private, no-cache" if private else "no-cache")
    scope = "private" if private else "public"
    return ("Cache-Control", f"{scope}, max-age={int(max_age)}{', immutable' if immutable else ''}")


def evaluate_preconditions(method: str, headers: Any, tag: str | None, last_modified: int | None) -> int | None:
    """RFC 9110 section 13.2.2: 412, 304 or None (go on), evaluating in the RFC's order."""
    if_match = headers.get("If-Match")
    if if_match is not None:
        # Step 1. "An origin server MUST use the strong comparison function when comparing
        # entity tags for If-Match" (section 13.1.1). The representation exists, so * holds.
        tags = parse_etags(if_match)
        if tags is None or not (tags.star or (tag is not None and tags.contains_strong(tag))):
            return 412
    elif (value := headers.get("If-Unmodified-Since")) is not None:
        # Step 2: If-Unmodified-Since only when If-Match is absent.
        since = parse_http_date(value)
        if since is not None and last_modified is not None and last_modified > since:
            return 412
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        # Step 3. "A recipient MUST use the weak comparison function when comparing
        # entity tags for If-None-Match" (section 13.1.2).
        tags = parse_etags(if_none_match)
        if tags is not None and (tags.star or (tag is not None and tags.contains_weak(tag))):
            return 304 if method in ("GET", "HEAD") else 412
    elif (value := headers.get("If-Modified-Since")) is not None:
        # Step 4: If-Modified-Since only for GET/HEAD and without If-None-Match.
        since = parse_http_date(value)
        if since is not None and last_modified is not None and last_modified <= since:
            return 304
    return None


def _if_range_holds(value: str | None, tag: str | None, last_modified: int | None) -> bool:
    """Section 13.1.5: a Range applies only if If-Range (when present) still matches."""
    if value is None:
        return True
    value = value.strip()
    if value.startswith('"') or value.startswith("W/"):
        # "A client MUST NOT generate an If-Range header field containing an entity tag
        # that is marked as weak"; a server compares strongly, so a weak one never matches.
        return tag is not None and not tag.startswith("W/") and value == tag
    since = parse_http_date(value)
    # A date matches only if it is exactly the Last-Modified (section 13.1.5).
    return since is not None and last_modified is not None and int(since) == last_modified


def _body_response(
    node: StorageNode,
    info: dict[str, Any],
    shared: SharedFile | None,
    status: int,
    head: list[tuple[str, str]],
    start: int,
    stop: int,
) -> Response:
    if shared is not None:
        if stop - start <= SMALL_BODY:
            # One read, right after the stat: too short a window to check for a rewrite.
            data = os.pread(shared.fd, stop - start, start)
            if len(data) != stop - start:
                return empty_response(503)  # truncated in place since its stat: ask again
            return Response(status, head, [data])
        try:
            file = FileSlice(shared.reopen(), start, stop, _version(shared.stat))
        except OSError:  # no descriptor to spare for sendfile: read from the shared one
            return Response(status, head, _Body(_file_reader(shared)(start, stop)))
        return Response(status, head, _Body(iter(file), file.close), file)
    # The validator sent in the headers pins the bytes to that version where the service can.
    return Response(status, head, _Body(node.backend.iter_range(node.path, start, stop, etag=info.get("etag"))))


def _file_reader(shared: SharedFile) -> Callable[[int, int], Iterator[bytes]]:
    """Chunks of an open local file between two offsets."""

    version = _version(shared.stat)

    def read(start: int, stop: int) -> Iterator[bytes]:
        while start < stop:
            chunk = os.pread(shared.fd, min(CHUNK_SIZE, stop - start), start)
            if not chunk:
                raise _shrank(shared.path)
            start += len(chunk)
            if start >= stop and _changed(os.fstat(shared.fd), version):
                raise _rewritten(shared.path)
            yield chunk

    return read


def _backend_reader(node: StorageNode, etag: str | None) -> Callable[[int, int], Iterator[bytes]]:
    """Chunks of a remote file between two offsets: one ranged read each."""

    def read(start: int, stop: int) -> Iterator[bytes]:
        return node.backend.iter_range(node.path, start, stop, etag=etag)

    return read


def _multipart(
    read: Callable[[int, int], Iterator[bytes]], parts: list[tuple[bytes, int, int]], closing: bytes
) -> Iterator[bytes]:
    for index, (head, start, stop) in enumerate(parts):
        yield head if index == 0 else b"\r\n" + head
        yield from read(start, stop)
    yield closing


def serve(
    node: StorageNode,
    environ: Mapping[str, Any],
    start_response: Any,
    options: ServeOptions | None = None,
    **overrides: Any,
) -> Iterable[bytes]:
    """Answer a WSGI request for ``node``; returns the WSGI body iterable."""
    response = respond(node, environ.get("REQUEST_METHOD", "GET"), EnvironHeaders(environ), options, **overrides)
    return response(environ, start_response)
