"""The gcs backend: a Google Cloud Storage bucket through gcsfs."""

from __future__ import annotations

import base64
import binascii
from typing import IO, Any

from ..errors import UnsupportedOperationError
from .buckets import BucketBackend, content_type_header

__all__ = ["GCSBackend"]


class GCSBackend(BucketBackend):
    """A GCS bucket, optionally under a key ``prefix``.

    Other keys go to ``gcsfs.GCSFileSystem``: ``project``, ``token`` (a credentials file,
    ``'anon'``, ``'google_default'``...), ``endpoint_url`` (an emulator)...
    """

    protocol = "gcs"
    capabilities = frozenset({"metadata", "versions", "presign", "server_copy", "ranged_reads", "fsspec"})

    def write_options(self, path: str) -> dict[str, Any]:
        # gcsfs types what it streams by the name, but a single PUT as octet-stream.
        kind = content_type_header(path).get("ContentType")
        return {"content_type": kind} if kind else {}

    def md5_of(self, raw: dict[str, Any]) -> str | None:
        value = raw.get("md5Hash")  # base64 of the raw digest; absent on composite objects
        if not value:
            return None
        try:
            return base64.b64decode(value).hex()
        except (binascii.Error, ValueError):
            return None

    def presign(self, path: str, expires_in: int) -> str:
        """A V4 signed GET URL; needs service-account credentials (a ``token`` key file)."""
        try:
            return self.fs.sign(self.fspath(path), expiration=expires_in)
        except Exception as exc:  # google.auth raises its own classes when it cannot sign
            if type(exc).__module__.startswith(("google", "gcsfs")) or isinstance(exc, (AttributeError, ValueError)):
                raise UnsupportedOperationError(
                    f"signed URLs with these credentials ({type(exc).__name__}: {exc})", mount=self.mount, path=path
                ) from exc
            raise

    def get_metadata(self, path: str) -> dict[str, str]:
        stored = self.fs.info(self.fspath(path), refresh=True).get("metadata") or {}
        return {key: value for key, value in stored.items() if value is not None}

    def set_metadata(
        self, path: str, metadata: dict[str, str | None], content_type: str | None, cache_control: str | None
    ) -> None:
        # Send the whole merged set, with null for removed keys: right whether the server
        # merges (GCS's PATCH) or replaces the metadata (gcp-storage-emulator).
        merged = {**self.get_metadata(path), **metadata}
        fixed = {"cache_control": cache_control} if cache_control is not None else None
        self.fs.setxattrs(self.fspath(path), content_type=content_type, fixed_key_metadata=fixed, **merged)
        self.forget(self.fspath(path))

    def versions(self, path: str) -> list[dict[str, Any]]:
        full = self.fspath(path)
        entries = self.fs.ls(full, detail=True, versions=True, refresh=True)
        name = self.fs._strip_protocol(full)
        found = []
        for entry in entries:
            if self.fs._strip_protocol(entry["name"]).split("#")[0] != name or entry.get("type") != "file":
                continue
            found.append(
                {
                    "version_id": str(entry.get("generation")),
                    "size": int(entry.get("size") or 0),
                    "mtime": self._normalize_info(entry)["mtime"],
                    "is_latest": not entry.get("timeDeleted"),
                    "etag": entry.get("etag"),
                }
            )
        if not found:
            raise FileNotFoundError(2, "No such file or directory", full)
        return sorted(found, key=lambda v: (v["is_latest"], int(v["version_id"] or 0)), reverse=True)

    def open_version(self, path: str, version_id: str) -> IO[bytes]:
        return self.fs.open(self.fspath(path), "rb", generation=version_id)
