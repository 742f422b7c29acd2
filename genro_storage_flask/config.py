"""The ``GENRO_STORAGE_*`` keys of ``app.config``: defaults, checks, and the state built
from them once, in ``init_app``, so a mistake fails at start-up naming its key.

Every key, with its default:

- ``GENRO_STORAGE_MOUNTS`` (``[]``): the mounts, a list of dicts or the path of a YAML,
  JSON or TOML file (see :meth:`genro_storage.StorageManager.configure`).
- ``GENRO_STORAGE_URL_SECRET`` (``None``): the key signing URLs of local and memory mounts;
  when None, one derived from ``SECRET_KEY`` (never ``SECRET_KEY`` itself, so a leaked URL
  key is not the session key), which must then be at least 16 bytes, not one character
  repeated. With neither, ``node.url()`` on those mounts raises.
- ``GENRO_STORAGE_BASE_URL`` (``'/files/'``, under ``APPLICATION_ROOT`` when the app is
  mounted below the site's root): the blueprint's public URL, which signed URLs start with;
  the blueprint's routes default to it less ``APPLICATION_ROOT``. A path starting with
  ``/``, or an absolute ``http(s)://`` URL.
- ``GENRO_STORAGE_PUBLIC_MOUNTS`` (``[]``): mounts the blueprint serves without a signature
  or an ``authorize`` check. Files of every other mount are answered ``Cache-Control:
  private`` (never ``public``), by the blueprint, ``send_node`` and ``ext.serve`` alike.
- ``GENRO_STORAGE_SERVE`` (``{}``): serving options
  (:class:`genro_storage.http.ServeOptions`: ``MAX_AGE``, ``ACTIVE_CONTENT``...).
- ``GENRO_STORAGE_OFFLOAD`` (``{}``): per mount, who sends the bytes once access is granted:
  ``{"uploads": "x-accel-redirect", "s3": "redirect"}`` (see
  :class:`genro_storage.http.Offload`). Flask's own ``USE_X_SENDFILE`` offloads every other
  local mount with ``X-Sendfile``, as ``send_file`` does.
- ``GENRO_STORAGE_MAX_UPLOAD_SIZE`` (``None``): the largest upload request body, in bytes
  (None: only Flask's ``MAX_CONTENT_LENGTH`` applies).
- ``GENRO_STORAGE_UPLOAD_TYPES`` (``{}``): per mount, the media types uploads may have, as
  guessed from the file name: ``{"avatars": ["image/*"], "docs": ["application/pdf"]}``
  (``type/*`` is the only wildcard).
- ``GENRO_STORAGE_UPLOAD_SAME_ORIGIN`` (``True``): refuse (403) an upload a browser sends
  from another site (``Sec-Fetch-Site: cross-site``, or an ``Origin`` whose host is not the
  request's); False leaves cross-site requests to the app's own CSRF protection.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from genro_storage import StorageConfigError, StorageManager
from genro_storage.http import Offload, ServeOptions, offloads
from genro_storage.signing import derive_secret, signing_key

__all__ = ["PREFIX", "DEFAULTS", "AppState", "build_state"]

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

#: Offloads every local mount with no offload of its own when ``USE_X_SENDFILE`` is on.
X_SENDFILE = Offload("x-sendfile")


@dataclass
class AppState:
    """What one app's configuration built: kept in ``app.extensions['genro_storage']``."""

    extension: Any
    storage: StorageManager
    options: ServeOptions
    #: ``options`` with ``private``: how files of mounts not in ``public`` are answered.
    private_options: ServeOptions
    base_url: str
    public: frozenset[str]
    offload: dict[str, Offload]
    max_upload_size: int | None
    upload_types: dict[str, tuple[str, ...]]
    same_origin: bool
    #: Per registered blueprint (its full name): what it serves, built at registration.
    routes: dict[str, Any] = field(default_factory=dict)
    #: ``options`` with per-call keywords applied, by ``(private, keywords)``: see ``options_for``.
    derived: dict[Any, ServeOptions] = field(default_factory=dict)


def _key(name: str) -> str:
    return PREFIX + name


def _check_known(config: Mapping[str, Any]) -> None:
    """A ``GENRO_STORAGE_`` key this extension does not read is a typo: say which."""
    known = [_key(name) for name in DEFAULTS]
    for key in config:
        if isinstance(key, str) and key.startswith(PREFIX) and key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
            raise StorageConfigError(f"unknown config key {key!r}{hint}")


def _mount_names(storage: StorageManager, value: Any, key: str) -> frozenset[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise StorageConfigError(f"must be a list of mount names, not {value!r}", key=_key(key))
    names = tuple(value)
    for name in names:
        if not isinstance(name, str):
            raise StorageConfigError(f"must hold mount names (strings), not {name!r}", key=_key(key))
        if name not in storage.mounts:
            known = ", ".join(sorted(storage.mounts)) or "none configured"
            raise StorageConfigError(f"names {name!r}, which is not a mount (mounts: {known})", key=_key(key))
    return frozenset(names)


def _url_secret(config: Mapping[str, Any]) -> str | bytes | None:
    secret = config[_key("URL_SECRET")]
    if secret is None:
        secret_key = config.get("SECRET_KEY")
        if not secret_key:
            return None
        try:
            return derive_secret(secret_key)
        except (TypeError, ValueError) as exc:
            # A guessable SECRET_KEY would let anyone sign a URL to any private file.
            raise StorageConfigError(
                f"{exc}; it signs the file URLs unless {_key('URL_SECRET')} is set", key="SECRET_KEY"
            ) from None
    try:
        signing_key(secret)
    except (TypeError, ValueError) as exc:
        raise StorageConfigError(str(exc), key=_key("URL_SECRET")) from None
    return secret


def _upload_types(storage: StorageManager, value: Any) -> dict[str, tuple[str, ...]]:
    key = _key("UPLOAD_TYPES")
    if not isinstance(value, Mapping):
        raise StorageConfigError(f"must be a dict of mount: [media types], not {type(value).__name__}", key=key)
    types = {}
    for mount, patterns in value.items():
        _mount_names(storage, [mount], "UPLOAD_TYPES")
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


def _max_upload_size(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise StorageConfigError(f"must be bytes (at least 1) or None, not {value!r}", key=_key("MAX_UPLOAD_SIZE"))
    return value


def _base_url(value: Any) -> str:
    """A path from the site's root (``/files/``) or an absolute http(s) URL, ending in ``/``."""
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or not (
        (value.startswith("/") and not value.startswith("//")) or (parts.scheme in ("http", "https") and parts.netloc)
    ):
        raise StorageConfigError(
            f"must be the blueprint's URL, a path like '/files/' or 'https://cdn.example.com/files/', not {value!r}",
            key=_key("BASE_URL"),
        )
    return value if value.endswith("/") else value + "/"


def _flag(config: Mapping[str, Any], name: str) -> bool:
    value = config[_key(name)]
    if not isinstance(value, bool):
        raise StorageConfigError(f"must be True or False, not {value!r}", key=_key(name))
    return value


def build_state(extension: Any, config: dict[str, Any]) -> AppState:
    """Set the defaults in ``config`` (``setdefault``), check every key, build the manager."""
    root = config.get("APPLICATION_ROOT")
    if isinstance(root, str) and root.startswith("/") and root.rstrip("/"):
        config.setdefault(_key("BASE_URL"), root.rstrip("/") + DEFAULTS["BASE_URL"])  # the URL carries the root
    for name, default in DEFAULTS.items():
        config.setdefault(_key(name), default.copy() if isinstance(default, (list, dict)) else default)
    _check_known(config)
    storage = StorageManager()
    try:
        storage.configure(config[_key("MOUNTS")])
    except StorageConfigError as exc:
        raise StorageConfigError(f"{_key('MOUNTS')}: {exc}") from None
    base_url = _base_url(config[_key("BASE_URL")])
    secret = _url_secret(config)
    if secret is not None:
        storage.configure_urls(secret, base_url)
    options = ServeOptions.from_mapping(config[_key("SERVE")], source=_key("SERVE"))  # its errors name the key
    try:
        offload = offloads(storage, config[_key("OFFLOAD")])
    except StorageConfigError as exc:
        raise StorageConfigError(f"{_key('OFFLOAD')}: {exc}") from None
    return AppState(
        extension=extension,
        storage=storage,
        options=options,
        private_options=options if options.private else replace(options, private=True),
        base_url=base_url,
        public=_mount_names(storage, config[_key("PUBLIC_MOUNTS")], "PUBLIC_MOUNTS"),
        offload=offload,
        max_upload_size=_max_upload_size(config[_key("MAX_UPLOAD_SIZE")]),
        upload_types=_upload_types(storage, config[_key("UPLOAD_TYPES")]),
        same_origin=_flag(config, "UPLOAD_SAME_ORIGIN"),
    )
