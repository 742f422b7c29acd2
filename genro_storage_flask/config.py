"""The ``GENRO_STORAGE_*`` keys of ``app.config`` and the state built from them once, in
``init_app``, each key checked there (:mod:`.keys`) so a mistake fails at start-up naming it.

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

from dataclasses import dataclass, field, replace
from typing import Any

from genro_storage import StorageConfigError, StorageManager
from genro_storage.http import Offload, ServeOptions, offloads

from . import keys
from .keys import DEFAULTS, PREFIX
from .keys import config_key as _key

__all__ = ["PREFIX", "DEFAULTS", "AppState", "build_state"]

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


def build_state(extension: Any, config: dict[str, Any]) -> AppState:
    """Set the defaults in ``config`` (``setdefault``), check every key, build the manager."""
    root = config.get("APPLICATION_ROOT")
    if isinstance(root, str) and root.startswith("/") and root.rstrip("/"):
        config.setdefault(_key("BASE_URL"), root.rstrip("/") + DEFAULTS["BASE_URL"])  # the URL carries the root
    for name, default in DEFAULTS.items():
        config.setdefault(_key(name), default.copy() if isinstance(default, (list, dict)) else default)
    keys.check_known(config)
    storage = StorageManager()
    try:
        storage.configure(config[_key("MOUNTS")])
    except StorageConfigError as exc:
        raise StorageConfigError(f"{_key('MOUNTS')}: {exc}") from None
    base_url = keys.base_url(config[_key("BASE_URL")])
    secret = keys.url_secret(config)
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
        public=keys.mount_names(storage, config[_key("PUBLIC_MOUNTS")], "PUBLIC_MOUNTS"),
        offload=offload,
        max_upload_size=keys.max_upload_size(config[_key("MAX_UPLOAD_SIZE")]),
        upload_types=keys.upload_types(storage, config[_key("UPLOAD_TYPES")]),
        same_origin=keys.flag(config, "UPLOAD_SAME_ORIGIN"),
    )
