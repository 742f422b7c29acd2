"""The gcs backend: a Google Cloud Storage bucket through gcsfs."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ..errors import UnsupportedOperationError
from .buckets import BucketBackend

__all__ = ["GCSBackend"]


class GCSBackend(BucketBackend):
    """A GCS bucket, optionally under a key ``prefix``.

    Other keys go to ``gcsfs.GCSFileSystem``: ``project``, ``token`` (a credentials file,
    ``'anon'``, ``'google_default'``...), ``endpoint_url`` (an emulator)...
    """

    protocol = "gcs"

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
