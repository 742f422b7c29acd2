"""Object stores addressed as a bucket (or container) plus an optional key prefix.

S3, GCS and Azure share the shape: ``{'bucket': 'b', 'prefix': 'app/'}`` maps the mount's
root to ``b/app``; folders are implied by keys, and an empty ``key/`` object marks an
empty one (as the AWS and GCP consoles do).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from typing import Any, ClassVar

import fsspec

from ..errors import StorageConfigError
from .fsspec import FsspecBackend, checked_root

__all__ = ["BucketBackend", "content_type_header"]


def content_type_header(path: str) -> dict[str, str]:
    """``{'ContentType': ...}`` guessed from the name, as s3fs sets it, so objects are served
    with their type; empty when the name says nothing."""
    kind = mimetypes.guess_type(path, strict=False)[0]
    return {"ContentType": kind} if kind else {}


class BucketBackend(FsspecBackend):
    """Base of the bucket-shaped backends: ``bucket`` (or ``container``) and ``prefix``."""

    #: The fsspec protocol, and the config key naming the top-level namespace.
    protocol: ClassVar[str]
    bucket_key: ClassVar[str] = "bucket"
    own_options = ("bucket", "prefix")
    # The filesystem class is known: a key it does not take is a mistake, never passed on.
    strict_options = True

    def __init__(
        self,
        mount: str,
        *,
        prefix: str | Callable[[], str] | None = None,
        fs: fsspec.AbstractFileSystem | None = None,
        **options: Any,
    ):
        bucket = options.pop(self.bucket_key, None)
        kind = type(self).protocol
        if not bucket:
            raise StorageConfigError(f"a {kind} mount needs {self.bucket_key!r}", mount=mount, key=self.bucket_key)
        if not isinstance(bucket, str) or "/" in bucket:
            raise StorageConfigError(
                f"must be a {self.bucket_key} name, got {bucket!r}", mount=mount, key=self.bucket_key
            )
        if "path" in options:
            raise StorageConfigError(
                f"{kind} mounts take 'prefix' (a folder inside the {self.bucket_key}), not 'path'",
                mount=mount,
                key="path",
            )
        self.bucket = bucket
        self.mount = mount
        prefix_value = self._check_root(prefix if prefix is not None else "", "prefix")
        super().__init__(mount, protocol=kind, fs=fs, **self.fs_options(options))
        self._prefix = prefix_value
        self._root_value = (lambda: self._join_bucket()) if callable(prefix_value) else self._join_bucket()

    def fs_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """The filesystem's options from the mount's other keys.

        Listing caches are off by default: fsspec's are per process and invalidated only
        for the exact path written, so sizes and new files would look stale (within a
        manager, and always across managers and processes).
        """
        options.setdefault("use_listings_cache", False)
        return options

    def _join_bucket(self) -> str:
        prefix = self._prefix
        if callable(prefix):
            prefix = checked_root(prefix(), self.mount, "prefix")
        prefix = prefix.strip("/")
        return f"{self.bucket}/{prefix}" if prefix else self.bucket

    def key(self, path: str) -> str:
        """The object key (or blob name) of ``path``."""
        return self.fspath(path).partition("/")[2]

    def md5_of(self, raw: dict[str, Any]) -> str | None:
        """The content MD5 (hex) the service reports in ``raw`` info, if any."""
        return None

    def _normalize_info(self, raw: dict[str, Any]) -> dict[str, Any]:
        info = super()._normalize_info(raw)
        if info["type"] == "file":
            md5 = self.md5_of(raw)
            if md5:
                info["md5"] = md5
        return info

    def mkdir(self, path: str) -> None:
        if not path:
            return
        full = self.fspath(path)
        if self.fs.isfile(full):
            raise FileExistsError(17, "File exists", full)
        parts = path.split("/")
        for depth in range(len(parts) - 1, 0, -1):
            ancestor = self.fspath("/".join(parts[:depth]))
            if self.fs.isfile(ancestor):
                # Object stores would hold 'f' and 'f/g/' side by side; disks cannot.
                raise NotADirectoryError(20, "Not a directory", ancestor)
        self._put_marker(path)
        self.forget(full)

    def _put_marker(self, path: str) -> None:
        self.fs.pipe_file(self.fspath(path) + "/", b"")

    def _remove_empty_folder(self, path: str) -> None:
        # Only the marker object goes: a file written under the folder meanwhile stays.
        if path:
            self._delete_marker(path)

    def _delete_marker(self, path: str) -> None:
        try:
            self.fs.rm_file(self.fspath(path) + "/")
        except FileNotFoundError:
            pass  # no marker: the folder was implied by files that are gone
