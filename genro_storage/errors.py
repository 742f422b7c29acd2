"""The exceptions genro-storage raises.

Every class subclasses :class:`StorageError` and also the builtin exception users
already catch, so ``except FileNotFoundError`` keeps working::

    StorageError
    ├── StorageConfigError          (ValueError)          bad mount configuration
    ├── StoragePathError            (ValueError)          unsafe or malformed path
    ├── MountNotFoundError          (KeyError)            no mount of that name
    ├── UnsupportedOperationError   (NotImplementedError) the backend cannot do this
    ├── CommandError                (CalledProcessError)  node.call(): the program failed
    └── StorageOSError              (OSError)             errors on a file, with mount and path
        ├── StorageNotFoundError       (FileNotFoundError)
        ├── StorageExistsError         (FileExistsError)
        ├── StoragePermissionError     (PermissionError)
        ├── StorageIsADirectoryError   (IsADirectoryError)
        └── StorageNotADirectoryError  (NotADirectoryError)

Context travels on the exception: ``exc.mount`` and ``exc.path`` (and ``exc.key`` on
configuration errors), attached in one place: ``with ErrorContext(mount, path):`` around
backend calls (the node, the transfer engine and the HTTP responder all use it), which
hands what escapes to :func:`translate_exception`.
"""

from __future__ import annotations

import errno
import os
import subprocess
from typing import NoReturn

__all__ = [
    "StorageError",
    "StorageConfigError",
    "StoragePathError",
    "MountNotFoundError",
    "UnsupportedOperationError",
    "StorageOSError",
    "StorageConnectionError",
    "StorageNotFoundError",
    "StorageExistsError",
    "StoragePermissionError",
    "StorageIsADirectoryError",
    "StorageNotADirectoryError",
    "CommandError",
    "ErrorContext",
    "translate_exception",
]


class StorageError(Exception):
    """Base class of every error genro-storage raises."""

    mount: str | None = None
    path: str | None = None


class StorageConfigError(StorageError, ValueError):
    """A mount's configuration is invalid; the message names the mount and the key."""

    def __init__(self, message: str, *, mount: str | None = None, key: str | None = None):
        where = []
        if mount is not None:
            where.append(f"mount {mount!r}")
        if key is not None:
            where.append(f"key {key!r}")
        prefix = f"{', '.join(where)}: " if where else ""
        super().__init__(prefix + message)
        self.mount = mount
        self.key = key


class StoragePathError(StorageError, ValueError):
    """A path is unsafe or malformed (``..``, absolute, NUL, backslash, empty segment)."""

    def __init__(self, message: str, *, mount: str | None = None, path: str | None = None):
        where = f"{mount}:{path}" if mount is not None else path
        super().__init__(f"{message}: {where!r}")
        self.mount = mount
        self.path = path


class MountNotFoundError(StorageError, KeyError):
    """No mount of that name is configured on this manager."""

    def __init__(self, mount: str, known: list[str] | tuple[str, ...] = ()):
        hint = f" (configured: {', '.join(sorted(known))})" if known else " (no mounts configured)"
        super().__init__(f"no mount named {mount!r}{hint}")
        self.mount = mount

    def __str__(self) -> str:
        return str(self.args[0])


class UnsupportedOperationError(StorageError, NotImplementedError):
    """The mount's backend cannot perform this operation (say, ``mkdir`` on base64)."""

    def __init__(self, feature: str, *, mount: str | None = None, path: str | None = None):
        where = f" (at {mount}:{path})" if path else ""
        super().__init__(f"mount {mount!r} does not support {feature}{where}")
        self.mount = mount
        self.path = path
        self.feature = feature


class StorageOSError(StorageError, OSError):
    """An operating-system style error on one file, carrying ``mount`` and ``path``.

    ``filename`` is ``'mount:path'``, so the standard ``OSError`` message names both.
    """

    default_errno = errno.EIO

    def __init__(self, mount: str, path: str, strerror: str | None = None, err: int | None = None):
        err = self.default_errno if err is None else err
        super().__init__(err, strerror or os.strerror(err), f"{mount}:{path}")
        self.mount = mount
        self.path = path


class StorageConnectionError(StorageOSError, ConnectionError):
    """The service behind a mount could not be reached (or dropped the connection)."""

    default_errno = errno.ECONNREFUSED


class StorageNotFoundError(StorageOSError, FileNotFoundError):
    """The file or folder does not exist."""

    default_errno = errno.ENOENT


class StorageExistsError(StorageOSError, FileExistsError):
    """The file or folder already exists (``mkdir(exist_ok=False)``)."""

    default_errno = errno.EEXIST


class StoragePermissionError(StorageOSError, PermissionError):
    """The mount's permissions, or the backend, refuse the operation."""

    default_errno = errno.EACCES


class StorageIsADirectoryError(StorageOSError, IsADirectoryError):
    """A file operation was asked of a folder."""

    default_errno = errno.EISDIR


class StorageNotADirectoryError(StorageOSError, NotADirectoryError):
    """A folder operation was asked of a file."""

    default_errno = errno.ENOTDIR


class CommandError(StorageError, subprocess.CalledProcessError):
    """An external program run by :meth:`StorageNode.call` exited with an error.

    ``returncode``, ``cmd``, ``stdout`` and ``stderr`` are those of the run; the message
    ends with (the tail of) the program's stderr.
    """

    def __str__(self) -> str:
        stderr = self.stderr.decode(errors="replace") if isinstance(self.stderr, bytes) else (self.stderr or "")
        tail = stderr.strip()[-2000:]
        return f"{super().__str__()}{': ' + tail if tail else ''}"


_TRANSLATIONS: tuple[tuple[type[OSError], type[StorageOSError]], ...] = (
    (FileNotFoundError, StorageNotFoundError),
    (FileExistsError, StorageExistsError),
    (PermissionError, StoragePermissionError),
    (IsADirectoryError, StorageIsADirectoryError),
    (NotADirectoryError, StorageNotADirectoryError),
    (ConnectionError, StorageConnectionError),
)


#: errno values of a service that cannot be reached, or that dropped the connection.
_CONNECTION_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ETIMEDOUT,
        errno.EPIPE,
    }
)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from (a client wraps the socket's error)."""
    found = [exc]
    while len(found) < 8:
        link = found[-1]
        # s3transfer's RetriesExceededError keeps the failure it gave up on as last_exception.
        inner = link.__cause__ or link.__context__ or getattr(link, "last_exception", None)
        if not isinstance(inner, BaseException) or inner in found:
            break
        found.append(inner)
    return found


#: Words in the class names clients give a dropped or unreachable service: botocore's
#: EndpointConnectionError, ResponseStreamingError and ReadTimeoutError, urllib3's
#: ProtocolError, http.client's IncompleteRead and RemoteDisconnected, aiohttp's
#: ServerDisconnectedError and ClientPayloadError (a body cut short).
_CONNECTION_WORDS = ("connect", "timeout", "incompleteread", "protocolerror", "streamingerror", "payloaderror")


def _is_connection_failure(exc: BaseException) -> bool:
    for link in _chain(exc):
        if isinstance(link, (ConnectionError, TimeoutError)):
            return True
        if isinstance(link, OSError) and link.errno in _CONNECTION_ERRNOS:
            return True
        name = type(link).__name__.lower()
        if any(word in name for word in _CONNECTION_WORDS):
            return True
    return False


def _http_status(exc: BaseException) -> int | None:
    """The HTTP status a client exception carries (botocore, azure-core, gcsfs), if any."""
    for link in _chain(exc):
        response = getattr(link, "response", None)
        if isinstance(response, dict):  # botocore's ClientError
            code = str(response.get("Error", {}).get("Code", ""))
            if code in ("AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                return 403
            if code in ("NoSuchKey", "NoSuchBucket", "NotFound"):
                return 404
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        else:
            status = getattr(link, "status_code", None) or getattr(link, "code", None)
        if isinstance(status, int):
            return status
    return None


_STATUS_TRANSLATIONS: dict[int, type[StorageOSError]] = {
    401: StoragePermissionError,
    403: StoragePermissionError,
    404: StorageNotFoundError,
}


def _reason(exc: OSError) -> str | None:
    """The message of an OSError raised without an errno, unless it is only the file's name
    (fsspec's ``FileNotFoundError(path)``): the error's own kind then says it better."""
    text = str(exc).strip()
    return text if text and any(c.isspace() for c in text) else None


def translate_oserror(exc: OSError, mount: str, path: str) -> StorageOSError:
    """Return our exception for a builtin ``OSError`` raised by a backend on ``mount:path``."""
    for builtin, ours in _TRANSLATIONS:
        if isinstance(exc, builtin):
            return ours(mount, path, exc.strerror if exc.errno else _reason(exc))
    if exc.errno is not None and exc.errno not in _CONNECTION_ERRNOS:
        return StorageOSError(mount, path, exc.strerror or str(exc), exc.errno)  # ENOSPC, EIO...: the disk's own
    if _is_connection_failure(exc):
        return StorageConnectionError(mount, path, exc.strerror or str(exc) or type(exc).__name__)
    return StorageOSError(mount, path, exc.strerror or str(exc) or type(exc).__name__, exc.errno)


#: Top-level packages of the clients fsspec backends use: their exceptions are service
#: failures (unreachable endpoint, throttling, refused credentials), not bugs, and get a
#: mount and a path.
_CLIENT_PACKAGES = frozenset(
    {
        "adlfs",
        "aiobotocore",
        "aiohttp",
        "azure",
        "boto3",
        "botocore",
        "gcsfs",
        "google",
        "http",  # http.client: IncompleteRead, RemoteDisconnected under the clients above
        "requests",
        "s3fs",
        "s3transfer",
        "urllib3",
    }
)


def translate_exception(exc: BaseException, mount: str, path: str) -> StorageError | None:
    """Our exception for ``exc`` raised by a backend on ``mount:path``; None for a bug.

    OS errors keep their kind; a client library's exception becomes
    :class:`StorageConnectionError` when the service could not be reached (or dropped the
    connection, or timed out), the permission or not-found error its HTTP status says, or
    else :class:`StorageOSError`, with the client's message.
    """
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, OSError):
        return translate_oserror(exc, mount, path)
    if type(exc).__module__.partition(".")[0] not in _CLIENT_PACKAGES:
        return None
    message = f"{type(exc).__name__}: {exc}"
    if _is_connection_failure(exc):
        return StorageConnectionError(mount, path, message)
    return _STATUS_TRANSLATIONS.get(_http_status(exc) or 0, StorageOSError)(mount, path, message)


class ErrorContext:
    """``with ErrorContext(mount, path):`` makes what the block raises our error naming
    ``mount:path``: OS and service failures get their class (:func:`translate_exception`),
    chained ``from`` the original; our own errors and bugs pass through untouched.

    The one place context is attached: nodes, the transfer engine and the responder wrap
    their backend calls in it. Code on a hot path (a node's ``exists``) may instead catch
    and hand the exception to :meth:`reraise`, which does the same and costs nothing
    until something fails (a ``with`` block costs about 0.3 µs).
    """

    __slots__ = ("mount", "path")

    def __init__(self, mount: str, path: str):
        self.mount = mount
        self.path = path

    def __enter__(self) -> ErrorContext:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if exc is not None and isinstance(exc, Exception) and not isinstance(exc, StorageError):
            self.reraise(exc)

    def reraise(self, exc: BaseException) -> NoReturn:
        """Raise our error for ``exc`` (from it), or ``exc`` itself if it is ours or a bug."""
        translated = None if isinstance(exc, StorageError) else translate_exception(exc, self.mount, self.path)
        try:
            if translated is None:
                raise exc
            raise translated from exc
        finally:
            # This frame would hold the exceptions that hold it (through their
            # tracebacks): a cycle keeping open files alive until the next collection.
            del translated, exc
