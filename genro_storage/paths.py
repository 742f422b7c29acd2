"""Path safety: every path a user gives goes through :func:`normalize_path` once.

Paths inside a mount always use ``/`` and are relative to the mount's root; the
canonical form has no leading or trailing slash, and ``''`` is the root itself.
Everything that could reach outside the mount, or mean different things on different
backends, is refused here, before any backend is touched.
"""

from __future__ import annotations

import re

from .errors import StorageConfigError, StoragePathError

__all__ = ["normalize_path", "join_path", "validate_mount_name"]

MOUNT_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")


def normalize_path(path: str, mount: str | None = None) -> str:
    """Return ``path`` in canonical form, or raise :class:`StoragePathError`.

    Refused, each for the reason beside it:
    ``\\x00``        NUL ends C strings: the OS would see another name than we checked;
    ``\\``           a separator on Windows, so ``a\\..\\b`` could climb out there;
    leading ``/``    an absolute path ignores the mount root;
    ``..`` and ``.`` segments climb out of (or alias) a folder;
    empty segments   ``a//b`` names the same file as ``a/b`` on some backends and not others.
    One trailing ``/`` is accepted and dropped (``'docs/'`` is the folder ``docs``).
    """
    if not isinstance(path, str):
        raise StoragePathError(f"path must be a str, not {type(path).__name__}", mount=mount, path=repr(path))
    if not path:
        return ""
    if "\x00" in path:
        raise StoragePathError("NUL byte in path", mount=mount, path=path)
    if "\\" in path:
        raise StoragePathError("backslash in path (paths use '/')", mount=mount, path=path)
    if path[0] == "/":
        raise StoragePathError("absolute path refused (paths are relative to the mount)", mount=mount, path=path)
    canonical = path[:-1] if path[-1] == "/" else path
    if "//" in canonical or canonical.endswith("/"):
        raise StoragePathError("empty path segment", mount=mount, path=path)
    if "." in canonical:
        wrapped = f"/{canonical}/"
        if "/../" in wrapped:
            raise StoragePathError("'..' segment refused (paths cannot leave their mount)", mount=mount, path=path)
        if "/./" in wrapped:
            raise StoragePathError("'.' segment refused", mount=mount, path=path)
    return canonical


def join_path(base: str, *parts: str, mount: str | None = None) -> str:
    """Join canonical ``base`` with user-given ``parts``, each checked by :func:`normalize_path`."""
    pieces = [base] if base else []
    for part in parts:
        part = normalize_path(part, mount)
        if part:
            pieces.append(part)
    return "/".join(pieces)


def validate_mount_name(name: object) -> str:
    """Return ``name`` if it can be a mount name (letters, digits, ``_ . -``), else raise."""
    if not isinstance(name, str) or not name:
        raise StorageConfigError(f"mount name must be a non-empty string, got {name!r}", key="name")
    if not MOUNT_NAME_RE.match(name):
        raise StorageConfigError(
            f"invalid mount name {name!r}: use letters, digits, '_', '.', '-' (no ':' or '/')",
            mount=name,
            key="name",
        )
    return name
