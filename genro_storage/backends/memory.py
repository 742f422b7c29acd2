"""The memory backend: files in this process's memory, private to one mount.

fsspec's ``MemoryFileSystem`` keeps one store for the whole process, so two managers
would see each other's files; each memory mount gets its own store instead.
"""

from __future__ import annotations

from typing import Any

from fsspec.implementations.memory import MemoryFileSystem

from .fsspec import FsspecBackend

__all__ = ["MemoryBackend", "IsolatedMemoryFileSystem"]


class IsolatedMemoryFileSystem(MemoryFileSystem):
    """A ``MemoryFileSystem`` with a store of its own, never shared through fsspec's cache."""

    cachable = False

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.store = {}
        self.pseudo_dirs = [""]


class MemoryBackend(FsspecBackend):
    """Files kept in memory; ``path`` (optional) is a folder inside the mount's own store.

    Writes are buffered and published whole on close (MemoryFileSystem alone would show a
    file being written as soon as it is opened).
    """

    def __init__(self, mount: str, **options: Any):
        super().__init__(mount, fs=IsolatedMemoryFileSystem(), **options)
