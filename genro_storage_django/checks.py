"""System checks (``manage.py check``): every mistake in the storage settings, with an id
and a hint, before the first request meets it.

- ``genro_storage.E001`` GENRO_STORAGE is not a dict, or has an unknown key
- ``genro_storage.E002`` a mount's configuration is wrong (the core's message: mount, key)
- ``genro_storage.E003`` a mount's type needs a package that is not installed
- ``genro_storage.E004`` a mount named in the settings or by a model field does not exist
- ``genro_storage.E005`` DEFAULT_FILE_STORAGE names GenroStorage, which Django 5.1+ ignores
- ``genro_storage.E006`` GENRO_STORAGE['SERVE'] holds an unknown or bad option
- ``genro_storage.E007`` the URL signing secret is unusable
- ``genro_storage.E008`` a STORAGES entry gives GenroStorage options it does not take
- ``genro_storage.E009`` BASE_URL is not where genro_storage_django.urls is included
- ``genro_storage.E010`` AUTHORIZE is not a callable (or the dotted path of one)
- ``genro_storage.E011`` OFFLOAD gives a mount a mode its backend cannot do, or a bad key
- ``genro_storage.W001`` mounts get URLs to the serve view, which no URLconf includes
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import django
from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from genro_storage import StorageConfigError, StorageManager, check_config
from genro_storage.http import offloads
from genro_storage.signing import signing_key

from . import conf
from .fields import MountFileField, MountImageField
from .storage import GenroStorage

BACKEND = "genro_storage_django.storage.GenroStorage"


def _error(number: int, message: str, hint: str | None = None, obj: Any = None) -> checks.Error:
    return checks.Error(message, hint=hint, obj=obj, id=f"genro_storage.E{number:03d}")


@checks.register(checks.Tags.files, "genro_storage")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        config = conf.genro_settings()
    except ImproperlyConfigured as exc:
        return [_error(1, str(exc), "GENRO_STORAGE keys: " + ", ".join(conf.DEFAULTS))]
    errors = _mount_errors(config)
    mounts = _mount_names(config)
    if mounts is not None:
        errors += _named_mounts(config, mounts)
    errors += _file_storage_setting()
    try:
        conf.serve_options(config)
    except ValueError as exc:
        errors.append(_error(6, str(exc), "serve options: see genro_storage.http.ServeOptions"))
    try:
        signing_key(conf.url_secret(config))
    except (TypeError, ValueError, ImproperlyConfigured) as exc:
        if config["URL_SECRET"] is None:  # derived from SECRET_KEY, whose own message this is
            errors.append(_error(7, str(exc), "set a long random SECRET_KEY, or GENRO_STORAGE['URL_SECRET']"))
        else:
            errors.append(
                _error(7, f"GENRO_STORAGE['URL_SECRET']: {exc}", "leave it unset to derive one from SECRET_KEY")
            )
    try:
        conf.authorize(config)
    except ImproperlyConfigured as exc:
        errors.append(_error(10, str(exc), "def authorize(request, node): return request.user.is_staff"))
    if not errors and mounts is not None:
        errors += _serving(config, conf.build_manager(config))
    return errors


def _serving(config: dict[str, Any], manager: StorageManager) -> list[checks.CheckMessage]:
    """OFFLOAD against each mount's backend, and BASE_URL against the urls include."""
    errors: list[checks.CheckMessage] = []
    try:
        offloads(manager, {m: v for m, v in config["OFFLOAD"].items() if m in manager.mounts})
    except StorageConfigError as exc:
        errors.append(
            _error(
                11,
                f"GENRO_STORAGE['OFFLOAD']: {exc}",
                "x-accel-redirect / x-sendfile for local mounts, redirect for S3, GCS, Azure",
            )
        )
    served = sorted(name for name, mount in manager.mounts.items() if not mount.backend.supports("presign"))
    if not served:
        return errors  # every URL is the service's own
    base = urlsplit(config["BASE_URL"]).path
    try:
        included = reverse("genro_storage:serve", kwargs={"path": "mount/file"})[: -len("mount/file")]
    except NoReverseMatch:
        return errors + [
            checks.Warning(
                f"storage.url() of mounts {', '.join(served)} points at BASE_URL {base!r}, "
                "but no URLconf includes genro_storage_django.urls",
                hint=f'add path("{base.lstrip("/")}", include("genro_storage_django.urls")) to your urls',
                id="genro_storage.W001",
            )
        ]
    if included != base:
        errors.append(
            _error(
                9,
                f"GENRO_STORAGE['BASE_URL'] is {base!r} but genro_storage_django.urls is included at {included!r}: "
                "signed URLs would not reach the serve view",
                f"set GENRO_STORAGE['BASE_URL'] = {included!r}, or include the urls at {base!r}",
            )
        )
    return errors


def _mount_errors(config: dict[str, Any]) -> list[checks.CheckMessage]:
    errors = []
    for problem in check_config(config["MOUNTS"]):
        text = str(problem)
        if problem.key == "type" and "pip install" in text:
            errors.append(_error(3, f"GENRO_STORAGE['MOUNTS']: {text}", "install the extra the message names"))
        else:
            hint = f"fix key {problem.key!r} of that mount" if problem.key else None
            errors.append(_error(2, f"GENRO_STORAGE['MOUNTS']: {text}", hint))
    return errors


def _mount_names(config: dict[str, Any]) -> set[str] | None:
    """The names of the configured mounts (None when the configuration cannot be read)."""
    mounts = config["MOUNTS"]
    if isinstance(mounts, (list, tuple)):
        return {m.get("name") for m in mounts if isinstance(m, dict)}
    try:
        return set(conf.build_manager(config).mounts)
    except Exception:
        return None  # already reported by _mount_errors


def _named_mounts(config: dict[str, Any], mounts: set[str]) -> list[checks.CheckMessage]:
    """Every place the settings name a mount must name a configured one."""
    known = ", ".join(sorted(m for m in mounts if m)) or "none"
    places: list[tuple[str, Any]] = [("GENRO_STORAGE['DEFAULT_MOUNT']", config["DEFAULT_MOUNT"])]
    places += [("GENRO_STORAGE['PUBLIC_MOUNTS']", name) for name in config["PUBLIC_MOUNTS"]]
    places += [("GENRO_STORAGE['OFFLOAD']", name) for name in config["OFFLOAD"]]
    errors = []
    for alias, entry in (getattr(settings, "STORAGES", None) or {}).items():
        cls = _genro_backend(entry.get("BACKEND"))
        if cls is None:
            continue
        options = entry.get("OPTIONS", {})
        try:
            cls(**options)
        except (ImproperlyConfigured, TypeError) as exc:
            errors.append(_error(8, f"STORAGES[{alias!r}]['OPTIONS']: {exc}"))
        mount = options.get("mount") or config["DEFAULT_MOUNT"]
        if mount is None:
            errors.append(
                _error(4, f"STORAGES[{alias!r}] uses {cls.__name__} without a mount", "give OPTIONS {'mount': ...}")
            )
        else:
            places.append((f"STORAGES[{alias!r}]['OPTIONS']['mount']", mount))
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, (MountFileField, MountImageField)) and field.mount is not None:
                places.append((f"{model._meta.label}.{field.name} (mount=...)", field.mount))
    for where, name in places:
        if name is not None and name not in mounts:
            errors.append(_error(4, f"{where} names {name!r}, which is not a mount", f"mounts: {known}"))
    return errors


def _genro_backend(path: Any) -> type[GenroStorage] | None:
    """The class a STORAGES entry names, if it is one of ours (GenroStorage or a subclass)."""
    if not isinstance(path, str) or not path.startswith("genro_storage_django."):
        return None
    try:
        cls = import_string(path)
    except ImportError:
        return None  # Django's own check reports a backend that cannot be imported
    return cls if isinstance(cls, type) and issubclass(cls, GenroStorage) else None


def _file_storage_setting() -> list[checks.CheckMessage]:
    """Django 5.1 stopped reading DEFAULT_FILE_STORAGE: naming our class there does nothing."""
    if django.VERSION < (5, 1):
        return []
    if getattr(settings, "DEFAULT_FILE_STORAGE", None) != BACKEND:
        return []
    return [
        _error(
            5,
            "DEFAULT_FILE_STORAGE names GenroStorage, but Django 5.1 and later ignore that setting",
            'use STORAGES = {"default": {"BACKEND": "genro_storage_django.storage.GenroStorage", '
            '"OPTIONS": {"mount": "..."}}, "staticfiles": ...}',
        )
    ]
