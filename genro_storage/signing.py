"""Signed URLs for mounts the service cannot presign (local, memory, base64).

A URL carries ``expires`` (a Unix time) and ``signature``, an HMAC-SHA256 of the mount,
the path and the expiry under a secret the server keeps; anyone holding the URL may GET
the file until it expires, and changing any part of it invalidates the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import time
from urllib.parse import quote

__all__ = ["URLSigner", "signing_key", "derive_secret", "lifetime", "window_for", "MIN_SECRET_BYTES"]

#: The shortest secret accepted: 16 bytes (128 bits) is the least HMAC keys should carry;
#: Django's SECRET_KEY has 50 characters.
MIN_SECRET_BYTES = 16


def window_for(expires_in: int) -> int:
    """Seconds a URL valid ``expires_in`` seconds stays the same: a tenth of its life, at
    most five minutes (so it is valid at least ``expires_in``, at most that plus this)."""
    return max(1, min(300, expires_in // 10))


def lifetime(expires_in: object) -> int:
    """``expires_in`` as whole seconds (a float is rounded up), or a ValueError: a URL
    must be valid for some time, so zero, negative, NaN and non-numbers are refused."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)):
        raise ValueError(f"expires_in must be a positive number of seconds, not {expires_in!r}")
    if not math.isfinite(expires_in) or expires_in <= 0:
        raise ValueError(f"expires_in must be a positive number of seconds, not {expires_in!r}")
    return math.ceil(expires_in)


def signing_key(secret: object, name: str = "the URL signing secret") -> bytes:
    """The HMAC key for ``secret`` (str or bytes, at least :data:`MIN_SECRET_BYTES` long),
    or a ValueError/TypeError naming the problem (and ``name``, what the secret is called
    where it was set). A number, ``True`` or anything else is refused: ``bytes(12345)``
    would be twelve thousand NUL bytes anyone could guess."""
    if isinstance(secret, str):
        key = secret.encode("utf-8")
    elif isinstance(secret, (bytes, bytearray, memoryview)):
        key = bytes(secret)
    else:
        raise TypeError(f"{name} must be str or bytes, not {type(secret).__name__}")
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(
            f"{name} is {len(key)} bytes long; use at least {MIN_SECRET_BYTES} (e.g. secrets.token_urlsafe(32))"
        )
    if len(set(key)) == 1:
        raise ValueError(f"{name} repeats one character; use a random one (secrets.token_urlsafe(32))")
    return key


def derive_secret(secret_key: object, name: str = "SECRET_KEY") -> str:
    """A URL signing key derived from a framework's ``SECRET_KEY``: an HMAC of a fixed
    label, so the session key itself never signs URLs (and a leaked URL key is not it).
    The key is held to :func:`signing_key`'s rules, since anyone who can guess it can sign
    a URL to any file: a ValueError/TypeError naming ``name`` otherwise."""
    key = signing_key(secret_key, name)
    return hmac.new(key, b"genro-storage: signed file URLs", hashlib.sha256).hexdigest()


class URLSigner:
    """Signs and verifies download URLs under ``base_url`` (where the serving app is mounted)."""

    def __init__(self, secret: str | bytes, base_url: str = "/"):
        self._key = signing_key(secret)
        if not isinstance(base_url, str) or not base_url:
            raise ValueError(f"base_url must be the serving app's URL, like '/files/', not {base_url!r}")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"

    def signature(self, mount: str, path: str, expires: int) -> str:
        message = f"{mount}\n{path}\n{expires}".encode("utf-8", "surrogateescape")
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def query(self, mount: str, path: str, expires_in: int, now: float | None = None) -> str:
        """``expires=...&signature=...`` for a URL valid ``expires_in`` seconds from now."""
        seconds = lifetime(expires_in)
        window = window_for(seconds)
        # Rounded up to the window: the same URL for a while (pages built from it cache),
        # valid at least expires_in from now.
        expires = -(-(int(now if now is not None else time.time()) + seconds) // window) * window
        if expires >= 10**12:
            raise ValueError(f"expires_in={expires_in!r} reaches past what a signed URL can say (the year 33658)")
        return f"expires={expires}&signature={self.signature(mount, path, expires)}"

    def url(self, mount: str, path: str, expires_in: int) -> str:
        """The signed URL of ``mount:path`` under :attr:`base_url`."""
        return f"{self.base_url}{quote(mount)}/{quote(path)}?{self.query(mount, path, expires_in)}"

    def verify(self, mount: str, path: str, expires: str | None, signature: str | None) -> bool:
        """Whether ``signature`` is valid for ``mount:path`` and ``expires`` is in the future."""
        if not expires or not signature or len(expires) > 12 or not expires.isascii() or not expires.isdigit():
            return False  # 12 digits reach the year 33658; longer ones are not ours
        if not signature.isascii() or len(signature) > 64:
            return False  # ours are 43 URL-safe characters; compare_digest refuses non-ASCII str
        if int(expires) < time.time():
            return False
        return hmac.compare_digest(self.signature(mount, path, int(expires)), signature)
