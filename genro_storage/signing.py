"""Signed URLs for mounts the service cannot presign (local, memory, base64).

A URL carries ``expires`` (a Unix time) and ``signature``, an HMAC-SHA256 of the mount,
the path and the expiry under a secret the server keeps; anyone holding the URL may GET
the file until it expires, and changing any part of it invalidates the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import quote

__all__ = ["URLSigner"]


class URLSigner:
    """Signs and verifies download URLs under ``base_url`` (where the serving app is mounted)."""

    def __init__(self, secret: str | bytes, base_url: str = "/"):
        if not secret:
            raise ValueError("URLSigner needs a non-empty secret")
        self._key = secret.encode() if isinstance(secret, str) else bytes(secret)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"

    def signature(self, mount: str, path: str, expires: int) -> str:
        message = f"{mount}\n{path}\n{expires}".encode("utf-8", "surrogateescape")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def query(self, mount: str, path: str, expires_in: int, now: float | None = None) -> str:
        """``expires=...&signature=...`` for a URL valid ``expires_in`` seconds from now."""
        expires = int(now if now is not None else time.time()) + int(expires_in)
        return f"expires={expires}&signature={self.signature(mount, path, expires)}"

    def url(self, mount: str, path: str, expires_in: int) -> str:
        """The signed URL of ``mount:path`` under :attr:`base_url`."""
        return f"{self.base_url}{quote(mount)}/{quote(path)}?{self.query(mount, path, expires_in)}"

    def verify(self, mount: str, path: str, expires: str | None, signature: str | None) -> bool:
        """Whether ``signature`` is valid for ``mount:path`` and ``expires`` is in the future."""
        if not expires or not signature or len(expires) > 12 or not expires.isascii() or not expires.isdigit():
            return False  # 12 digits reach the year 33658; longer ones are not ours
        if int(expires) < time.time():
            return False
        return hmac.compare_digest(self.signature(mount, path, int(expires)), signature)
