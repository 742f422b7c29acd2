"""Each ``GENRO_STORAGE_*`` key's default and check: a bad value raises
:class:`~genro_storage.StorageConfigError` naming its key (``init_app`` fails with it)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from genro_storage import StorageConfigError, StorageManager
from genro_storage.signing import derive_secret, signing_key

__all__ = [
    "PREFIX",
    "DEFAULTS",
    "config_key",
    "check_known",
    "mount_names",
    "url_secret",
    "upload_types",
    "max_upload_size",
    "base_url",
    "flag",
]

PREFIX = "GENRO_STORAGE_"

#: Every key this extension reads (without the prefix), with its default.
DEFAULTS: dict[str, Any] = {
    "MOUNTS": [],
    "URL_SECRET": None,
    "BASE_URL": "/files/",
    "PUBLIC_MOUNTS": [],
    "SERVE": {},
    "OFFLOAD": {},
    "MAX_UPLOAD_SIZE": None,
    "UPLOAD_TYPES": {},
    "UPLOAD_SAME_ORIGIN": True,
}

#: ``type/subtype`` or ``type/*`` (RFC 9110 tokens, lowercased).
_MEDIA_PATTERN = re.compile(r"[a-z0-9!#$&^_.+-]+/(?:\*|[a-z0-9!#$&^_.+-]+)")


def config_key(name: str) -> str:
    """The config key of ``name``: ``GENRO_STORAGE_`` + ``name``."""
    return PREFIX + name


def check_known(config: Mapping[str, Any]) -> None:
    """A ``GENRO_STORAGE_`` key this extension does not read is a typo: say which."""
    known = [config_key(name) for name in DEFAULTS]
    for key in config:
        if isinstance(key, str) and key.startswith(PREFIX) and key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
            raise StorageConfigError(f"unknown config key {key!r}{hint}")


def mount_names(storage: StorageManager, value: Any, key: str) -> frozenset[str]:
    """Key ``key``'s value as a set of the manager's mount names."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise StorageConfigError(f"must be a list of mount names, not {value!r}", key=config_key(key))
    names = tuple(value)
    for name in names:
        if not isinstance(name, str):
            raise StorageConfigError(f"must hold mount names (strings), not {name!r}", key=config_key(key))
        if name not in storage.mounts:
            known = ", ".join(sorted(storage.mounts)) or "none configured"
            raise StorageConfigError(f"names {name!r}, which is not a mount (mounts: {known})", key=config_key(key))
    return frozenset(names)


def url_secret(config: Mapping[str, Any]) -> str | bytes | None:
    """The URL signing key: ``URL_SECRET``, else one derived from ``SECRET_KEY``, else None.
    A guessable ``SECRET_KEY`` is refused: anyone could sign a URL to any private file."""
    secret = config[config_key("URL_SECRET")]
    if secret is None:
        secret_key = config.get("SECRET_KEY")
        if not secret_key:
            return None
        try:
            return derive_secret(secret_key)
        except (TypeError, ValueError) as exc:
            raise StorageConfigError(
                f"{exc}; it signs the file URLs unless {config_key('URL_SECRET')} is set", key="SECRET_KEY"
            ) from None
    try:
        signing_key(secret)
    except (TypeError, ValueError) as exc:
        raise StorageConfigError(str(exc), key=config_key("URL_SECRET")) from None
    return secret


def upload_types(storage: StorageManager, value: Any) -> dict[str, tuple[str, ...]]:
    """``UPLOAD_TYPES``: per mount, the lowercased media types (``type/*`` allowed) it takes."""
    key = config_key("UPLOAD_TYPES")
    if not isinstance(value, Mapping):
        raise StorageConfigError(f"must be a dict of mount: [media types], not {type(value).__name__}", key=key)
    types = {}
    for mount, patterns in value.items():
        mount_names(storage, [mount], "UPLOAD_TYPES")
        if isinstance(patterns, str) or not isinstance(patterns, Iterable):
            raise StorageConfigError(f"{mount!r}: must be a list of media types like 'image/*'", key=key)
        patterns = tuple(patterns)
        for pattern in patterns:
            if not isinstance(pattern, str) or not _MEDIA_PATTERN.fullmatch(pattern.lower()):
                raise StorageConfigError(
                    f"{mount!r}: {pattern!r} is not a media type like 'image/png' or 'image/*'", key=key
                )
        types[mount] = tuple(pattern.lower() for pattern in patterns)
    return types


def max_upload_size(value: Any) -> int | None:
    """``MAX_UPLOAD_SIZE``: a positive number of bytes, or None."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise StorageConfigError(
            f"must be bytes (at least 1) or None, not {value!r}", key=config_key("MAX_UPLOAD_SIZE")
        )
    return value


def base_url(value: Any) -> str:
    """A path from the site's root (``/files/``) or an absolute http(s) URL, ending in ``/``."""
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or not (
        (value.startswith("/") and not value.startswith("//")) or (parts.scheme in ("http", "https") and parts.netloc)
    ):
        raise StorageConfigError(
            f"must be the blueprint's URL, a path like '/files/' or 'https://cdn.example.com/files/', not {value!r}",
            key=config_key("BASE_URL"),
        )
    return value if value.endswith("/") else value + "/"


def flag(config: Mapping[str, Any], name: str) -> bool:
    """Key ``name``'s value, which must be True or False."""
    value = config[config_key(name)]
    if not isinstance(value, bool):
        raise StorageConfigError(f"must be True or False, not {value!r}", key=config_key(name))
    return value
