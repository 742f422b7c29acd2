"""StorageManager: the mounts of one application and the entry point to their nodes."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from .backends import BUILTIN_TYPES, StorageBackend, is_fsspec_protocol, load_builtin
from .backends.base import CAPABILITIES
from .config import MountConfig, load_config_file, mount_config_problems, normalize_mount_config
from .errors import MountNotFoundError, StorageConfigError, StoragePermissionError
from .node import StorageNode
from .paths import join_path, normalize_path
from .signing import URLSigner

__all__ = ["StorageManager", "Mount", "check_config"]


class Mount:
    """A configured mount: its name, backend and permissions."""

    __slots__ = ("name", "backend", "permissions", "type", "can_write", "can_delete", "serving_cache")

    def __init__(self, name: str, type_name: str, backend: StorageBackend, permissions: str):
        self.name = name
        self.type = type_name
        self.backend = backend
        self.permissions = permissions
        self.can_write = permissions != "readonly"
        self.can_delete = permissions == "delete"
        #: What the HTTP responder keeps for this mount (each file version's headers), so
        #: that two managers, or two mounts, never share it.
        self.serving_cache: dict[Any, Any] = {}

    def __repr__(self) -> str:
        return f"<Mount {self.name!r} type={self.type!r} permissions={self.permissions!r}>"

    def require_write(self, path: str) -> None:
        """Raise ``StoragePermissionError`` unless this mount may be written."""
        if not self.can_write:
            raise StoragePermissionError(self.name, path, f"mount {self.name!r} is readonly")

    def require_delete(self, path: str) -> None:
        """Raise ``StoragePermissionError`` unless files may be deleted on this mount."""
        if not self.can_delete:
            raise StoragePermissionError(
                self.name, path, f"mount {self.name!r} is {self.permissions}: deleting needs permissions 'delete'"
            )


class StorageManager:
    """The mounts of an application, and ``node('mount:path')`` to reach their files.

    Instances are independent (no global state): two managers never share mounts,
    memory stores or filesystem caches. A manager can be shared between threads.
    """

    def __init__(self, mounts: Iterable[Mapping[str, Any]] | str | os.PathLike[str] | None = None):
        self._mounts: dict[str, Mount] = {}
        self._types: dict[str, type[StorageBackend]] = {}
        self._lock = threading.RLock()
        self._signer: URLSigner | None = None
        if mounts is not None:
            self.configure(mounts)

    def __repr__(self) -> str:
        return f"<StorageManager mounts={list(self._mounts)!r}>"

    # -- configuration ----------------------------------------------------------------

    @staticmethod
    def _configs(source: Iterable[Mapping[str, Any]] | str | os.PathLike[str]) -> list[Any]:
        """The mount dicts of a list, or of a YAML / JSON / TOML file."""
        if isinstance(source, (str, os.PathLike)):
            return load_config_file(source)
        if isinstance(source, (Mapping, bytes, bytearray)) or not isinstance(source, Iterable):
            raise StorageConfigError(
                f"a configuration is a list of mount dicts or a file path, not {type(source).__name__}"
            )
        return list(source)

    def configure(self, source: Iterable[Mapping[str, Any]] | str | os.PathLike[str]) -> None:
        """Add the mounts of a list of dicts, or of a YAML / JSON / TOML file.

        All or nothing: if any mount is invalid, none of them is added (the first problem
        is raised; :meth:`check_config` lists them all).
        """
        configs = self._configs(source)
        checked = [normalize_mount_config(raw, index) for index, raw in enumerate(configs)]
        with self._lock:
            seen: set[str] = set()
            for conf in checked:
                if conf.name in seen or conf.name in self._mounts:
                    raise StorageConfigError("duplicate mount name", mount=conf.name, key="name")
                seen.add(conf.name)
            built = [self._build(conf) for conf in checked]
            for mount in built:
                self._mounts[mount.name] = mount

    def check_config(self, source: Iterable[Mapping[str, Any]] | str | os.PathLike[str]) -> list[StorageConfigError]:
        """Every problem :meth:`configure` would find in ``source``, as a list (empty when
        it is fine), without raising and without adding anything: for Django's system
        checks, Flask's ``init_app`` and the CLI's ``check``. Each error names its mount
        and key (``.mount``, ``.key``). Backends are built as ``configure`` builds them, so
        a missing package or a refused option shows; building sends no request to object
        stores, but a filesystem that connects when built (ftp, sftp) connects here too."""
        try:
            configs = self._configs(source)
        except StorageConfigError as exc:
            return [exc]
        problems: list[StorageConfigError] = []
        seen = set(self._mounts)
        for index, raw in enumerate(configs):
            conf, found = mount_config_problems(raw, index)
            problems.extend(found)
            if conf is None:
                continue
            if conf.name in seen:
                problems.append(StorageConfigError("duplicate mount name", mount=conf.name, key="name"))
                continue
            seen.add(conf.name)
            try:
                self._build(conf)
            except StorageConfigError as exc:
                problems.append(exc)
        return problems

    def add_mount(self, config: Mapping[str, Any] | None = None, /, **keys: Any) -> None:
        """Add one mount, from a dict or keywords: ``add_mount(name='tmp', type='memory')``."""
        raw = {**(config or {}), **keys}
        conf = normalize_mount_config(raw)
        with self._lock:
            if conf.name in self._mounts:
                raise StorageConfigError("duplicate mount name", mount=conf.name, key="name")
            self._mounts[conf.name] = self._build(conf)

    def remove_mount(self, name: str) -> None:
        """Remove a mount; nodes made before keep working on their backend."""
        with self._lock:
            if name not in self._mounts:
                raise MountNotFoundError(name, tuple(self._mounts))
            del self._mounts[name]

    @property
    def mounts(self) -> Mapping[str, Mount]:
        """A read-only view of the mounts by name."""
        return MappingProxyType(self._mounts)

    def has_mount(self, name: str) -> bool:
        return name in self._mounts

    def register_backend_type(self, name: str, cls: type[StorageBackend], *, replace: bool = False) -> None:
        """Make ``cls`` the backend of mounts of type ``name`` on this manager.

        Refuses to shadow a built-in or already registered type unless ``replace=True``.
        """
        if not (isinstance(cls, type) and issubclass(cls, StorageBackend)):
            raise TypeError(f"backend class must subclass genro_storage.StorageBackend, got {cls!r}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"backend type name must be a non-empty string, got {name!r}")
        unknown = set(cls.capabilities) - set(CAPABILITIES)
        if unknown:
            raise ValueError(
                f"{cls.__name__}.capabilities names {', '.join(sorted(unknown))}, not capabilities "
                f"(known: {', '.join(sorted(CAPABILITIES))})"
            )
        with self._lock:
            if not replace and (name in self._types or name in BUILTIN_TYPES):
                raise ValueError(f"backend type {name!r} is already registered; pass replace=True to override it")
            self._types[name] = cls

    def _backend_class(self, conf: MountConfig) -> type[StorageBackend] | None:
        """The class for ``conf.type``; None means a generic fsspec protocol."""
        if conf.type in self._types:
            return self._types[conf.type]
        if conf.type in BUILTIN_TYPES:
            try:
                return load_builtin(conf.type)
            except ImportError as exc:
                raise StorageConfigError(str(exc), mount=conf.name, key="type") from exc
        if is_fsspec_protocol(conf.type):
            return None
        known = sorted({*BUILTIN_TYPES, *self._types})
        raise StorageConfigError(
            f"unknown backend type {conf.type!r} (known: {', '.join(known)}, or any fsspec protocol)",
            mount=conf.name,
            key="type",
        )

    def _build(self, conf: MountConfig) -> Mount:
        cls = self._backend_class(conf)
        options = dict(conf.options)
        if cls is None:
            # Imported here: fsspec costs ~60 ms at import, paid only by apps that use it.
            from .backends.fsspec import FsspecBackend

            backend: StorageBackend = FsspecBackend(conf.name, protocol=conf.type, **options)
        else:
            try:
                backend = cls(conf.name, **options)
            except TypeError as exc:
                # A custom backend's own signature refused a key.
                raise StorageConfigError(str(exc), mount=conf.name) from exc
        permissions = conf.permissions
        if not backend.writable:
            if permissions not in (None, "readonly"):
                raise StorageConfigError(
                    f"a {conf.type!r} mount is read-only; permissions {permissions!r} cannot be granted",
                    mount=conf.name,
                    key="permissions",
                )
            permissions = "readonly"
        return Mount(conf.name, conf.type, backend, permissions or "delete")

    def configure_urls(self, secret: str | bytes, base_url: str = "/") -> None:
        """Set the secret and the serving app's base URL used by ``node.url()`` on mounts
        the service cannot presign (local, memory, base64). The secret is str or bytes of
        at least 16 bytes (a random one: ``secrets.token_urlsafe(32)``); anything else
        raises, naming the problem."""
        self._signer = URLSigner(secret, base_url)

    def url_signer(self, mount: str | None = None) -> URLSigner:
        """The :class:`URLSigner` set by :meth:`configure_urls`."""
        if self._signer is None:
            raise StorageConfigError(
                "signed URLs need a secret: call storage.configure_urls(secret=..., base_url=...)",
                mount=mount,
            )
        return self._signer

    # -- access -------------------------------------------------------------------------

    def get_mount(self, name: str) -> Mount:
        """The :class:`Mount` named ``name``; raises :class:`MountNotFoundError`."""
        try:
            return self._mounts[name]
        except KeyError:
            raise MountNotFoundError(name, tuple(self._mounts)) from None

    def get_backend(self, name: str) -> StorageBackend:
        """The backend of mount ``name`` (fsspec-backed ones expose ``.fs``)."""
        return self.get_mount(name).backend

    def node(self, mount_or_spec: str, *parts: str) -> StorageNode:
        """The node at ``'mount:path'``, or ``node('mount', 'dir', 'file.txt')``.

        The path is checked (no ``..``, absolute paths, NUL, backslashes, empty segments)
        and the mount must exist; nothing touches a backend here.
        """
        if not isinstance(mount_or_spec, str):
            raise TypeError(f"node() takes 'mount:path' strings, not {type(mount_or_spec).__name__}")
        name, _, path = mount_or_spec.partition(":")
        try:
            mount = self._mounts[name]
        except KeyError:
            raise MountNotFoundError(name, tuple(self._mounts)) from None
        if not path and len(parts) == 1:
            path = normalize_path(parts[0], name)  # node('mount', 'path'): nothing to join
        else:
            path = normalize_path(path, name) if path else ""
            if parts:
                path = join_path(path, *parts, mount=name)
        return StorageNode(self, mount, path)


def check_config(source: Iterable[Mapping[str, Any]] | str | os.PathLike[str]) -> list[StorageConfigError]:
    """Every problem of a mount configuration (a list of dicts or a file), never raising;
    see :meth:`StorageManager.check_config` (which also knows the types it registered)."""
    return StorageManager().check_config(source)
