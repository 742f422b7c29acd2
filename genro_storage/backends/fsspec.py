"""Backends on an fsspec filesystem: s3 (s3fs), http (read-only), any fsspec protocol.

``backend.fs`` is the filesystem itself, for direct access without lock-in. Writes go
through fsspec's transactional files (``autocommit=False``): the object is published by
``commit()`` on a clean close and thrown away by ``discard()`` otherwise.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import errno
import inspect
import io
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from glob import has_magic
from typing import IO, Any, ClassVar
from urllib.parse import quote

import fsspec

from ..errors import StorageConfigError
from ..paths import normalize_path
from .base import CHUNK_SIZE, AtomicWriter, StorageBackend

__all__ = ["FsspecBackend", "HttpBackend", "STREAM_BLOCK", "checked_root", "known_fs_options"]

#: Block size for streamed reads and multipart parts: memory stays bounded (s3fs's own
#: default block is 50 MiB) and 5 MiB is S3's smallest allowed part.
STREAM_BLOCK = 5 * 2**20

_log = logging.getLogger(__name__)

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


# -- which options a filesystem takes ------------------------------------------------------
#
# fsspec filesystems take ``**kwargs`` and most drop what they do not know, so a typo
# (``endpoint`` for ``endpoint_url``) would pass silently. The options a filesystem class
# knows are the named parameters of every ``__init__`` in its MRO, plus what the classes
# taking ``**kwargs`` consume from them. That last part cannot be read from a signature:
# each such class was read and is listed in _KWARGS_CONSUMERS with what it consumes.

#: Options AbstractFileSystem consumes from ``**storage_options`` without naming them: the
#: instance-cache switch (popped by its metaclass, fsspec/spec.py) and the listing-cache
#: settings it hands to DirCache (fsspec/dircache.py). ``add_docs`` and ``add_aliases``
#: are left out: fsspec only warns that they are gone.
BASE_FS_OPTIONS = frozenset({"skip_instance_cache", "use_listings_cache", "listings_expiry_time", "max_paths"})

#: Mount keys that never reach a backend (the manager takes them first): listed only so
#: that a misspelling of one is answered with the right name.
CONFIG_KEYS = ("name", "type", "permissions")

#: Options DefaultAzureCredential documents (azure-identity 1.27), which adlfs builds from
#: its ``**kwargs`` when no key, SAS token, connection string or credential is given.
#: For anything else, pass ``credential=DefaultAzureCredential(...)`` built by hand.
AZURE_DEFAULT_CREDENTIAL_OPTIONS = frozenset(
    {
        "authority",
        "additionally_allowed_tenants",
        "exclude_workload_identity_credential",
        "exclude_developer_cli_credential",
        "exclude_cli_credential",
        "exclude_environment_credential",
        "exclude_managed_identity_credential",
        "exclude_powershell_credential",
        "exclude_visual_studio_code_credential",
        "exclude_shared_token_cache_credential",
        "exclude_interactive_browser_credential",
        "exclude_broker_credential",
        "interactive_browser_tenant_id",
        "interactive_browser_client_id",
        "broker_tenant_id",
        "broker_client_id",
        "managed_identity_client_id",
        "workload_identity_client_id",
        "workload_identity_tenant_id",
        "shared_cache_username",
        "shared_cache_tenant_id",
        "visual_studio_code_tenant_id",
        "process_timeout",
        "require_envvar",
    }
)


def _named_parameters(function: Callable[..., Any]) -> set[str]:
    """The parameters of ``function`` a keyword argument can fill (not ``self``)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    found = {p.name for p in inspect.signature(function).parameters.values() if p.kind in kinds}
    found.discard("self")
    return found


def _aiobotocore_session_options() -> Iterable[str]:
    # s3fs keeps its leftover kwargs as ``self.kwargs`` and builds AioSession(**self.kwargs)
    # (``profile``...): a key AioSession does not name fails there, at first use.
    from aiobotocore.session import AioSession

    return _named_parameters(AioSession.__init__)


def _gcsfs_retry_options() -> Iterable[str]:
    # ExtendedGcsFileSystem reads ``retry_<name>`` for each name of gcsfs's retry config,
    # then hands all its kwargs on to GCSFileSystem.
    from gcsfs.retry import DEFAULT_RETRY_CONFIG

    return {f"retry_{name}" for name in DEFAULT_RETRY_CONFIG}


def _aiohttp_request_options() -> Iterable[str]:
    # HTTPFileSystem keeps its leftover kwargs (less the listing-cache ones) as request
    # options for every ``session.get(url, **kwargs)``: aiohttp's request parameters.
    from aiohttp import ClientSession

    return _named_parameters(ClientSession._request) - {"method", "str_or_url"}


def _nothing() -> Iterable[str]:
    return ()


#: Classes whose ``__init__`` takes ``**kwargs``, read to know what it does with them
#: (module.qualname -> the option names it consumes itself, beyond its named parameters).
#: Each listed class hands the rest on to its parent only, or to a callee whose named
#: parameters are listed here (s3fs's session, HTTPFileSystem's aiohttp requests). A class
#: that forwards them where no signature says what is taken is not listed, so unknown
#: options are accepted for it: SFTPFileSystem (paramiko's connect()), the archive
#: filesystems (zip, tar: the target filesystem's options), and every filesystem not read.
_KWARGS_CONSUMERS: dict[str, Callable[[], Iterable[str]]] = {
    "fsspec.spec.AbstractFileSystem": lambda: BASE_FS_OPTIONS,
    "fsspec.asyn.AsyncFileSystem": _nothing,
    "fsspec.implementations.local.LocalFileSystem": _nothing,
    "fsspec.implementations.ftp.FTPFileSystem": _nothing,
    "fsspec.implementations.memory.MemoryFileSystem": _nothing,
    "fsspec.implementations.http.HTTPFileSystem": _aiohttp_request_options,
    "genro_storage.backends.memory.IsolatedMemoryFileSystem": _nothing,
    "s3fs.core.S3FileSystem": _aiobotocore_session_options,
    "gcsfs.core.GCSFileSystem": _nothing,
    "gcsfs.extended_gcsfs.ExtendedGcsFileSystem": _gcsfs_retry_options,
    "adlfs.spec.AzureBlobFileSystem": lambda: AZURE_DEFAULT_CREDENTIAL_OPTIONS,
}


def known_fs_options(cls: type) -> tuple[frozenset[str], bool]:
    """The options the filesystem class ``cls`` takes, and whether that list is complete.

    Walks the MRO down to ``AbstractFileSystem``: each ``__init__`` adds its named
    parameters; one taking ``**kwargs`` adds what it consumes itself if it is listed in
    _KWARGS_CONSUMERS, and makes the list incomplete if not. A class whose ``__init__``
    takes no ``**kwargs`` ends the walk: nothing else reaches its parents.
    """
    known: set[str] = set()
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None or klass is object:
            continue
        known |= _named_parameters(init)
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(init).parameters.values()):
            break
        consumer = _KWARGS_CONSUMERS.get(f"{klass.__module__}.{klass.__qualname__}")
        if consumer is None:
            return frozenset(known), False
        known |= set(consumer())
        if klass is fsspec.AbstractFileSystem:
            break
    return frozenset(known), True


def unknown_option(
    mount: str, key: str, kind: str, valid: Iterable[str], nested: Mapping[str, Iterable[str]] | None = None
) -> StorageConfigError:
    """The error for ``key``, which no part of a ``kind`` mount takes, naming the closest
    valid spelling: a top-level option, or one that belongs inside a dict option
    (``nested``: option -> the keys it takes, like s3's ``client_kwargs``)."""
    spellings = {name: repr(name) for name in valid}
    for option, inner in (nested or {}).items():
        for name in inner:
            spellings.setdefault(name, f"{option}={{{name!r}: ...}}")
    if key in spellings:
        hint = f" (it goes inside {spellings[key]})"
    else:
        close = difflib.get_close_matches(key, sorted(spellings), n=1)
        hint = f" (did you mean {spellings[close[0]]}?)" if close else ""
    return StorageConfigError(f"unknown option for {kind} mounts{hint}", mount=mount, key=key)


def checked_root(value: object, mount: str, key: str) -> str:
    """A root returned by a per-access callable: a string that cannot climb (no '..')."""
    if not isinstance(value, str) or not value.strip("/"):
        raise StorageConfigError(f"the callable returned {value!r}, not a non-empty path", mount=mount, key=key)
    normalize_path(value.strip("/"), mount)
    return value


def _filesystem_class(mount: str, protocol: str) -> type[fsspec.AbstractFileSystem]:
    """fsspec's class for ``protocol``; a missing package or an unknown name is the
    mount's ``type`` error."""
    try:
        return fsspec.get_filesystem_class(protocol)
    except ImportError as exc:
        raise StorageConfigError(
            f"protocol {protocol!r} needs a package that is not installed: {exc}", mount=mount, key="type"
        ) from exc
    except ValueError as exc:
        raise StorageConfigError(str(exc), mount=mount, key="type") from exc


def _first_protocol(fs: fsspec.AbstractFileSystem) -> str:
    """The name a filesystem's protocol is known by (fsspec allows a tuple of aliases)."""
    protocol = fs.protocol
    return protocol if isinstance(protocol, str) else protocol[0]


def forget_listing(fs: Any, full: str) -> None:
    """Drop ``full`` and the folders above it from ``fs``'s listing cache, after a change
    (nothing to do while the cache is empty: a bulk upload pays nothing)."""
    if fs.dircache:
        fs.invalidate_cache(full)


#: Striped locks for exclusive publications in this process, by object name.
_CREATING = tuple(threading.Lock() for _ in range(64))


def _precondition_failed(exc: BaseException) -> bool:
    """Whether a conditional write was refused because the object exists (HTTP 412, or
    S3's ConditionalRequestConflict when another conditional write won the race)."""
    link: BaseException | None = exc
    for _ in range(6):
        if link is None:
            return False
        response = getattr(link, "response", None)
        if isinstance(response, dict):
            code = str(response.get("Error", {}).get("Code", ""))
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("PreconditionFailed", "ConditionalRequestConflict") or status in (409, 412):
                return True
        if isinstance(link, FileExistsError) or "PreconditionFailed" in str(link):
            return True
        link = link.__cause__ or link.__context__
    return False


class _SpooledUpload:
    """Buffers a write in memory up to one block, then streams through fsspec.

    A small file is published with one ``pipe_file`` (a single PUT on object stores); a
    larger one streams through a transactional file (``autocommit=False``: a multipart
    upload that ``commit()`` completes and ``discard()`` aborts), so memory stays bounded.
    """

    def __init__(
        self, fs: fsspec.AbstractFileSystem, full: str, exclusive: bool = False, options: dict[str, Any] | None = None
    ):
        self.fs = fs
        self.full = full
        #: The service's options for the object (S3's ContentType), on every path that writes it.
        self.options = options or {}
        #: Publish only if no object has the name by then (S3's If-None-Match: *).
        self.exclusive = exclusive
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
                mode = "xb" if self.exclusive else "wb"
                self.file = self.fs.open(self.full, mode, autocommit=False, block_size=STREAM_BLOCK, **self.options)
                self.file.write(self.buffer.getbuffer())
                self.buffer = None
        return size

    def tell(self) -> int:
        return self.written

    def flush(self) -> None:
        pass

    def commit(self) -> None:
        if not self.exclusive:
            self._publish()
            return
        # The service's conditional write settles races between processes; within one,
        # the publications of one name also take turns (an emulator may check and write in
        # two steps).
        with _CREATING[hash(self.full) % len(_CREATING)]:
            self._publish()

    def _publish(self) -> None:
        try:
            if self.file is None:
                assert self.buffer is not None
                if self.exclusive:
                    self.fs.pipe_file(self.full, self.buffer.getvalue(), mode="create", **self.options)
                else:
                    self.fs.pipe_file(self.full, self.buffer.getvalue(), **self.options)
                self.buffer = None
            else:
                self.file.close()
                self.file.commit()
        except Exception as exc:
            if self.exclusive and _precondition_failed(exc):
                raise FileExistsError(17, "File exists (created meanwhile)", self.full) from exc
            raise
        forget_listing(self.fs, self.full)

    def discard(self) -> None:
        """Throw the write away: abort the multipart upload, if one was started.

        Best effort: this runs while another error is on its way up (a failed write, an
        exception in the ``with`` block) and must not replace it; the previous object is
        intact either way. An upload that cannot be aborted (the service unreachable) is
        logged; a bucket lifecycle rule (AbortIncompleteMultipartUpload) removes it.
        """
        self.buffer = None
        if self.file is None:
            return
        try:
            self.file.discard()
        except Exception:
            _log.warning("could not abort the upload of %s; its parts stay until removed", self.full, exc_info=True)
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

    #: The mount keys this class takes itself (the rest go to the filesystem).
    own_options: ClassVar[tuple[str, ...]] = ("path",)
    #: Refuse options the filesystem does not name even when some ``__init__`` in its MRO
    #: takes ``**kwargs`` we have not read (see :func:`known_fs_options`); otherwise
    #: unknown options are refused only when the filesystem's list is complete.
    strict_options: ClassVar[bool] = False

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
            kind = protocol or _first_protocol(fs)
            raise unknown_option(mount, next(iter(fs_options)), kind, (*self.own_options, *CONFIG_KEYS))
        if fs is None:
            if not protocol:
                raise StorageConfigError("an fsspec mount needs a protocol", mount=mount, key="type")
            fs = self._make_fs(mount, protocol, fs_options)
        self.fs = fs
        self._root_value = self._check_root(path if path is not None else "", "path")

    def _make_fs(self, mount: str, protocol: str, options: dict[str, Any]) -> fsspec.AbstractFileSystem:
        cls = _filesystem_class(mount, protocol)
        self._refuse_unknown_options(mount, protocol, cls, options)
        # Our own instance: fsspec's instance cache would share one filesystem (and its
        # listing cache and credentials) between managers that must stay independent.
        options.setdefault("skip_instance_cache", True)
        try:
            return cls(**options)  # what fsspec.filesystem(protocol, **options) does
        except (TypeError, ValueError) as exc:
            raise StorageConfigError(f"bad option for {protocol!r}: {exc}", mount=mount) from exc
        except OSError as exc:
            # Some filesystems connect when built (ftp, sftp...): say which mount failed.
            raise StorageConfigError(f"could not open the {protocol!r} filesystem: {exc}", mount=mount) from exc

    def _refuse_unknown_options(self, mount: str, protocol: str, cls: type, options: dict[str, Any]) -> None:
        """Raise :class:`StorageConfigError` for the first option ``cls`` does not take.

        Checked before the filesystem is built: some filesystems drop unknown options,
        others fail on them only at first use, far from the configuration.
        """
        known, complete = known_fs_options(cls)
        if not (complete or self.strict_options):
            return  # some __init__ passes **kwargs on where we cannot see (aiohttp, paramiko...)
        for key in options:
            if key not in known:
                valid = (*known, *self.own_options, *CONFIG_KEYS)
                raise unknown_option(mount, key, protocol, valid, self.nested_options())

    @classmethod
    def nested_options(cls) -> dict[str, Iterable[str]]:
        """The filesystem's dict options and the keys each takes (``client_kwargs``...):
        an unknown top-level key that belongs in one is told where it goes."""
        return {}

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
        return list(self.listdir_info(path))

    def listdir_info(self, path: str) -> dict[str, dict[str, Any]]:
        # One listing request: names with their sizes, times and validators.
        full = self.fspath(path)
        try:
            entries = self.fs.ls(full, detail=True)
        except FileNotFoundError:
            if not path:
                return {}
            raise
        here = self.fs._strip_protocol(full).strip("/") if full else ""
        prefix = f"{here}/" if here else ""
        found = {}
        for entry in entries:
            name = self.fs._strip_protocol(entry["name"]).strip("/")
            if name == here:
                if entry.get("type") == "file" and len(entries) == 1 and not str(entry["name"]).endswith("/"):
                    raise NotADirectoryError(20, "Not a directory", full)
                continue  # the folder's own marker object ('key/' on object stores)
            child = name[len(prefix) :] if name.startswith(prefix) else name.rpartition("/")[2]
            found[child] = self._normalize_info(entry)
        return found

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

    def open_write(self, path: str, *, exclusive: bool = False) -> AtomicWriter:
        if exclusive and "exclusive_create" not in self.capabilities:
            raise self.unsupported("exclusive create", path)
        upload = _SpooledUpload(self.fs, self._writable_path(path), exclusive, self.write_options(path))
        return AtomicWriter(upload, upload.commit, upload.discard)

    def write_options(self, path: str) -> dict[str, Any]:
        """The filesystem's options for an object written at ``path``: none here; S3 gives its
        Content-Type, so a streamed object is typed as an uploaded one is."""
        return {}

    def write_bytes(self, path: str, data: bytes) -> None:
        full = self._writable_path(path)
        self.fs.pipe_file(full, bytes(data), **self.write_options(path))
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
    own_options = ("base_url",)

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
