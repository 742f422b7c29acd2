"""The s3 backend: s3fs for the filesystem API, boto3 for bulk transfers.

s3fs gives listings, metadata and random-access files; for moving whole objects, boto3's
transfer manager (bounded parallel multipart uploads, one streamed GET or parallel
ranged GETs) is faster and keeps memory bounded, so the transfer engine uses it when
boto3 is installed. Both clients share the mount's credentials and endpoint.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import IO, Any

import fsspec

from ..errors import StorageConfigError
from .base import CHUNK_SIZE
from .fsspec import FsspecBackend, checked_root

__all__ = ["S3Backend"]

#: Parts of a multipart upload and of a parallel download (boto3's default is 8 MiB too).
PART_SIZE = 8 * 2**20
#: Objects at least this large are uploaded as a parallel multipart upload.
MULTIPART_THRESHOLD = 16 * 2**20


def _with_md5(info: dict[str, Any]) -> dict[str, Any]:
    etag = info.get("etag")
    # A single-part upload's ETag is the MD5 of the content; a multipart one ("...-N") is not.
    if etag and "-" not in etag and len(etag) == 32:
        info["md5"] = etag
    return info


def _content_type(path: str) -> dict[str, str]:
    """``ContentType`` from the name, as s3fs sets it, so served objects keep their type."""
    kind = mimetypes.guess_type(path, strict=False)[0]
    return {"ContentType": kind} if kind else {}


class S3Backend(FsspecBackend):
    """An S3 bucket (through s3fs), optionally under a key ``prefix``.

    Other keys go to ``s3fs.S3FileSystem``: ``endpoint_url``, ``key``, ``secret``,
    ``client_kwargs``... Listing caches are off by default, so a file written by another
    process or manager is seen at once.
    """

    def __init__(
        self,
        mount: str,
        *,
        bucket: str | None = None,
        prefix: str | Callable[[], str] | None = None,
        fs: fsspec.AbstractFileSystem | None = None,
        **fs_options: Any,
    ):
        if not bucket:
            raise StorageConfigError("an s3 mount needs 'bucket'", mount=mount, key="bucket")
        if "path" in fs_options:
            raise StorageConfigError(
                "s3 mounts take 'prefix' (a folder inside the bucket), not 'path'", mount=mount, key="path"
            )
        if not isinstance(bucket, str) or "/" in bucket:
            raise StorageConfigError(f"bucket must be a bucket name, got {bucket!r}", mount=mount, key="bucket")
        self.bucket = bucket
        fs_options.setdefault("use_listings_cache", False)
        self.mount = mount
        prefix_value = self._check_root(prefix if prefix is not None else "", "prefix")
        super().__init__(mount, protocol="s3", fs=fs, **fs_options)
        self._prefix = prefix_value
        self._root_value = (lambda: self._join_bucket()) if callable(prefix_value) else self._join_bucket()

    def _join_bucket(self) -> str:
        prefix = self._prefix
        if callable(prefix):
            prefix = checked_root(prefix(), self.mount, "prefix")
        prefix = prefix.strip("/")
        return f"{self.bucket}/{prefix}" if prefix else self.bucket

    def key(self, path: str) -> str:
        """The object key of ``path``."""
        return self.fspath(path).partition("/")[2]

    # -- metadata ------------------------------------------------------------------------

    def info(self, path: str) -> dict[str, Any]:
        return _with_md5(super().info(path))

    def walk_files(self, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for rel, info in super().walk_files(path):
            yield rel, _with_md5(info)

    def mkdir(self, path: str) -> None:
        # S3 has no folders: an empty 'key/' object marks one, as the AWS console does.
        if not path:
            return
        full = self.fspath(path)
        if self.fs.isfile(full):
            raise FileExistsError(17, "File exists", full)
        self.fs.call_s3("put_object", Bucket=self.bucket, Key=self.key(path) + "/", Body=b"")
        self.fs.invalidate_cache(full)

    def presign(self, path: str, expires_in: int) -> str:
        """A presigned GET URL, valid ``expires_in`` seconds."""
        return self.fs.sign(self.fspath(path), expiration=expires_in)

    # -- bulk transfers through boto3 ------------------------------------------------------

    @cached_property
    def client(self) -> Any:
        """A boto3 S3 client with this mount's credentials and endpoint (None without boto3)."""
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            return None
        fs = self.fs
        if getattr(fs, "anon", False):
            return None  # unsigned access: leave it to s3fs
        session = boto3.session.Session(
            aws_access_key_id=fs.key,
            aws_secret_access_key=fs.secret,
            aws_session_token=fs.token,
            profile_name=getattr(fs, "profile", None),
        )
        client_kwargs = dict(fs.client_kwargs or {})
        if fs.endpoint_url and "endpoint_url" not in client_kwargs:
            client_kwargs["endpoint_url"] = fs.endpoint_url
        config = Config(max_pool_connections=32, **(fs.config_kwargs or {}))
        return session.client("s3", config=config, **client_kwargs)

    def _transfer_config(self, workers: int | None) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD,
            multipart_chunksize=PART_SIZE,
            max_concurrency=workers or 10,
            use_threads=(workers or 10) > 1,
        )

    def upload_file(self, local_path: str, path: str, workers: int | None = None) -> None:
        """Upload a local file: one PUT when small, else a bounded parallel multipart upload
        that S3 publishes only once complete (a failure leaves the previous object)."""
        client = self.client
        if client is None:
            self.fs.put_file(local_path, self.fspath(path), chunksize=PART_SIZE, max_concurrency=workers or 8)
        elif os.path.getsize(local_path) < MULTIPART_THRESHOLD:
            # One PUT: the transfer manager's thread pool costs more than it saves here.
            with open(local_path, "rb") as f:
                client.put_object(Bucket=self.bucket, Key=self.key(path), Body=f.read(), **_content_type(path))
        else:
            client.upload_file(
                local_path,
                self.bucket,
                self.key(path),
                Config=self._transfer_config(workers),
                ExtraArgs=_content_type(path),
            )
        self.fs.invalidate_cache(self.fspath(path))

    def download_fileobj(self, path: str, fileobj: IO[bytes], workers: int | None = None) -> None:
        """Write the object to ``fileobj``: one streamed GET, or ``workers`` parallel ranged
        GETs (the faster choice on real S3 for large objects)."""
        client = self.client
        if client is None or not workers or workers <= 1:
            for chunk in self.iter_range(path, 0, None):
                fileobj.write(chunk)
            return
        client.download_fileobj(self.bucket, self.key(path), fileobj, Config=self._transfer_config(workers))

    def iter_range(
        self, path: str, start: int, stop: int | None, chunk_size: int = CHUNK_SIZE
    ) -> Iterator[bytes]:
        """Stream bytes ``start``..``stop`` with one (ranged) GET."""
        client = self.client
        if client is None:
            if stop is None:
                stop = self.info(path)["size"]
            yield from super().iter_range(path, start, stop, chunk_size)
            return
        if stop is not None and stop <= start:
            return
        extra = {}
        if start or stop is not None:
            extra["Range"] = f"bytes={start}-{'' if stop is None else stop - 1}"
        try:
            body = client.get_object(Bucket=self.bucket, Key=self.key(path), **extra)["Body"]
        except client.exceptions.NoSuchKey:
            raise FileNotFoundError(2, "No such file or directory", self.fspath(path)) from None
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()
