"""StorageNode: a file or folder on a mount, with a pathlib-like API."""

from __future__ import annotations

import hashlib
import io
import mimetypes
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import IO, TYPE_CHECKING, Any

from .backends.base import CHUNK_SIZE, AtomicWriter, ContextReader
from .errors import (
    CommandError,
    ErrorContext,
    StorageExistsError,
    StorageIsADirectoryError,
    StorageNotFoundError,
    StoragePermissionError,
    UnsupportedOperationError,
)
from .paths import join_path
from .signing import lifetime
from .transfer import SkipRule, TransferOptions, TransferProgress, TransferReport, transfer

if TYPE_CHECKING:
    from .backends.base import StorageBackend
    from .manager import Mount, StorageManager

__all__ = ["StorageNode", "CommandError", "guess_mimetype"]

_READ_MODES = {"r": False, "rt": False, "rb": True}
_WRITE_MODES = {"w": False, "wt": False, "wb": True, "x": False, "xt": False, "xb": True}

#: The media type of a compressed file, by the encoding ``mimetypes`` finds in its name.
_ENCODED_TYPES = {
    "br": "application/x-brotli",
    "bzip2": "application/x-bzip2",
    "compress": "application/x-compress",
    "gzip": "application/gzip",
    "xz": "application/x-xz",
}


def guess_mimetype(name: str) -> str | None:
    """The media type of a file called ``name``, None if the name tells none. A compressed
    name is its archive's type: 'notes.txt.gz' is a gzip file, not text, for that is what a
    browser receives."""
    mimetype, encoding = mimetypes.guess_type(name, strict=False)
    if encoding:
        return _ENCODED_TYPES.get(encoding, "application/octet-stream")
    return mimetype


#: Read handles that no service stands behind: returned without a wrapper.
_PLAIN_READERS = (io.BufferedReader, io.FileIO, io.BytesIO)

#: Longest name (in bytes) a temporary local copy keeps: most file systems allow 255.
_LOCAL_NAME_MAX = 200


def _stamp(path: str) -> tuple[int, int, int] | None:
    """What changes when a program writes ``path`` (in place, or by renaming over it)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


class _TextWriter(io.TextIOWrapper):
    """Text on top of an :class:`AtomicWriter`: leaving ``with`` by an exception discards."""

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.buffer.discard()  # type: ignore[attr-defined]
        self.close()

    def __del__(self) -> None:
        # Never closed on purpose (IOBase's finalizer would close, and so publish, it).
        if not self.buffer.closed:
            self.buffer.discard()  # type: ignore[attr-defined]


class StorageNode:
    """A path on a mount: ``storage.node('uploads:docs/report.pdf')``.

    A node is a cheap value (mount + path); nothing is read until a property or method
    asks. Metadata properties (``exists``, ``size``, ``mtime``...) query the backend on
    each access, so they are never stale. Errors name the mount and path.
    """

    __slots__ = ("_manager", "_mount", "_path")

    def __init__(self, manager: StorageManager, mount: Mount, path: str):
        self._manager = manager
        self._mount = mount
        self._path = path

    def _make(self, path: str) -> StorageNode:
        node = StorageNode.__new__(StorageNode)
        node._manager = self._manager
        node._mount = self._mount
        node._path = path
        return node

    def _context(self) -> ErrorContext:
        """Wraps this node's backend calls: what fails there names this mount and path."""
        return ErrorContext(self._mount.name, self._path)

    # -- identity ------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"StorageNode({self.fullpath!r})"

    def __str__(self) -> str:
        return self.fullpath

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StorageNode):
            return NotImplemented
        return self._mount is other._mount and self._path == other._path

    def __hash__(self) -> int:
        return hash((self._mount.name, self._path))

    def __truediv__(self, name: str) -> StorageNode:
        return self.child(name)

    @property
    def path(self) -> str:
        """The path inside the mount (``''`` for the mount's root)."""
        return self._path

    @property
    def mount_name(self) -> str:
        return self._mount.name

    @property
    def mount(self) -> Mount:
        """The :class:`~genro_storage.manager.Mount` this node lies on (name, backend, permissions)."""
        return self._mount

    @property
    def fullpath(self) -> str:
        """``'mount:path'``: what :meth:`StorageManager.node` takes back."""
        return f"{self._mount.name}:{self._path}"

    @property
    def backend(self) -> StorageBackend:
        return self._mount.backend

    @property
    def manager(self) -> StorageManager:
        return self._manager

    @property
    def basename(self) -> str:
        """The last path segment, ``'report.pdf'``."""
        return self._path.rpartition("/")[2]

    @property
    def stem(self) -> str:
        """The basename without its suffix, ``'report'`` (``'.bashrc'`` keeps its dot)."""
        name = self.basename
        index = name.rfind(".")
        return name[:index] if index > 0 else name

    @property
    def suffix(self) -> str:
        """The last extension with its dot, ``'.pdf'``; ``''`` when there is none."""
        name = self.basename
        index = name.rfind(".")
        return name[index:] if 0 < index < len(name) - 1 else ""

    @property
    def parent(self) -> StorageNode:
        """The folder holding this node; the root is its own parent (as in pathlib)."""
        return self._make(self._path.rpartition("/")[0])

    def file_above(self) -> StorageNode | None:
        """The nearest folder of this node's path that is a file instead (so the path names
        nothing a folder could hold), or None. Asks from the nearest up and stops at the
        first folder that exists: one request where the parent folder is there."""
        node = self
        while "/" in node._path:
            node = node.parent
            if node.isdir:
                return None
            if node.isfile:
                return node
        return None

    def child(self, *parts: str) -> StorageNode:
        """The node at ``parts`` below this one (each part is checked like any path)."""
        return self._make(join_path(self._path, *parts, mount=self._mount.name))

    # -- metadata --------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """The backend's metadata: ``type``, ``size``, ``mtime`` (and ``etag``/``md5`` where known)."""
        try:
            return self._mount.backend.info(self._path)
        except Exception as exc:
            self._context().reraise(exc)

    # The hot properties catch and hand over to the context: free until something fails.

    @property
    def exists(self) -> bool:
        try:
            return self._mount.backend.exists(self._path)
        except Exception as exc:
            self._context().reraise(exc)

    @property
    def isfile(self) -> bool:
        try:
            return self._mount.backend.isfile(self._path)
        except Exception as exc:
            self._context().reraise(exc)

    @property
    def isdir(self) -> bool:
        try:
            return self._mount.backend.isdir(self._path)
        except Exception as exc:
            self._context().reraise(exc)

    @property
    def size(self) -> int:
        """Size in bytes; a folder raises :class:`StorageIsADirectoryError`."""
        info = self.info()
        if info["type"] != "file":
            raise StorageIsADirectoryError(self._mount.name, self._path)
        return info["size"]

    @property
    def mtime(self) -> float | None:
        """Last modification, seconds since the epoch (None where the backend keeps none)."""
        return self.info()["mtime"]

    @property
    def mimetype(self) -> str:
        """The media type guessed from the name; ``application/octet-stream`` if unknown."""
        return guess_mimetype(self.basename) or "application/octet-stream"

    @property
    def md5hash(self) -> str:
        """Hex MD5 of the content: from the service's metadata when it has it, else computed."""
        with self._context():
            return self._mount.backend.md5(self._path)

    @property
    def etag(self) -> str:
        """An opaque validator that changes when the content does, stable across processes.

        The backend's own (S3's ETag) where it has one; else derived from mount, path, size
        and modification time.
        """
        info = self.info()
        if info["type"] != "file":
            raise StorageIsADirectoryError(self._mount.name, self._path)
        return self.etag_for(info)

    def etag_for(self, info: dict[str, Any]) -> str:
        """The :attr:`etag` of this node given its :meth:`info` (saves a second lookup)."""
        if info.get("etag"):
            return info["etag"]
        # The inode changes on every local write (a new file renamed into place), even when
        # the coarse mtime clock does not tick between two writes.
        stamp = f"{info['size']}\0{info.get('mtime_ns', info['mtime'])}\0{info.get('inode')}"
        token = f"{self._mount.name}:{self._path}\0{stamp}"
        return hashlib.blake2b(token.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()

    # -- reading -------------------------------------------------------------------------

    def read_bytes(self, version: str | None = None) -> bytes:
        """The whole content (of ``version``, on backends that keep versions)."""
        if version is not None:
            with self.open("rb", version=version) as f:
                return f.read()
        try:
            return self._mount.backend.read_bytes(self._path)
        except Exception as exc:
            self._context().reraise(exc)

    def read_text(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return self.read_bytes().decode(encoding, errors)

    def read(
        self, mode: str = "r", encoding: str = "utf-8", errors: str = "strict", version: str | None = None
    ) -> str | bytes:
        """The whole content: ``str`` in mode ``'r'``, ``bytes`` in mode ``'rb'``."""
        if mode not in _READ_MODES:
            raise ValueError(f"read() mode must be 'r' or 'rb', not {mode!r}")
        data = self.read_bytes(version)
        return data if _READ_MODES[mode] else data.decode(encoding, errors)

    def open(
        self,
        mode: str = "rb",
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
        version: str | None = None,
    ) -> IO[Any]:
        """Open for streaming: ``'rb'``/``'r'`` read, ``'wb'``/``'w'`` write, ``'xb'``/``'x'``
        create (as the builtin ``open``: ``FileExistsError`` if the file exists).

        A written file appears (replacing the old one) only when the handle is closed;
        leaving a ``with`` block by an exception keeps the previous content. In ``'x'``
        modes the close publishes only if no file has the name by then, in one atomic step
        (an exclusive create locally, a conditional create on S3), so two writers racing
        for one name never overwrite each other; on backends that cannot promise that
        (``'exclusive_create'`` not in :attr:`capabilities`) ``'x'`` is refused.
        """
        if mode in _READ_MODES:
            context = self._context()
            with context:
                if version is not None:
                    handle = self._mount.backend.open_version(self._path, version)
                else:
                    handle = self._mount.backend.open_read(self._path)
            # A local file or an in-memory one is handed as it is (fast line by line, and only
            # the OS can fail it); a service's stream is wrapped so that a dropped connection
            # names mount and path.
            raw = handle if isinstance(handle, _PLAIN_READERS) else ContextReader(handle, context)
            if _READ_MODES[mode]:
                return raw
            return io.TextIOWrapper(raw, encoding=encoding or "utf-8", errors=errors, newline=newline)  # type: ignore[arg-type]
        if mode in _WRITE_MODES:
            writer = self._open_write(exclusive=mode.startswith("x"))
            if _WRITE_MODES[mode]:
                return writer
            return _TextWriter(writer, encoding=encoding or "utf-8", errors=errors, newline=newline, write_through=True)
        raise ValueError(f"open() mode must be one of 'rb', 'r', 'wb', 'w', 'xb', 'x', not {mode!r}")

    # -- writing -------------------------------------------------------------------------

    def _open_write(self, exclusive: bool = False) -> AtomicWriter:
        mount = self._mount
        mount.require_write(self._path)
        backend = mount.backend
        if exclusive and "exclusive_create" not in backend.capabilities:
            raise UnsupportedOperationError("exclusive create (open mode 'x')", mount=mount.name, path=self._path)
        if backend.path_is_data:
            buffer = io.BytesIO()

            def commit() -> None:
                self._path = backend.write_bytes(self._path, buffer.getvalue()) or self._path

            return AtomicWriter(buffer, commit, buffer.close)
        context = self._context()
        with context:
            writer = backend.open_write(self._path, exclusive=True) if exclusive else backend.open_write(self._path)
        writer.context = context
        return writer

    def write_bytes(self, data: bytes | bytearray | memoryview) -> int:
        """Replace the content with ``data``, atomically; returns the number of bytes."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write_bytes() takes bytes, not {type(data).__name__}")
        mount = self._mount
        mount.require_write(self._path)
        try:
            new_path = mount.backend.write_bytes(self._path, data)
        except Exception as exc:
            self._context().reraise(exc)
        if new_path is not None:
            self._path = new_path
        return len(data)

    def write_text(self, text: str, encoding: str = "utf-8", errors: str = "strict") -> int:
        """Replace the content with ``text`` encoded; returns the number of characters."""
        if not isinstance(text, str):
            raise TypeError(f"write_text() takes str, not {type(text).__name__}")
        self.write_bytes(text.encode(encoding, errors))
        return len(text)

    def write(self, data: str | bytes, mode: str | None = None, encoding: str = "utf-8", errors: str = "strict") -> int:
        """Replace the content: ``str`` in mode ``'w'`` (default for text), bytes in ``'wb'``."""
        if mode is None:
            mode = "w" if isinstance(data, str) else "wb"
        if mode not in _WRITE_MODES:
            raise ValueError(f"write() mode must be 'w' or 'wb', not {mode!r}")
        if _WRITE_MODES[mode]:
            return self.write_bytes(data)  # type: ignore[arg-type]
        return self.write_text(data, encoding, errors)  # type: ignore[arg-type]

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Create this folder, as ``pathlib.Path.mkdir`` does."""
        mount = self._mount
        mount.require_write(self._path)
        backend = mount.backend
        if not backend.has_folders:
            raise UnsupportedOperationError("folders", mount=mount.name, path=self._path)
        with self._context():
            if backend.isdir(self._path):
                if not exist_ok:
                    raise StorageExistsError(mount.name, self._path)
                return
            if backend.exists(self._path):
                raise StorageExistsError(mount.name, self._path, "File exists (not a folder)")
            if not parents and self._path and not backend.isdir(self.parent._path):
                raise StorageNotFoundError(mount.name, self._path, "Parent folder does not exist (use parents=True)")
            backend.mkdir(self._path)

    def delete(self) -> bool:
        """Delete this file, or this folder with everything in it.

        Returns False when there was nothing to delete (someone else may have done it
        first); the mount must have permissions ``'delete'``.
        """
        mount = self._mount
        mount.require_delete(self._path)
        if mount.backend.path_is_data:
            raise UnsupportedOperationError("delete (the data is the path)", mount=mount.name, path=self._path)
        if not self._path:
            raise StorageIsADirectoryError(mount.name, self._path, "Refusing to delete the root of a mount")
        try:
            with self._context():
                mount.backend.delete(self._path)
        except FileNotFoundError:
            return False
        return True

    def rmdir(self) -> None:
        """Remove this folder if it is empty, as ``pathlib.Path.rmdir`` does
        (``OSError`` with ``errno.ENOTEMPTY`` otherwise); needs permissions ``'delete'``."""
        mount = self._mount
        mount.require_delete(self._path)
        if not self._path:
            raise StoragePermissionError(mount.name, self._path, "Refusing to remove the root of a mount")
        if not mount.backend.has_folders:
            raise UnsupportedOperationError("folders", mount=mount.name, path=self._path)
        with self._context():
            mount.backend.rmdir(self._path)

    def children(self) -> list[StorageNode]:
        """The nodes in this folder, sorted by name."""
        with self._context():
            names = self._mount.backend.listdir(self._path)
        base = f"{self._path}/" if self._path else ""
        make = self._make
        return [make(base + name) for name in sorted(names)]

    def entries(self) -> list[tuple[StorageNode, dict[str, Any]]]:
        """The nodes in this folder with their :meth:`info`, sorted by name: one listing
        on object stores (no request per child)."""
        try:
            found = self._mount.backend.listdir_info(self._path)
        except Exception as exc:
            self._context().reraise(exc)
        base = f"{self._path}/" if self._path else ""
        make = self._make
        return [(make(base + name), found[name]) for name in sorted(found)]

    def walk_files(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every file below this folder as ``(relative path, info)``, and every empty
        folder (``info['type'] == 'directory'``): one recursive listing on object stores.
        Unordered; the transfer engine plans copies from it."""
        context = self._context()
        with context:
            found = self._mount.backend.walk_files(self._path)
        while True:
            with context:
                entry = next(found, None)
            if entry is None:
                return
            yield entry

    def walk(self, top_down: bool = True) -> Iterator[tuple[StorageNode, list[str], list[str]]]:
        """``(folder, folder names, file names)`` for this folder and each below it, as
        ``pathlib.Path.walk`` gives them (names sorted; parents first unless
        ``top_down=False``), from one :meth:`walk_files` listing. Like pathlib, a file or
        a missing path yields nothing."""
        try:
            if self.info()["type"] != "directory":
                return
        except FileNotFoundError:
            return
        folders: dict[str, tuple[set[str], list[str]]] = {"": (set(), [])}
        for rel, info in self.walk_files():
            parts = rel.split("/")
            for depth in range(1, len(parts)):
                parent, name = "/".join(parts[: depth - 1]), parts[depth - 1]
                folders.setdefault(parent, (set(), []))[0].add(name)
                folders.setdefault("/".join(parts[:depth]), (set(), []))
            parent = "/".join(parts[:-1])
            if info["type"] == "directory":
                folders[parent][0].add(parts[-1])
                folders.setdefault(rel, (set(), []))
            else:
                folders[parent][1].append(parts[-1])
        # Depth first, a folder before what it holds (after it, bottom up), as os.walk.
        order = sorted(folders, key=lambda rel: rel.split("/") if rel else [], reverse=not top_down)
        for rel in order:
            dirs, files = folders[rel]
            yield (self.child(rel) if rel else self), sorted(dirs), sorted(files)

    # -- cloud features ------------------------------------------------------------------

    @property
    def capabilities(self) -> frozenset[str]:
        """Optional features of this node's backend (``metadata``, ``versions``, ``presign``...)."""
        return self._mount.backend.capabilities

    def get_metadata(self) -> dict[str, str]:
        """The user metadata stored with this file (S3, GCS, Azure)."""
        with self._context():
            return self._mount.backend.get_metadata(self._path)

    def set_metadata(
        self,
        metadata: dict[str, str | None] | None = None,
        *,
        content_type: str | None = None,
        cache_control: str | None = None,
    ) -> None:
        """Merge ``metadata`` into this file's user metadata (a None value removes a key),
        and set the Content-Type / Cache-Control the service serves it with, when given."""
        self._mount.require_write(self._path)
        with self._context():
            self._mount.backend.set_metadata(self._path, dict(metadata or {}), content_type, cache_control)

    @property
    def versions(self) -> list[dict[str, Any]]:
        """This file's versions, newest first (``version_id``, ``size``, ``mtime``, ``is_latest``);
        read one with ``open('rb', version=...)`` or ``read_bytes(version=...)``."""
        with self._context():
            return self._mount.backend.versions(self._path)

    # -- external tools ----------------------------------------------------------------------

    @contextmanager
    def local_path(self, mode: str = "r") -> Iterator[str]:
        """A real local file path for this node, for tools that need one.

        ``mode`` is ``'r'`` (read), ``'w'`` (write) or ``'rw'``. Local mounts give their
        own path, with no copy. Other mounts download to a temporary file on enter
        (``'r'``/``'rw'``) and, in write modes, upload it back on a clean exit (never
        after an exception; in ``'rw'`` only if it changed); the temporary file is always
        removed. Write modes need a writable mount (``StoragePermissionError`` at once);
        a path given in mode ``'r'`` must only be read: on a local mount it is the file
        itself (:meth:`call`, which cannot know what a program writes, protects readonly
        mounts with a copy).
        """
        if mode not in ("r", "w", "rw"):
            raise ValueError(f"local_path() mode must be 'r', 'w' or 'rw', not {mode!r}")
        writes = "w" in mode
        if writes:
            self._mount.require_write(self._path)
        backend = self._mount.backend
        if backend.supports("local_files"):
            with self._context():
                path = backend.ospath(self._path)
                if writes:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                elif not os.path.exists(path):
                    raise FileNotFoundError(2, "No such file or directory", path)
            yield path
            return
        folder = tempfile.mkdtemp(prefix="genro-storage-")
        try:
            local = os.path.join(folder, self._local_name())
            if mode != "w":
                self._download(local)
            downloaded = _stamp(local)
            yield local
            if writes and os.path.exists(local) and (mode == "w" or _stamp(local) != downloaded):
                self._upload(local)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    @contextmanager
    def _program_path(self) -> Iterator[str]:
        """The local path :meth:`call` gives a program for this node, which the program
        may read or write; on a readonly mount, a copy whose changes are refused."""
        if self._mount.can_write:
            with self.local_path("rw" if self.exists else "w") as path:
                yield path
            return
        if not self.exists:
            self._mount.require_write(self._path)  # an output on a readonly mount
        folder = tempfile.mkdtemp(prefix="genro-storage-")
        try:
            local = os.path.join(folder, self._local_name())
            self._download(local)
            before = _stamp(local)
            yield local
            if _stamp(local) != before:
                raise StoragePermissionError(
                    self._mount.name,
                    self._path,
                    f"mount {self._mount.name!r} is readonly: the program changed this file, the change was not saved",
                )
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _local_name(self) -> str:
        """The name of this node's temporary local copy: its own where the OS allows it
        (tools read the type from the suffix), else a short one keeping the suffix."""
        name = self.basename or "data"
        if len(os.fsencode(name)) <= _LOCAL_NAME_MAX:
            return name
        suffix = self.suffix if len(os.fsencode(self.suffix)) <= 32 else ""
        return "data" + suffix

    def _download(self, local: str) -> None:
        """Copy this file's content into the local file ``local``."""
        with self._context():
            with self._mount.backend.open_read(self._path) as reader, open(local, "wb") as out:
                shutil.copyfileobj(reader, out, CHUNK_SIZE)

    def _upload(self, local: str) -> None:
        """Replace this file's content with the local file ``local``, atomically."""
        with open(local, "rb") as source, self._open_write() as writer:
            with self._context():
                shutil.copyfileobj(source, writer, CHUNK_SIZE)

    def call(self, *args: Any, **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        """Run an external program with every node in ``args`` replaced by a local path.

        Nodes that exist are downloaded first (local mounts give their own path);
        afterwards, any node whose local file the program created or changed is uploaded.
        Readonly mounts are never changed: a node there that does not exist yet (an
        output) is refused with :class:`~genro_storage.errors.StoragePermissionError`
        before the program runs, and an existing one is handed as a temporary copy; if the
        program changed that copy, ``StoragePermissionError`` says the change was not saved.

        ``kwargs`` go to ``subprocess.run`` (``capture_output``, ``text``, ``env``,
        ``cwd``, ``timeout``, ``input``...); stderr is captured unless you redirect it. A
        non-zero exit always raises :class:`~genro_storage.errors.CommandError` (a
        ``CalledProcessError`` carrying ``returncode``, ``stdout``, ``stderr``, with the
        program's stderr in its message), whatever ``check`` says, and uploads nothing.
        Returns the ``CompletedProcess``.
        """
        with ExitStack() as stack:
            paths: dict[StorageNode, str] = {}
            for node in dict.fromkeys(arg for arg in args if isinstance(arg, StorageNode)):
                paths[node] = stack.enter_context(node._program_path())
            argv = [paths[arg] if isinstance(arg, StorageNode) else os.fspath(arg) for arg in args]
            kwargs.pop("check", None)  # a failure always raises, with the program's stderr
            if not kwargs.get("capture_output"):
                kwargs.setdefault("stderr", subprocess.PIPE)
            result = subprocess.run(argv, **kwargs)
            if result.returncode != 0:
                raise CommandError(result.returncode, argv, result.stdout, result.stderr)
            return result

    # -- serving ---------------------------------------------------------------------------

    def serve(self, environ: Any, start_response: Any, **options: Any) -> Any:
        """Answer a WSGI request for this file (conditional requests, ranges, HEAD).

        ``options`` are those of :class:`~genro_storage.http.ServeOptions`
        (``as_attachment``, ``download_name``, ``mimetype``, ``max_age``, ``immutable``,
        ``conditional``, ``etag``...), checked by name.
        """
        from .http.responder import serve

        return serve(self, environ, start_response, **options)

    def url(self, expires_in: int = 3600) -> str:
        """A URL to download this file for ``expires_in`` seconds (a positive whole number).

        Presigned by the service on object stores; otherwise a URL for
        :class:`~genro_storage.http.StorageApp` (or the Django/Flask routes) signed with the
        secret given to :meth:`StorageManager.configure_urls`.
        """
        seconds = lifetime(expires_in)
        backend = self._mount.backend
        if backend.supports("presign"):
            with self._context():
                return backend.presign(self._path, seconds)
        return self._manager.url_signer(self._mount.name).url(self._mount.name, self._path, expires_in)

    # -- copy and move -------------------------------------------------------------------

    def _as_node(self, dest: StorageNode | str) -> StorageNode:
        """The destination node; ``'mount:folder/'`` (a trailing slash) means into that folder,
        keeping this node's name."""
        if isinstance(dest, str):
            node = self._manager.node(dest)
            if dest.endswith("/") and self.basename:
                return node.child(self.basename)
            return node
        if not isinstance(dest, StorageNode):
            raise TypeError(f"destination must be a StorageNode or 'mount:path', not {type(dest).__name__}")
        return dest

    def copy_to(
        self,
        dest: StorageNode | str,
        options: TransferOptions | None = None,
        *,
        skip: SkipRule = None,
        progress: Callable[[TransferProgress], Any] | None = None,
        include: str | Iterable[str] | None = None,
        exclude: str | Iterable[str] | None = None,
        workers: int | None = None,
        on_error: str | None = None,
        dry_run: bool | None = None,
    ) -> TransferReport:
        """Copy this file or folder to ``dest`` (a node or ``'mount:path'``), on any mount.

        A file copied into an existing folder keeps its name, and so does anything copied
        to a ``'mount:folder/'`` string (the trailing slash means "into that folder"); a
        folder is copied to ``dest`` with everything under it, empty folders included. Each
        destination file is replaced atomically: a failure leaves its previous content.
        ``skip`` (``'exists'``, ``'size'``, ``'mtime'``, ``'hash'`` or
        ``callable(src, dest) -> bool``) leaves files already there, which also resumes an
        interrupted copy. ``include``/``exclude`` (a pattern or a list) filter by the path
        relative to this node, as below; ``workers`` sets the thread pool;
        ``on_error='continue'`` collects failures in the report instead of raising;
        ``dry_run`` reports what would be copied. Returns a :class:`TransferReport`.

        ``progress`` receives a :class:`TransferProgress` (files and bytes done, of the
        totals planned) at the start, as each file finishes and, while a large file
        moves, as its chunks or parts go (at most every 0.1 s). Calls come from the
        transfer's threads but one at a time, their counts never go backwards, and the
        last one shows the final totals.

        Patterns follow ``.gitignore`` (and rsync): ``*``, ``?`` and ``[abc]`` / ``[!abc]``
        match within one path segment, never across ``/``; ``**`` matches any number of
        folders, none included (``**/*.txt`` takes ``a.txt`` too; ``dir/**`` is everything
        inside ``dir``). A pattern without a ``/`` matches a name at any depth (``*.log``,
        ``node_modules``); one with a ``/`` (a leading one too: ``/build``) is anchored at
        this node. A pattern naming a folder applies to everything under it, and a trailing
        ``/`` (``build/``) matches folders only. A file is copied when it matches some
        ``include`` pattern (or none is given) and no ``exclude`` one. Matching is
        case-sensitive; write a literal ``*``, ``?`` or ``[`` as ``[*]``, ``[?]``, ``[[]``.
        """
        settings = TransferOptions.build(
            options, skip=skip, progress=progress, include=include, exclude=exclude,
            workers=workers, on_error=on_error, dry_run=dry_run,
        )  # fmt: skip
        return transfer(self, self._as_node(dest), settings)

    def move_to(
        self,
        dest: StorageNode | str,
        options: TransferOptions | None = None,
        *,
        skip: SkipRule = None,
        progress: Callable[[TransferProgress], Any] | None = None,
        include: str | Iterable[str] | None = None,
        exclude: str | Iterable[str] | None = None,
        workers: int | None = None,
        on_error: str | None = None,
        dry_run: bool | None = None,
    ) -> TransferReport:
        """Move this file or folder to ``dest``: a rename within a backend where it has one;
        across backends each source file is deleted only after its copy is verified
        (size, and MD5 where both sides know it). A folder move deletes only the files it
        moved, then the source folders it left empty: files that ``include``/``exclude``
        left out, or that were written during the move, stay where they are, and so do
        their folders. Options as :meth:`copy_to`."""
        settings = TransferOptions.build(
            options, skip=skip, progress=progress, include=include, exclude=exclude,
            workers=workers, on_error=on_error, dry_run=dry_run,
        )  # fmt: skip
        return transfer(self, self._as_node(dest), settings, move=True)
