"""Mount configuration: reading files (YAML, JSON, TOML) and checking each mount's keys.

A configuration is a list of mounts, each a dict with ``name`` and ``type``. A file holds
that list at its top level, or under a ``mounts`` key (as a list, or a table of mounts by
name: TOML has no top-level lists). ``${VAR}`` and ``${VAR:-default}`` in a file's string
values read the environment.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import StorageConfigError
from .paths import validate_mount_name

__all__ = [
    "MountConfig",
    "PERMISSIONS",
    "load_config_file",
    "normalize_mount_config",
    "mount_config_problems",
    "expand_env",
]

#: Permission levels, each allowing what the one before allows and more.
PERMISSIONS = ("readonly", "readwrite", "delete")

#: Keys with two spellings: the alias on the left becomes the name on the right.
ALIASES = {"protocol": "type", "base_path": "path"}

_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class MountConfig:
    """One mount's configuration, checked: what a backend class is built from."""

    name: str
    type: str
    #: None when the config does not say: the backend's default applies.
    permissions: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


def normalize_mount_config(raw: Any, index: int | None = None) -> MountConfig:
    """Check a mount's dict and return it as a :class:`MountConfig`.

    Aliases are folded (``protocol`` -> ``type``, ``base_path`` -> ``path``); giving both
    spellings of a key is an error, as is a missing ``name`` or ``type``. Raises the first
    problem; :func:`mount_config_problems` gives them all.
    """
    conf, problems = mount_config_problems(raw, index)
    if problems:
        raise problems[0]
    assert conf is not None
    return conf


def mount_config_problems(raw: Any, index: int | None = None) -> tuple[MountConfig | None, list[StorageConfigError]]:
    """The :class:`MountConfig` of a mount's dict (None if it cannot be made), and every
    problem found in it, each naming the mount and the key."""
    where = f"mount #{index}" if index is not None else "mount"
    if not isinstance(raw, Mapping):
        return None, [StorageConfigError(f"{where} must be a mapping of keys, not {type(raw).__name__}")]
    problems: list[StorageConfigError] = []
    name: str | None = None
    if "name" not in raw:
        problems.append(StorageConfigError(f"{where} has no 'name'", key="name"))
    else:
        try:
            name = validate_mount_name(raw["name"])
        except StorageConfigError as exc:
            problems.append(exc)
    options: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            problems.append(StorageConfigError(f"config keys must be strings, got {key!r}", mount=name))
            continue
        canonical = ALIASES.get(key, key)
        if canonical in options:
            problems.append(
                StorageConfigError(f"both {key!r} and its alias are given; use one", mount=name, key=canonical)
            )
        options[canonical] = value
    options.pop("name", None)
    type_name = options.pop("type", None)
    if type_name is None:
        problems.append(StorageConfigError("no 'type' (e.g. 'local', 's3', 'memory')", mount=name, key="type"))
    elif not isinstance(type_name, str) or not type_name:
        problems.append(StorageConfigError(f"must be a non-empty string, not {type_name!r}", mount=name, key="type"))
    permissions = options.pop("permissions", None)
    if permissions is not None and permissions not in PERMISSIONS:
        problems.append(
            StorageConfigError(
                f"must be one of {', '.join(map(repr, PERMISSIONS))}, not {permissions!r}",
                mount=name,
                key="permissions",
            )
        )
    if problems or name is None:
        return None, problems
    return MountConfig(name=name, type=type_name, permissions=permissions, options=options), []


def expand_env(value: Any, *, mount: str | None = None, key: str | None = None) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string inside ``value``."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            var, default = match.group(1), match.group(2)
            if var in os.environ:
                return os.environ[var]
            if default is not None:
                return default
            raise StorageConfigError(f"environment variable {var!r} is not set", mount=mount, key=key)

        return _ENV_RE.sub(substitute, value)
    if isinstance(value, list):
        return [expand_env(item, mount=mount, key=key) for item in value]
    if isinstance(value, dict):
        if mount is None and isinstance(value.get("name"), str):
            mount = value["name"]
        return {k: expand_env(v, mount=mount, key=key if key is not None else k) for k, v in value.items()}
    return value


def _parse(path: Path) -> Any:
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    if suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as exc:
            raise StorageConfigError(f"{path}: reading YAML needs PyYAML (pip install pyyaml)") from exc
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise StorageConfigError(f"{path}: invalid YAML: {exc}") from exc
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise StorageConfigError(f"{path}: invalid JSON: {exc}") from exc
    if suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise StorageConfigError(f"{path}: invalid TOML: {exc}") from exc
    raise StorageConfigError(f"{path}: unknown config format {suffix!r} (use .yaml, .yml, .json or .toml)")


def load_config_file(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a configuration file into a list of mount dicts, with ``${VAR}`` expanded."""
    file = Path(path)
    if not file.is_file():
        raise StorageConfigError(f"config file not found: {os.fspath(path)!r}")
    data = _parse(file)
    if isinstance(data, Mapping) and "mounts" in data:
        data = data["mounts"]
    if isinstance(data, Mapping):
        # A table of mounts by name: {'uploads': {'type': 's3', ...}, ...}
        mounts = []
        for name, conf in data.items():
            if isinstance(conf, list):
                raise StorageConfigError(
                    f"{file}: {name!r} holds a list, not one mount's keys: a list of mounts goes under "
                    "'mounts' ([[mounts]] in TOML, 'mounts:' in YAML)"
                )
            if not isinstance(conf, Mapping):
                raise StorageConfigError(f"{file}: mount {name!r} must be a table of keys", mount=str(name))
            mounts.append({"name": name, **conf})
        data = mounts
    if not isinstance(data, list):
        raise StorageConfigError(f"{file}: expected a list of mounts (or a 'mounts' key), got {type(data).__name__}")
    return [expand_env(item) for item in data]
