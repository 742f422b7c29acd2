"""The backend contract: a few primitives every backend implements, the rest derived.

A backend receives canonical paths only (relative to its root, ``/``-separated, ``''``
for the root, already checked by :mod:`genro_storage.paths`) and raises the builtin
``OSError`` subclasses (``FileNotFoundError``, ``IsADirectoryError``...); the node layer
turns them into :mod:`genro_storage.errors` classes naming the mount and path.

Subclasses must implement :meth:`info`, :meth:`listdir`, :meth:`mkdir`, :meth:`delete`,
and either :meth:`open_read` / :meth:`open_write` or :meth:`read_bytes` /
:meth:`write_bytes` (each pair has a default built on the other). Everything else has a
default built on those and may be overridden by a shortcut (a server-side copy, a rename).
"""

from __future__ import annotations

import difflib
import errno
import hashlib
import inspect
import io
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import IO, Any, ClassVar

from ..errors import ErrorContext, StorageConfigError, UnsupportedOperationError

__all__ = ["StorageBackend", "AtomicWriter", "ContextReader", "CHUNK_SIZE", "CAPABILITIES"]

#: Every capability a backend may declare, and what declaring it promises.
CAPABILITIES: Mapping[str, str] = MappingProxyType(
    {
        "metadata": "get_metadata() / set_metadata(): user metadata, Content-Type and Cache-Control",
        "versions": "versions() / open_version(): earlier versions of a file",
        "presign": "presign(path, expires_in): a URL the service itself signs",
        "presign_response": "presign(path, expires_in, response={'content-type': ..., 'content-disposition': ...})",
        "server_copy": "copy() runs inside the service, no bytes through this process",
        "rename": "move() is a rename, atomic within the backend",
        "ranged_reads": "iter_range() reads only the bytes asked for",
        "local_files": "files are OS files: ospath(path) and open_current(path)",
        "fsspec": "an fsspec filesystem underneath: .fs and fspath(path)",
        "upload_file": "upload_file(local_path, path, workers, progress): the service's own upload",
        "download_fileobj": "download_fileobj(path, fileobj, workers): the service's own download",
        "exclusive_create": "open_write(path, exclusive=True): publish only if no file is there, atomically",
    }
)

#: Bytes moved per read when streaming: large enough to amortise per-call cost on
#: object stores, small enough to keep copies and hashes O(1) in memory.
CHUNK_SIZE = 1024 * 1024


class AtomicWriter(io.BufferedIOBase):
    """A binary write handle whose data appears at its destination only on :meth:`close`.

    ``commit`` publishes what was written (rename a temp file, complete an upload),
    ``discard`` throws it away. Leaving a ``with`` block by an exception discards, so a
    failed write never replaces the previous content with a half file.
    """

    def __init__(self, raw: IO[bytes], commit: Callable[[], None], discard: Callable[[], None]):
        self._raw = raw
        self._commit = commit
        self._discard = discard
        self._done = False
        #: Where failures of writing and publishing are attached (set by the node that
        #: opened it): a full disk names the mount and path, not a temporary file.
        self.context: ErrorContext | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:  # type: ignore[override]
        if self._done:
            raise ValueError("write to a closed file")
        context = self.context
        if context is None:
            self._raw.write(data)
        else:
            with context:
                self._raw.write(data)
        return len(memoryview(data))

    def tell(self) -> int:
        return self._raw.tell()

    def flush(self) -> None:
        if not self._done:
            self._raw.flush()

    @property
    def closed(self) -> bool:  # type: ignore[override]
        return self._done

    def close(self) -> None:
        """Publish the written data at the destination name."""
        if self._done:
            return
        self._done = True
        try:
            if self.context is None:
                self._commit()
            else:
                with self.context:
                    self._commit()
        except BaseException:
            self._discard()
            raise

    def discard(self) -> None:
        """Throw the written data away; the destination keeps its previous content."""
        if self._done:
            return
        self._done = True
        self._discard()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()

    def __del__(self) -> None:
        # An abandoned handle was never closed on purpose: keep the old content.
        if not getattr(self, "_done", True):
            self.discard()


class ContextReader(io.BufferedIOBase):
    """A remote backend's read handle whose failures name the mount and path: a read that
    a service cuts short raises :class:`~genro_storage.errors.StorageConnectionError`,
    never the client's own class. Other attributes (``name``, ``details``...) are the
    handle's own. Each call catches and hands over to the context: nothing is paid until
    a read fails."""

    def __init__(self, raw: IO[bytes], context: ErrorContext):
        self._raw = raw
        self.context = context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._raw.seekable()

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._raw.read(-1 if size is None else size)
        except Exception as exc:
            self.context.reraise(exc)

    def read1(self, size: int = -1) -> bytes:
        read1 = getattr(self._raw, "read1", None)  # the raw handle's own type, not a backend's
        try:
            return read1(size) if read1 is not None else self._raw.read(size)
        except Exception as exc:
            self.context.reraise(exc)

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._raw.read(len(memoryview(buffer)))
        except Exception as exc:
            self.context.reraise(exc)
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        try:
            return self._raw.readline(-1 if size is None else size)
        except Exception as exc:
            self.context.reraise(exc)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            line = self._raw.readline()
        except Exception as exc:
            self.context.reraise(exc)
        if not line:
            raise StopIteration
        return line

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return self._raw.seek(offset, whence)
        except Exception as exc:
            self.context.reraise(exc)

    def tell(self) -> int:
        return self._raw.tell()

    def fileno(self) -> int:
        return self._raw.fileno()

    @property
    def closed(self) -> bool:  # type: ignore[override]
        return self._raw.closed

    def close(self) -> None:
        try:
            self._raw.close()
        except Exception as exc:
            self.context.reraise(exc)


class StorageBackend:
    """Base class of every backend; subclass it for a custom one.

    ``__init__`` receives the mount name and the mount's configuration keys as keyword
    arguments; a subclass takes the keys it knows and passes the rest up, where any key
    left over is refused by name (typos must not be dropped silently).
    """

    #: Whether files can be written (False for http and other read-only sources).
    writable: ClassVar[bool] = True
    #: Whether the backend has folders (False for base64, where the path is the data).
    has_folders: ClassVar[bool] = True
    #: Whether ``write_bytes`` may return a new path for the node (base64).
    path_is_data: ClassVar[bool] = False
    #: What this backend can do beyond the primitives, one name per feature (see
    #: :data:`CAPABILITIES`); asked with :meth:`supports`, never by probing for methods.
    #: Asking for a missing user-facing one raises
    #: :class:`~genro_storage.errors.UnsupportedOperationError` naming mount and feature.
    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, mount: str, **options: Any):
        for key in options:
            raise StorageConfigError(
                f"unknown key for a {type(self).__name__} mount{self._hint(key)}", mount=mount, key=key
            )
        self.mount = mount

    @classmethod
    def _hint(cls, key: str) -> str:
        """`` (did you mean 'path'?)`` from the keyword names the class's ``__init__`` takes."""
        names = ["name", "type", "permissions"]
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is not None:
                names += [
                    p.name
                    for p in inspect.signature(init).parameters.values()
                    if p.kind is p.KEYWORD_ONLY
                    or (p.kind is p.POSITIONAL_OR_KEYWORD and p.name not in ("self", "mount"))
                ]
        close = difflib.get_close_matches(key, names, n=1)
        return f" (did you mean {close[0]!r}?)" if close else ""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} mount={self.mount!r}>"

    def supports(self, feature: str) -> bool:
        """Whether this backend declares ``feature`` (a name of :data:`CAPABILITIES`)."""
        if feature not in CAPABILITIES:
            raise ValueError(f"unknown capability {feature!r} (known: {', '.join(sorted(CAPABILITIES))})")
        return feature in self.capabilities

    # -- primitives every backend implements -------------------------------------

    def info(self, path: str) -> dict[str, Any]:
        """Return ``{'type': 'file'|'directory', 'size': int, 'mtime': float|None}``.

        Backends may add ``'etag'`` (an opaque validator) and ``'md5'`` (hex digest) when
        their service provides them for free. Raises ``FileNotFoundError``.
        """
        raise NotImplementedError(f"{type(self).__name__} must provide info()")

    def listdir(self, path: str) -> list[str]:
        """Return the names of the folder's children (not sorted, no ``.`` entries)."""
        raise NotImplementedError(f"{type(self).__name__} must provide listdir()")

    def mkdir(self, path: str) -> None:
        """Create the folder ``path`` and any missing parents; an existing folder is fine."""
        raise NotImplementedError(f"{type(self).__name__} must provide mkdir()")

    def delete(self, path: str) -> None:
        """Delete a file, or a folder with everything under it. Raises ``FileNotFoundError``."""
        raise NotImplementedError(f"{type(self).__name__} must provide delete()")

    def listdir_info(self, path: str) -> dict[str, dict[str, Any]]:
        """The folder's children by name, each with its :meth:`info`. Backends that list
        with details (object stores, ``os.scandir``) override this with one request."""
        base = f"{path}/" if path else ""
        found = {}
        for name in self.listdir(path):
            try:
                found[name] = self.info(base + name)
            except FileNotFoundError:
                continue  # removed since the listing
        return found

    def rmdir(self, path: str) -> None:
        """Remove the folder ``path`` only if it is empty; ``OSError(ENOTEMPTY)`` otherwise.

        Backends override this to make the check and the removal one step (``os.rmdir``),
        or to remove only a folder's marker, so that a file written meanwhile survives.
        """
        if self.listdir(path):
            raise OSError(errno.ENOTEMPTY, "Directory not empty", path)
        self.delete(path)

    def open_read(self, path: str) -> IO[bytes]:
        """Open ``path`` for streaming binary reads."""
        if type(self).read_bytes is StorageBackend.read_bytes:
            raise NotImplementedError(f"{type(self).__name__} must provide open_read() or read_bytes()")
        return io.BytesIO(self.read_bytes(path))

    def open_write(self, path: str, *, exclusive: bool = False) -> AtomicWriter:
        """Open ``path`` for binary writing; the data appears only when the handle closes.

        With ``exclusive`` (backends declaring ``exclusive_create``), the close publishes
        only if no file exists at ``path`` by then, as one atomic step, and raises
        ``FileExistsError`` otherwise: two writers racing for one name never overwrite
        each other.
        """
        if exclusive:
            raise self.unsupported("exclusive create", path)
        if type(self).write_bytes is StorageBackend.write_bytes:
            raise NotImplementedError(f"{type(self).__name__} must provide open_write() or write_bytes()")
        buffer = io.BytesIO()
        return AtomicWriter(buffer, lambda: self.write_bytes(path, buffer.getvalue()), buffer.close)

    # -- derived operations; override by a shortcut -------------------------------

    def read_bytes(self, path: str) -> bytes:
        """Return the whole content of ``path``."""
        with self.open_read(path) as f:
            return f.read()

    def write_bytes(self, path: str, data: bytes) -> str | None:
        """Replace the content of ``path`` with ``data`` atomically.

        Returns a new path when the backend stores data in the path (base64), else None.
        """
        with self.open_write(path) as f:
            f.write(data)
        return None

    def exists(self, path: str) -> bool:
        try:
            self.info(path)
        except FileNotFoundError:
            return False
        return True

    def isfile(self, path: str) -> bool:
        try:
            return self.info(path)["type"] == "file"
        except FileNotFoundError:
            return False

    def isdir(self, path: str) -> bool:
        try:
            return self.info(path)["type"] == "directory"
        except FileNotFoundError:
            return False

    def md5(self, path: str) -> str:
        """Hex MD5 of the content: the service's checksum when it has one, else computed."""
        info = self.info(path)
        if info["type"] != "file":
            raise IsADirectoryError(21, "Is a directory", path)
        known = info.get("md5")
        if known:
            return known
        digest = hashlib.md5(usedforsecurity=False)
        with self.open_read(path) as f:
            while chunk := f.read(CHUNK_SIZE):
                digest.update(chunk)
        return digest.hexdigest()

    def walk_files(self, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield ``(relative path, info)`` for every file under the folder ``path``, and for
        every empty folder (``info['type'] == 'directory'``), so that copies keep them.

        Backends with a recursive listing (object stores) override this with one call.
        """
        stack = [""]
        while stack:
            rel = stack.pop()
            here = f"{path}/{rel}" if path and rel else (path or rel)
            names = self.listdir(here)
            if rel and not names:
                yield rel, {"type": "directory", "size": 0, "mtime": None}
            for name in names:
                child_rel = f"{rel}/{name}" if rel else name
                child = f"{path}/{child_rel}" if path else child_rel
                info = self.info(child)
                if info["type"] == "directory":
                    stack.append(child_rel)
                else:
                    yield child_rel, info

    def iter_range(
        self, path: str, start: int, stop: int, chunk_size: int = CHUNK_SIZE, etag: str | None = None
    ) -> Iterator[bytes]:
        """Yield the bytes ``start`` to ``stop`` (half-open) of ``path`` in bounded chunks.

        Object stores override this to fetch only that byte range from the service and,
        given the ``etag`` the caller saw, to refuse bytes of a newer version.
        """
        with self.open_read(path) as f:
            if start:
                f.seek(start)
            left = stop - start
            while left > 0:
                data = f.read(min(chunk_size, left))
                if not data:
                    return
                left -= len(data)
                yield data

    # -- optional features (see ``capabilities``) --------------------------------------

    def unsupported(self, feature: str, path: str) -> UnsupportedOperationError:
        return UnsupportedOperationError(feature, mount=self.mount, path=path)

    def get_metadata(self, path: str) -> dict[str, str]:
        """The user metadata stored with the file."""
        raise self.unsupported("metadata", path)

    def set_metadata(
        self, path: str, metadata: dict[str, str | None], content_type: str | None, cache_control: str | None
    ) -> None:
        """Merge ``metadata`` into the file's (a None value removes a key); set the
        Content-Type / Cache-Control the service serves it with, when given."""
        raise self.unsupported("metadata", path)

    def versions(self, path: str) -> list[dict[str, Any]]:
        """The file's versions, newest first: ``version_id``, ``size``, ``mtime``, ``is_latest``."""
        raise self.unsupported("versions", path)

    def open_version(self, path: str, version_id: str) -> IO[bytes]:
        """Open one version of the file for reading."""
        raise self.unsupported("versions", path)

    def presign(self, path: str, expires_in: int) -> str:
        """A URL the service signs, valid ``expires_in`` seconds."""
        raise self.unsupported("presigned URLs", path)

    def copy(self, src: str, dst: str, progress: Callable[[int], None] | None = None) -> None:
        """Copy a file within this backend (override with a server-side copy).

        ``progress``, when given, is called with each number of bytes copied; a copy the
        service makes by itself may never call it.
        """
        with self.open_read(src) as reader, self.open_write(dst) as writer:
            while chunk := reader.read(CHUNK_SIZE):
                writer.write(chunk)
                if progress is not None:
                    progress(len(chunk))

    def move(self, src: str, dst: str) -> None:
        """Move a file within this backend (override with a rename); the copy completes first."""
        self.copy(src, dst)
        self.delete(src)
