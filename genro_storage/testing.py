"""An in-process S3 on loopback (moto's HTTP server), for tests, demos and examples.

Needs the ``demo`` extra: ``pip install 'genro-storage[demo]'``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["LocalS3", "local_s3"]


@dataclass(frozen=True)
class LocalS3:
    """Where the loopback S3 listens, and the options an ``s3`` mount needs to reach it."""

    endpoint_url: str
    key: str = "testing"
    secret: str = "testing"

    def mount(self, name: str, bucket: str, **extra: Any) -> dict[str, Any]:
        """A mount configuration for ``bucket`` on this server."""
        return {
            "name": name,
            "type": "s3",
            "bucket": bucket,
            "endpoint_url": self.endpoint_url,
            "key": self.key,
            "secret": self.secret,
            **extra,
        }

    def client(self) -> Any:
        """A boto3 S3 client pointed at this server."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.key,
            aws_secret_access_key=self.secret,
            region_name="us-east-1",
        )

    def create_bucket(self, bucket: str) -> None:
        self.client().create_bucket(Bucket=bucket)


@contextmanager
def local_s3(*buckets: str) -> Iterator[LocalS3]:
    """Run moto's S3 server on 127.0.0.1 (a free port) with ``buckets`` created; stop it on exit."""
    from moto.server import ThreadedMotoServer

    # moto serves through werkzeug, which logs every request: keep output readable.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        s3 = LocalS3(endpoint_url=f"http://{host}:{port}")
        for bucket in buckets:
            s3.create_bucket(bucket)
        yield s3
    finally:
        server.stop()
