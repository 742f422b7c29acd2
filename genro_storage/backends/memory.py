"""The memory backend: files in this process's memory, private to one mount.

fsspec's ``MemoryFileSystem`` keeps one store for the whole process, so two managers
would see each other's files; each memory mount gets its own store instead.
"""

from __future__ import annotations

import io
import threading
from typing import Any

from fsspec.implementations.memory import MemoryFileSystem

from .base import AtomicWriter
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

    capabilities = frozenset({"rename", "ranged_reads", "fsspec", "exclusive_create"})

    def __init__(self, mount: str, **options: Any):
        super().__init__(mount, fs=IsolatedMemoryFileSystem(), **options)
        self._publishing = threading.Lock()

    def fspath(self, path: str) -> str:
        # Always absolute: MemoryFileSystem leaves names holding '::' or '://' as given,
        # and a relative key would fall outside the mount's folder.
        return "/" + super().fspath(path).lstrip("/")

    def open_write(self, path: str, *, exclusive: bool = False) -> AtomicWriter:
        # MemoryFileSystem shows a file as soon as it is opened, even with autocommit=False:
        # buffer the data and publish it whole on close.
        full = self._writable_path(path)
        buffer = io.BytesIO()

        def commit() -> None:
            if not exclusive:
                self.fs.pipe_file(full, buffer.getvalue())
                return
            with self._publishing:  # the check and the publication as one step
                if self.fs.exists(full):
                    raise FileExistsError(17, "File exists", full)
                self.fs.pipe_file(full, buffer.getvalue())

        return AtomicWriter(buffer, commit, buffer.close)
