"""The base64 backend: the path is the data, so a node can carry a small file inline.

``storage.node('inline:aGVsbG8=').read()`` returns ``'hello'``. Paths are read as Python's
decoder reads them: the standard or URL-safe alphabet, padded or not, and ASCII whitespace
anywhere (MIME and ``base64`` command output break lines). Writing encodes the new
content and moves the node to the new path (URL-safe alphabet, so it never holds ``/``).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ..errors import UnsupportedOperationError
from .base import StorageBackend

__all__ = ["Base64Backend"]

#: URL-safe letters become standard ones; whitespace (line breaks of MIME or ``base64``
#: output, spaces) is dropped. Anything else outside the alphabet stays, to be refused.
_TO_STANDARD = str.maketrans("-_", "+/", " \t\n\r\f\v")


class Base64Backend(StorageBackend):
    """Data carried in the path itself; there are no folders and nothing to delete."""

    has_folders = False
    path_is_data = True

    def _decode(self, path: str) -> bytes:
        data = path.translate(_TO_STANDARD)
        if data:  # only whitespace is no data (the empty file's path is the mount root)
            try:
                return base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
            except (binascii.Error, ValueError):
                pass
        raise FileNotFoundError(2, "not valid base64 data", path)

    def info(self, path: str) -> dict[str, Any]:
        if not path:
            return {"type": "directory", "size": 0, "mtime": None}
        return {"type": "file", "size": len(self._decode(path)), "mtime": None}

    def read_bytes(self, path: str) -> bytes:
        if not path:
            raise IsADirectoryError(21, "Is a directory", path)
        return self._decode(path)

    def write_bytes(self, path: str, data: bytes) -> str:
        return base64.urlsafe_b64encode(bytes(data)).decode("ascii")

    def listdir(self, path: str) -> list[str]:
        if path:
            raise NotADirectoryError(20, "Not a directory", path)
        return []

    def mkdir(self, path: str) -> None:
        raise UnsupportedOperationError("folders", mount=self.mount, path=path)

    def delete(self, path: str) -> None:
        raise UnsupportedOperationError("delete (the data is the path)", mount=self.mount, path=path)
