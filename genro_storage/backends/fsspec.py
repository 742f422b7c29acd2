"""Backends on an fsspec filesystem: s3 (s3fs), http (read-only), any fsspec protocol.

``backend.fs`` is the filesystem itself, for direct access without lock-in. Writes go
through fsspec's transactional files (``autocommit=False``): the object is published by
``commit()`` on a clean close and thrown away by ``discard()`` otherwise.
"""

from __future__ import annotations

import datetime as _dt
import errno
import io
from collections.abc import Callable, Iterator
from glob import has_magic
from typing import IO, Any
from urllib.parse import quote

import fsspec

from ..errors import StorageConfigError
from ..paths import normalize_path
from .base import CHUNK_SIZE, AtomicWriter, StorageBackend

__all__ = ["FsspecBackend", "HttpBackend", "STREAM_BLOCK", "checked_root"]

#: Block size for streamed reads and multipart parts: memory stays bounded (s3fs's own
#: default block is 50 MiB) and 5 MiB is S3's smallest allowed part.
STREAM_BLOCK = 5 * 2**20

_MTIME_KEYS = ("mtime", "LastModified", "last_modified", "updated", "modified", "created", "last-modified")


def _timestamp(value: Any) -> float | None:
    """Seconds since the epoch from the many shapes fsspec implementations use."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return _timestamp(_dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                return _timestamp(parsedate_to_datetime(value))
            except (TypeError, ValueError):
                return None
    return None


def checked_root(value: object, mount: str, key: str) -> str:
    """A root returned by a per-access callable: a string that cannot climb (no '..')."""
    if not isinstance(value, str) or not value.strip("/"):
        raise StorageConfigError(f"the callable returned {value!r}, not a non-empty path", mount=mount, key=key)
    normalize_path(value.strip("/"), mount)
    return value


def forget_listing(fs: Any, full: str) -> None:
    """Drop ``full`` and the folders above it from ``fs``'s listing cache, after a change
    (nothing to do while the cache is empty: a bulk upload pays nothing)."""
    if fs.dircache:
        fs.invalidate_cache(full)


class _SpooledUpload:
    """Buffers a write in memory up to one block, then streams through fsspec.

    A small file is published with one ``pipe_file`` (a single PUT on object stores); a
    larger one streams through a transactional file (``autocommit=False``: a multipart
    upload that ``commit()`` completes and ``discard()`` aborts), so memory stays bounded.
    """

    def __init__(self, fs: fsspec.AbstractFileSystem, full: str):
        self.fs = fs
        self.full = full
        self.limit = STREAM_BLOCK
        self.buffer: io.BytesIO | None = io.BytesIO()
        self.file: Any = None
        self.written = 0

    def write(self, data: Any) -> int:
        size = len(memoryview(data))
        self.written += size
        if self.file is not None:
            self.file.write(data)
        else:
            assert self.buffer is not None
            self.buffer.write(data)
            if self.buffer.tell() >= self.limit:
                self.file = self.fs.open(self.full, "wb", autocommit=False, block_size=STREAM_BLOCK)
                self.file.write(self.buffer.getbuffer())
                self.buffer = None
        return size

    def tell(self) -> int:
        return self.written

    def flush(self) -> None:
        pass

    def commit(self) -> None:
        if self.file is None:
            assert self.buffer is not None
            self.fs.pipe_file(self.full, self.buffer.getvalue())
            self.buffer = None
        else:
            self.file.close()
            self.file.commit()
        forget_listing(self.fs, self.full)

    def discard(self) -> None:
        self.buffer = None
        if self.file is not None:
            self.file.discard()
            try:
                self.file.closed = True  # fsspec's buffered files: skip the final flush
            except AttributeError:
                pass


class FsspecBackend(StorageBackend):
    """Any fsspec filesystem: ``type`` is the fsspec protocol, extra keys its options.

    ``path`` (optional, may be a callable resolved at each access) is the folder inside
    the filesystem that the mount's root maps to.
    """

    capabilities = frozenset({"fsspec"})

    def __init__(
        self,
        mount: str,
        *,
        protocol: str | None = None,
        path: str | Callable[[], str] | None = None,
        fs: fsspec.AbstractFileSystem | None = None,
        **fs_options: Any,
    ):
        super().__init__(mount)
        if fs is not None and fs_options:
            # Options only reach a filesystem we build; with one given they would be lost.
            raise StorageConfigError(
                f"unknown key for a {type(self).__name__} mount", mount=mount, key=next(iter(fs_options))
            )
        if fs is None:
            if not protocol:
                raise StorageConfigError("an fsspec mount needs a protocol", mount=mount, key="type")
            fs = self._make_fs(mount, protocol, fs_options)
        self.fs = fs
        self._root_value = self._check_root(path if path is not None else "", "path")

    def _make_fs(self, mount: str, protocol: str, options: dict[str, Any]) -> fsspec.AbstractFileSystem:
        # Our own instance: fsspec's instance cache would share one filesystem (and its
        # listing cache and credentials) between managers that must stay independent.
        options.setdefault("skip_instance_cache", True)
        try:
            return fsspec.filesystem(protocol, **options)
        except ImportError as exc:
            raise StorageConfigError(
                f"protocol {protocol!r} needs a package that is not installed: {exc}", mount=mount, key="type"
            ) from exc
        except ValueError as exc:
            raise StorageConfigError(str(exc), mount=mount, key="type") from exc
        except TypeError as exc:
            raise StorageConfigError(f"bad option for {protocol!r}: {exc}", mount=mount) from exc
        except OSError as exc:
            # Some filesystems connect when built (ftp, sftp...): say which mount failed.
            raise StorageConfigError(f"could not open the {protocol!r} filesystem: {exc}", mount=mount) from exc

    def _check_root(self, value: Any, key: str) -> str | Callable[[], str]:
        if callable(value):
            return value
        if not isinstance(value, str):
            raise StorageConfigError(
                f"must be a string or a callable, not {type(value).__name__}", mount=self.mount, key=key
            )
        return value.rstrip("/")

    @property
    def root(self) -> str:
        """The filesystem path of the mount's root, as resolved now."""
        value = self._root_value
        if callable(value):
            resolved = value()
            if not isinstance(resolved, str):
                raise StorageConfigError(
                    f"the callable returned {resolved!r}, not a string", mount=self.mount, key="path"
                )
            return resolved.rstrip("/")
        return value

    def forget(self, full: str) -> None:
        """Drop ``full`` and the folders above it from the filesystem's listing cache."""
        forget_listing(self.fs, full)

    def fspath(self, path: str) -> str:
        """The path of ``path`` as the filesystem knows it."""
        root = self.root
        if not path:
            return root
        return f"{root}/{path}" if root else path

    # -- metadata --------------------------------------------------------------------

    def info(self, path: str) -> dict[str, Any]:
        if not path:
            return {"type": "directory", "size": 0, "mtime": None}
        raw = self.fs.info(self.fspath(path))
        return self._normalize_info(raw)

    def _normalize_info(self, raw: dict[str, Any]) -> dict[str, Any]:
        kind = "directory" if raw.get("type") == "directory" else "file"
        info: dict[str, Any] = {"type": kind, "size": int(raw.get("size") or 0) if kind == "file" else 0}
        info["mtime"] = next((t for t in (_timestamp(raw.get(k)) for k in _MTIME_KEYS) if t is not None), None)
        etag = raw.get("ETag") or raw.get("etag")
        if etag and kind == "file":
            if etag.startswith("W/"):
                # A weak validator (RFC 9110 section 8.8.1) stays weak when we serve it.
                info["etag_weak"] = True
                etag = etag[2:]
            info["etag"] = etag.strip('"')
        return info

    def listdir(self, path: str) -> list[str]:
        full = self.fspath(path)
        try:
            entries = self.fs.ls(full, detail=True)
        except FileNotFoundError:
            if not path:
                return []
            raise
        here = self.fs._strip_protocol(full).strip("/") if full else ""
        prefix = f"{here}/" if here else ""
        names = []
        for entry in entries:
            name = self.fs._strip_protocol(entry["name"]).strip("/")
            if name == here:
                if entry.get("type") == "file" and len(entries) == 1 and not str(entry["name"]).endswith("/"):
                    raise NotADirectoryError(20, "Not a directory", full)
                continue  # the folder's own marker object ('key/' on object stores)
            names.append(name[len(prefix) :] if name.startswith(prefix) else name.rpartition("/")[2])
        return names

    def walk_files(self, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        # One recursive listing (paginated on object stores) with sizes and validators:
        # the files, then the empty folders (their markers) so that copies keep them.
        full = self.fspath(path)
        try:
            found = self.fs.find(full, withdirs=True, detail=True)
        except FileNotFoundError:
            return
        base = self.fs._strip_protocol(full).strip("/") if full else ""
        prefix = f"{base}/" if base else ""
        folders: set[str] = set()
        parents: set[str] = set()
        for name, raw in found.items():
            name = self.fs._strip_protocol(name).strip("/")
            if not name.startswith(prefix) or name == base:
                continue  # the folder itself (or its marker)
            rel = name[len(prefix) :]
            info = self._normalize_info(raw)
            parents.update(rel.rsplit("/", i)[0] for i in range(1, rel.count("/") + 1))
            if info["type"] == "directory" or str(raw.get("name", "")).endswith("/"):
                folders.add(rel)
            else:
                yield rel, info
        for rel in sorted(folders - parents):
            yield rel, {"type": "directory", "size": 0, "mtime": None}

    # -- reading and writing ----------------------------------------------------------

    def open_read(self, path: str) -> IO[bytes]:
        full = self.fspath(path)
        if not path:
            raise IsADirectoryError(21, "Is a directory", full)
        try:
            f = self.fs.open(full, "rb", block_size=STREAM_BLOCK)
        except (FileNotFoundError, IsADirectoryError):
            if self.fs.isdir(full):
                raise IsADirectoryError(21, "Is a directory", full) from None
            raise
        if (getattr(f, "details", None) or {}).get("type") == "directory":
            f.close()  # an object store's folder: fsspec would read it as an empty file
            raise IsADirectoryError(21, "Is a directory", full)
        return f

    def read_bytes(self, path: str) -> bytes:
        full = self.fspath(path)
        try:
            if not path:
                raise FileNotFoundError(2, "No such file or directory", full)
            data = self.fs.cat_file(full)
            if not data and self.info(path)["type"] == "directory":
                raise IsADirectoryError(21, "Is a directory", full)  # a folder's marker object
            return data
        except (FileNotFoundError, IsADirectoryError):
            if not path or self.fs.isdir(full):
                raise IsADirectoryError(21, "Is a directory", full) from None
            raise

    def iter_range(
        self, path: str, start: int, stop: int, chunk_size: int = CHUNK_SIZE, etag: str | None = None
    ) -> Iterator[bytes]:
        # One ranged read per chunk: on object stores, a ranged GET of just those bytes.
        full = self.fspath(path)
        pos = start
        while pos < stop:
            data = self.fs.cat_file(full, start=pos, end=min(pos + chunk_size, stop))
            if not data:
                return
            pos += len(data)
            yield data

    def _writable_path(self, path: str) -> str:
        full = self.fspath(path)
        if not path or self.fs.isdir(full):
            raise IsADirectoryError(21, "Is a directory", full)
        parent = path.rpartition("/")[0]
        if parent and self.fs.isfile(self.fspath(parent)):
            # Object stores would hold 'a' and 'a/b' side by side; disks cannot.
            raise NotADirectoryError(20, "Not a directory", self.fspath(parent))
        return full

    def open_write(self, path: str) -> AtomicWriter:
        upload = _SpooledUpload(self.fs, self._writable_path(path))
        return AtomicWriter(upload, upload.commit, upload.discard)

    def write_bytes(self, path: str, data: bytes) -> None:
        full = self._writable_path(path)
        self.fs.pipe_file(full, bytes(data))
        self.forget(full)
        return None

    def mkdir(self, path: str) -> None:
        full = self.fspath(path)
        if self.fs.isfile(full):
            raise FileExistsError(17, "File exists", full)
        self.fs.makedirs(full, exist_ok=True)

    # fsspec's bulk operations (copy, mv, rm) read '[', '*' and '?' in a path as a glob
    # pattern, and would copy or delete whatever the pattern matches: user paths go only
    # to the single-object primitives (cp_file, rm_file...), or to rm with a literal path.

    def delete(self, path: str) -> None:
        full = self.fspath(path)
        if self.info(path)["type"] == "directory":
            self._delete_tree(path)
        else:
            self.fs.rm_file(full)
        self.forget(full)

    def _delete_tree(self, path: str) -> None:
        full = self.fspath(path)
        if not has_magic(full):
            self.fs.rm(full, recursive=True)  # one listing, then bulk deletes
            return
        # A name fsspec would glob: each file by its exact name, then the folders bottom-up.
        folders = {path}
        for rel, info in self.walk_files(path):
            child = f"{path}/{rel}" if path else rel
            folders.update(child.rsplit("/", depth)[0] for depth in range(1, rel.count("/") + 1))
            if info["type"] == "directory":
                folders.add(child)
            else:
                self.fs.rm_file(self.fspath(child))
        for folder in sorted(folders, key=lambda name: name.count("/"), reverse=True):
            try:
                self.rmdir(folder)
            except FileNotFoundError:
                pass  # a folder implied by its files is gone with them

    def rmdir(self, path: str) -> None:
        if self.listdir(path):
            raise OSError(errno.ENOTEMPTY, "Directory not empty", self.fspath(path))
        self._remove_empty_folder(path)
        self.forget(self.fspath(path))

    def _remove_empty_folder(self, path: str) -> None:
        """Remove the folder ``path``, known to be empty."""
        self.fs.rmdir(self.fspath(path))

    def copy(self, src: str, dst: str, progress: Callable[[int], None] | None = None) -> None:
        self.fs.cp_file(self.fspath(src), self.fspath(dst))  # server-side: no bytes to count here
        self.forget(self.fspath(dst))

    def move(self, src: str, dst: str) -> None:
        source, target = self.fspath(src), self.fspath(dst)
        move_file = getattr(self.fs, "mv_file", None)  # a server-side move where there is one
        if move_file is not None:
            move_file(source, target)
        else:
            self.fs.cp_file(source, target)
            self.fs.rm_file(source)
        self.forget(source)
        self.forget(target)


class HttpBackend(FsspecBackend):
    """Files read over HTTP(S) under ``base_url``; read-only."""

    writable = False
    capabilities = frozenset({"ranged_reads", "presign", "fsspec"})

    def __init__(self, mount: str, *, base_url: str | None = None, **fs_options: Any):
        if not base_url or not isinstance(base_url, str):
            raise StorageConfigError("an http mount needs 'base_url'", mount=mount, key="base_url")
        super().__init__(mount, protocol="http", **fs_options)
        self._root_value = base_url.rstrip("/")

    def _check_root(self, value: Any, key: str) -> str | Callable[[], str]:
        return value

    def info(self, path: str) -> dict[str, Any]:
        return self._normalize_info(self.fs.info(self.fspath(path)))

    def fspath(self, path: str) -> str:
        # Each segment percent-encoded: '%2e%2e', '?' or '#' in a name stay part of the name,
        # never climb out of base_url or become a query.
        quoted = "/".join(quote(segment, safe="") for segment in path.split("/")) if path else ""
        return f"{self.root}/{quoted}" if quoted else self.root

    def presign(self, path: str, expires_in: int) -> str:
        """The file's own URL: an http mount serves public files."""
        return self.fspath(path)
