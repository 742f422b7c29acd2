"""The File that ``GenroStorage.open()`` returns: streaming, seekable and reopenable.

The stored file is opened only when first read (``storage.open(name).size`` costs one
metadata request, no download), read in ranges on object stores, and reopened by
``open()`` after a ``close()``, as Django's own File does with a path.
"""

from __future__ import annotations

from typing import IO, Any

from django.core.files.base import File

from genro_storage import StorageNode

__all__ = ["StorageFile"]


class StorageFile(File):
    """A Django ``File`` over a node: ``.node`` is the core's :class:`StorageNode`."""

    def __init__(self, node: StorageNode, name: str, mode: str = "rb"):
        self.node = node
        self.name = name
        self.mode = mode
        self._handle: IO[Any] | None = None
        self._size: int | None = None

    @property
    def file(self) -> IO[Any]:  # type: ignore[override]
        if self._handle is None:
            self._handle = self.node.open(self.mode)
        return self._handle

    @file.setter
    def file(self, value: IO[Any] | None) -> None:
        self._handle = value

    def _get_size(self) -> int:
        if self._size is None:
            self._size = self.node.size
        return self._size

    def _set_size(self, size: int) -> None:
        self._size = size

    size = property(_get_size, _set_size)

    @property
    def closed(self) -> bool:
        return self._handle is None or self._handle.closed

    def open(self, mode: str | None = None) -> StorageFile:  # type: ignore[override]
        """Rewind an open file, or open it again (in ``mode``, if given) after a close."""
        if not self.closed and (mode is None or mode == self.mode):
            self.seek(0)
            return self
        self.close()
        if mode is not None:
            self.mode = mode
        self._size = None
        return self

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()

    def __bool__(self) -> bool:
        return bool(self.name)

    def __repr__(self) -> str:
        return f"<StorageFile: {self.node.fullpath}>"
