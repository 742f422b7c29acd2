"""Presigned S3 GET URLs computed here: AWS Signature Version 4, query form.

botocore's ``generate_presigned_url`` costs ~250 µs a call (events, parameter validation,
endpoint rules); a page listing a few hundred files pays that for each. The URL's shape
(scheme, host, path or virtual-host addressing) is taken once from botocore itself, for a
sample key, so it is the one botocore would give; the signature is the SigV4 algorithm
(docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html), checked byte for
byte against botocore's in the tests. The signing time is rounded down to a window, so a
URL stays the same for a while and pages built from it can be cached.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from ..signing import window_for

__all__ = ["Presigner"]

_SAMPLE_KEY = "genro-storage-sample"
#: The response headers a presigned GET may set (S3's ``response-*`` query parameters).
_RESPONSE_OVERRIDES = frozenset(
    {"content-type", "content-language", "expires", "cache-control", "content-disposition", "content-encoding"}
)

#: S3 refuses X-Amz-Expires above a week.
MAX_EXPIRES = 7 * 24 * 3600


def _quote(text: str) -> str:
    return quote(text, safe="-_.~")


class Presigner:
    """Signs GET URLs for one bucket with a boto3 client's endpoint, region and credentials."""

    def __init__(self, client: Any, bucket: str, public_endpoint: str | None = None):
        sample = client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": _SAMPLE_KEY}, ExpiresIn=60
        )
        parts = urlsplit(sample)
        if not parts.path.endswith("/" + _SAMPLE_KEY):
            raise ValueError(f"unexpected presigned URL shape: {sample}")
        scheme, host = parts.scheme, parts.netloc
        if public_endpoint is not None:
            public = urlsplit(public_endpoint)
            scheme, host = public.scheme, public.netloc  # signed for the host browsers reach
        self.path_prefix = parts.path[: -len(_SAMPLE_KEY)]
        self.prefix = f"{scheme}://{host}{self.path_prefix}"
        self.host = host
        self.region = client.meta.region_name or "us-east-1"
        self._credentials = client._request_signer._credentials  # refreshed by botocore as needed
        self._keys: dict[tuple[str, str], bytes] = {}

    def _signing_key(self, secret: str, datestamp: str) -> bytes:
        cached = self._keys.get((secret, datestamp))
        if cached is None:
            key = ("AWS4" + secret).encode()
            for part in (datestamp, self.region, "s3", "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys = {(secret, datestamp): key}  # one day's key is all that is needed
            cached = key
        return cached

    def url(
        self,
        key: str,
        expires_in: int,
        now: float | None = None,
        window: int | None = None,
        response: Mapping[str, str] | None = None,
    ) -> str:
        """A URL to GET ``key``, valid from the signing time for at least ``expires_in``
        seconds; ``response`` headers (``content-disposition``...) are S3's
        ``response-*`` overrides, signed with the rest."""
        if expires_in > MAX_EXPIRES:
            raise ValueError(f"an S3 presigned URL lasts at most 7 days ({MAX_EXPIRES} s), not {expires_in} s")
        window = window_for(expires_in) if window is None else window
        if expires_in + window - 1 > MAX_EXPIRES:
            window = 1  # no room left under S3's week for rounding: signed now, for just that long
        signed_at = int(time.time() if now is None else now)
        signed_at -= signed_at % window
        expires = expires_in + window - 1  # still valid expires_in from any moment of the window
        creds = self._credentials.get_frozen_credentials()
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(signed_at))
        scope = f"{amz_date[:8]}/{self.region}/s3/aws4_request"
        params = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": f"{creds.access_key}/{scope}",
            "X-Amz-Date": amz_date,
            "X-Amz-Expires": str(expires),
            "X-Amz-SignedHeaders": "host",
        }
        if creds.token:
            params["X-Amz-Security-Token"] = creds.token
        for name, value in (response or {}).items():
            if name.lower() not in _RESPONSE_OVERRIDES:
                raise ValueError(f"S3 cannot override the response header {name!r}")
            params[f"response-{name.lower()}"] = value
        canonical_query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(params.items()))
        query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in params.items())  # botocore's order
        path = quote(key, safe="/~")
        canonical = f"GET\n{self.path_prefix}{path}\n{canonical_query}\nhost:{self.host}\n\nhost\nUNSIGNED-PAYLOAD"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._signing_key(creds.secret_key, amz_date[:8]), to_sign.encode(), hashlib.sha256)
        return f"{self.prefix}{path}?{query}&X-Amz-Signature={signature.hexdigest()}"
