"""Backends and the registry of backend types a mount's ``type`` names.

Built-in types are imported on first use, so a missing optional package (s3fs...) only
matters to the mounts that need it, and the error says what to install.
"""

from __future__ import annotations

import importlib
from types import MappingProxyType

from .base import CHUNK_SIZE, AtomicWriter, StorageBackend

__all__ = ["StorageBackend", "AtomicWriter", "CHUNK_SIZE", "BUILTIN_TYPES", "load_builtin", "is_fsspec_protocol"]

#: type name -> (dotted class path, packages it needs, install hint)
BUILTIN_TYPES = MappingProxyType(
    {
        "local": ("genro_storage.backends.local:LocalBackend", (), None),
        "memory": ("genro_storage.backends.memory:MemoryBackend", (), None),
        "base64": ("genro_storage.backends.base64:Base64Backend", (), None),
        "s3": ("genro_storage.backends.s3:S3Backend", ("s3fs",), "pip install 'genro-storage[s3]'"),
        "gcs": ("genro_storage.backends.gcs:GCSBackend", ("gcsfs",), "pip install 'genro-storage[gcs]'"),
        "gs": ("genro_storage.backends.gcs:GCSBackend", ("gcsfs",), "pip install 'genro-storage[gcs]'"),
        "azure": ("genro_storage.backends.azure:AzureBackend", ("adlfs",), "pip install 'genro-storage[azure]'"),
        "abfs": ("genro_storage.backends.azure:AzureBackend", ("adlfs",), "pip install 'genro-storage[azure]'"),
        "http": ("genro_storage.backends.fsspec:HttpBackend", ("aiohttp",), "pip install aiohttp"),
        "https": ("genro_storage.backends.fsspec:HttpBackend", ("aiohttp",), "pip install aiohttp"),
    }
)


def load_builtin(type_name: str) -> type[StorageBackend]:
    """Import and return the class of a built-in backend type.

    Raises ``ImportError`` with an install hint when a package it needs is missing.
    """
    dotted, needs, hint = BUILTIN_TYPES[type_name]
    for package in needs:
        try:
            importlib.import_module(package)
        except ImportError as exc:
            raise ImportError(f"backend type {type_name!r} needs {package!r}: {hint}") from exc
    module_name, _, class_name = dotted.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def is_fsspec_protocol(name: str) -> bool:
    """Whether fsspec knows ``name`` as a protocol (installed or installable)."""
    from fsspec.registry import known_implementations, registry

    return name in registry or name in known_implementations
