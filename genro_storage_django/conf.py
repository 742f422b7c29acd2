"""The only module that reads ``settings.GENRO_STORAGE``: defaults, one manager per process.

The manager is built lazily from settings on first use and rebuilt when a setting it
depends on changes (``setting_changed``), so ``override_settings`` in tests just works.
"""

from __future__ import annotations

import difflib
import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from genro_storage import StorageManager
from genro_storage.http import ServeOptions, ServeRoute
from genro_storage.signing import derive_secret

__all__ = [
    "DEFAULTS",
    "genro_settings",
    "storage_manager",
    "serve_route",
    "serving",
    "authorize",
    "url_secret",
    "reset",
]

#: Every key ``GENRO_STORAGE`` may hold, with its default.
DEFAULTS: dict[str, Any] = {
    # The mounts: a list of mount dicts, or the path of a YAML / JSON / TOML file.
    "MOUNTS": [],
    # The mount of GenroStorage() built without a mount (STORAGES OPTIONS say otherwise).
    "DEFAULT_MOUNT": None,
    # The key signing URLs of local and memory mounts; when None, one derived from
    # SECRET_KEY (never SECRET_KEY itself, so a leaked URL key is not the session key).
    "URL_SECRET": None,
    # Where genro_storage_django.urls is included: signed URLs point there.
    "BASE_URL": "/files/",
    # Mounts served without a signature (public files: their URLs are plain).
    "PUBLIC_MOUNTS": [],
    # Serving options (genro_storage.http.ServeOptions: MAX_AGE, AS_ATTACHMENT...).
    "SERVE": {},
    # callable(request, node) -> bool, or its dotted path: may this request read a file of
    # a mount not in PUBLIC_MOUNTS without a signed URL?
    "AUTHORIZE": None,
    # Per-mount offload of the bytes: {"uploads": "x-accel-redirect", "media": "x-sendfile",
    # "s3": "redirect"} or dicts ({"mode": ..., "location": "/protected/", "expires_in": 300}).
    "OFFLOAD": {},
    # Seconds a URL from storage.url() stays valid (also per storage: url_expires).
    "URL_EXPIRES": 3600,
}


_lock = threading.Lock()
_manager: StorageManager | None = None
_route: ServeRoute | None = None
_serving: tuple[ServeRoute, Any] | None = None


def genro_settings() -> dict[str, Any]:
    """``GENRO_STORAGE`` merged over :data:`DEFAULTS`; an unknown key is
    ``ImproperlyConfigured`` naming it (and the closest valid one)."""
    given = getattr(settings, "GENRO_STORAGE", {}) or {}
    if not isinstance(given, dict):
        raise ImproperlyConfigured(f"GENRO_STORAGE must be a dict, not {type(given).__name__}")
    for key in given:
        if key not in DEFAULTS:
            close = difflib.get_close_matches(str(key), list(DEFAULTS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(DEFAULTS)})"
            raise ImproperlyConfigured(f"GENRO_STORAGE has an unknown key {key!r}{hint}")
    return {**DEFAULTS, **given}


def url_secret(config: dict[str, Any] | None = None) -> str | bytes:
    """``URL_SECRET``, or a key derived from ``SECRET_KEY`` for signing storage URLs."""
    config = config if config is not None else genro_settings()
    if config["URL_SECRET"] is not None:
        return config["URL_SECRET"]
    secret_key = getattr(settings, "SECRET_KEY", "")
    if not secret_key:
        raise ImproperlyConfigured(
            "GENRO_STORAGE['URL_SECRET'] is not set, and there is no SECRET_KEY to derive it from"
        )
    try:
        return derive_secret(secret_key)
    except (TypeError, ValueError) as exc:
        # A guessable SECRET_KEY would let anyone sign a URL to any private file.
        raise ImproperlyConfigured(f"{exc}; it signs storage URLs unless GENRO_STORAGE['URL_SECRET'] is set") from None


def serve_options(config: dict[str, Any] | None = None) -> ServeOptions:
    """``SERVE`` as a checked :class:`ServeOptions`."""
    config = config if config is not None else genro_settings()
    return ServeOptions.from_mapping(config["SERVE"], source="GENRO_STORAGE['SERVE']")


def build_manager(config: dict[str, Any]) -> StorageManager:
    """A manager for these settings: the mounts, and URL signing under ``BASE_URL``."""
    manager = StorageManager()
    manager.configure(config["MOUNTS"])
    manager.configure_urls(url_secret(config), config["BASE_URL"])
    return manager


def storage_manager() -> StorageManager:
    """The process's manager, built from settings on first use (thread-safe)."""
    global _manager
    manager = _manager
    if manager is None:
        with _lock:
            if _manager is None:
                _manager = build_manager(genro_settings())
            manager = _manager
    return manager


def serve_route() -> ServeRoute:
    """What the serve view answers, built once from settings: every mount, unsigned only
    for ``PUBLIC_MOUNTS``, ``SERVE`` options, ``OFFLOAD`` per mount (ValueError, naming
    the setting, when they are wrong: the system checks report it first)."""
    global _route
    route = _route
    if route is None:
        manager = storage_manager()
        config = genro_settings()
        route = ServeRoute(
            manager,
            public=config["PUBLIC_MOUNTS"],
            base_url=config["BASE_URL"],
            options=serve_options(config),
            offload=config["OFFLOAD"],
        )
        with _lock:
            if _manager is manager:
                _route = route
    return route


def serving() -> tuple[ServeRoute, Any]:
    """The serve view's route and ``AUTHORIZE`` callable (or None), looked up once."""
    global _serving
    found = _serving
    if found is None:
        found = (serve_route(), authorize())
        with _lock:
            if _route is found[0]:
                _serving = found
    return found


def authorize(config: dict[str, Any] | None = None) -> Any:
    """``AUTHORIZE`` as a callable (imported when given as a dotted path), or None."""
    config = config if config is not None else genro_settings()
    value = config["AUTHORIZE"]
    if isinstance(value, str):
        try:
            value = import_string(value)
        except ImportError as exc:
            raise ImproperlyConfigured(f"GENRO_STORAGE['AUTHORIZE']: cannot import {value!r} ({exc})") from None
    if value is not None and not callable(value):
        raise ImproperlyConfigured(
            f"GENRO_STORAGE['AUTHORIZE'] must be callable(request, node) or its dotted path, not {value!r}"
        )
    return value


def reset() -> None:
    """Forget the manager: the next use builds one from the settings as they are then."""
    global _manager, _route, _serving
    with _lock:
        _manager = None
        _route = None
        _serving = None


@receiver(setting_changed)
def _settings_changed(setting: str, **kwargs: Any) -> None:
    """A new GENRO_STORAGE builds a new manager; a new SECRET_KEY only re-keys the URLs
    (memory mounts keep their files)."""
    if setting == "GENRO_STORAGE":
        reset()
    elif setting == "SECRET_KEY" and _manager is not None:
        config = genro_settings()
        _manager.configure_urls(url_secret(config), config["BASE_URL"])
