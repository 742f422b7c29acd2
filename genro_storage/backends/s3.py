"""The s3 backend: s3fs for the filesystem API, boto3 for bulk transfers.

s3fs gives listings, metadata and random-access files; for moving whole objects, boto3's
transfer manager (bounded parallel multipart uploads, one streamed GET or parallel
ranged GETs) is faster and keeps memory bounded, so the transfer engine uses it when
boto3 is installed. Both clients share the mount's credentials and endpoint.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cached_property
from typing import IO, Any

from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from ..errors import StorageConfigError
from .base import CHUNK_SIZE
from .buckets import BucketBackend, content_type_header
from .s3presign import Presigner

__all__ = ["S3Backend"]

#: Parts of a multipart upload and of a parallel download (boto3's default is 8 MiB too).
PART_SIZE = 8 * 2**20
#: Parts in flight for one object when ``workers`` is not given (boto3's default). Measured
#: against moto on 2 cores, 4 lost to 10 by 10-15%: a part waits on the server more than on
#: the client's CPU.
PARALLEL_PARTS = 10

#: Objects at least this large are uploaded as a parallel multipart upload.
MULTIPART_THRESHOLD = 16 * 2**20

#: Objects larger than this are copied part by part (s3fs's threshold too): below it, one
#: CopyObject, which keeps the single-part ETag (the content's MD5).
COPY_MULTIPART_THRESHOLD = 150 * 2**20
#: Parts of a part-by-part copy: copied inside S3, so large parts cost no memory here.
COPY_PART_SIZE = 50 * 2**20


class _FsspecProgress(Callback):
    """fsspec's callback protocol, forwarding each byte increment to ``progress``."""

    def __init__(self, progress: Callable[[int], None]):
        super().__init__()
        self.progress = progress

    def relative_update(self, inc: int = 1) -> None:
        self.progress(inc)


class S3Backend(BucketBackend):
    """An S3 bucket (through s3fs), optionally under a key ``prefix``.

    Other keys go to ``s3fs.S3FileSystem``: ``endpoint_url``, ``key``, ``secret``,
    ``client_kwargs``... Listing caches are off by default, so a file written by another
    process or manager is seen at once.
    """

    protocol = "s3"
    capabilities = frozenset(
        {
            "metadata",
            "versions",
            "presign",
            "presign_response",
            "server_copy",
            "ranged_reads",
            "fsspec",
            "upload_file",
            "download_fileobj",
            "exclusive_create",
        }
    )

    @classmethod
    def nested_options(cls) -> dict[str, Iterable[str]]:
        # s3fs hands client_kwargs to botocore's create_client and config_kwargs to its
        # Config: 'region_name' at the top level is a common slip.
        from botocore.config import Config
        from botocore.session import Session

        client = inspect.signature(Session.create_client).parameters.keys() - {"self", "service_name", "config"}
        return {"client_kwargs": sorted(client), "config_kwargs": list(Config.OPTION_DEFAULTS)}

    def md5_of(self, raw: dict[str, Any]) -> str | None:
        etag = str(raw.get("ETag") or "").strip('"')
        # A single-part upload's ETag is the MD5 of the content; a multipart one ("...-N") is not.
        return etag if len(etag) == 32 and "-" not in etag else None

    def _put_marker(self, path: str) -> None:
        # s3fs drops a trailing '/', so the marker object is written with the client call.
        self.fs.call_s3("put_object", Bucket=self.bucket, Key=self.key(path) + "/", Body=b"")

    def _delete_marker(self, path: str) -> None:
        self.fs.call_s3("delete_object", Bucket=self.bucket, Key=self.key(path) + "/")

    own_options = ("bucket", "prefix", "public_endpoint_url")

    def __init__(self, mount: str, *, public_endpoint_url: str | None = None, **options: Any):
        if public_endpoint_url is not None and (
            not isinstance(public_endpoint_url, str) or not public_endpoint_url.startswith(("http://", "https://"))
        ):
            raise StorageConfigError(
                f"must be an http(s) URL, not {public_endpoint_url!r}", mount=mount, key="public_endpoint_url"
            )
        #: Where browsers reach the service when the app reaches it elsewhere (a private
        #: network, a container's name): presigned URLs are signed for this host.
        self.public_endpoint_url = public_endpoint_url
        super().__init__(mount, **options)

    @cached_property
    def presigner(self) -> Presigner | None:
        """Computes presigned URLs locally (None without boto3 or with anonymous access)."""
        client = self.client
        if client is None:
            return None
        return Presigner(client, self.bucket, public_endpoint=self.public_endpoint_url)

    def presign(self, path: str, expires_in: int, response: Mapping[str, str] | None = None) -> str:
        """A presigned GET URL, valid at least ``expires_in`` seconds (the same URL for a
        while: see :func:`genro_storage.signing.window_for`), computed without a request.
        ``response`` (``content-type``, ``content-disposition``...) is what S3 answers with."""
        presigner = self.presigner
        if presigner is None:
            if response:
                raise self.unsupported("presigned URLs with response headers (anonymous access)", path)
            return self.fs.sign(self.fspath(path), expiration=expires_in)
        return presigner.url(self.key(path), expires_in, response=response)

    # -- copies inside the bucket ----------------------------------------------------------

    def copy(self, src: str, dst: str, progress: Callable[[int], None] | None = None) -> None:
        """A server-side copy: one CopyObject, or for a large object a parallel part-by-part
        copy that is aborted if it fails (s3fs's own would leave the multipart upload on
        the bucket, and drop the object's Content-Type and metadata)."""
        info = self.info(src)
        if info["type"] != "file":
            super().copy(src, dst)  # s3fs says what is wrong with copying that
            return
        if info["size"] <= COPY_MULTIPART_THRESHOLD:
            # What s3fs's cp_file sends too, without the HEAD it would repeat.
            source = {"Bucket": self.bucket, "Key": self.key(src)}
            self.fs.call_s3("copy_object", Bucket=self.bucket, Key=self.key(dst), CopySource=source)
        elif self.client is not None:
            self._copy_in_parts(src, dst, progress)
        else:
            super().copy(src, dst)  # without boto3: s3fs's serial copy, left behind if it fails
        self.forget(self.fspath(dst))

    def _copy_in_parts(self, src: str, dst: str, progress: Callable[[int], None] | None) -> None:
        """boto3's managed copy: UploadPartCopy in parallel, the source's Content-Type and
        metadata kept, the multipart upload aborted on failure."""
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(
            multipart_threshold=COPY_MULTIPART_THRESHOLD,
            multipart_chunksize=COPY_PART_SIZE,
            max_concurrency=PARALLEL_PARTS,
        )
        source = {"Bucket": self.bucket, "Key": self.key(src)}
        self.client.copy(source, self.bucket, self.key(dst), Config=config, Callback=progress)

    def move(self, src: str, dst: str) -> None:
        # A copy then a delete, as s3fs's mv_file does, but through copy() above.
        self.copy(src, dst)
        self.fs.rm_file(self.fspath(src))
        self.forget(self.fspath(src))

    # -- metadata and versions -------------------------------------------------------------

    def _require_client(self, feature: str, path: str) -> Any:
        client = self.client
        if client is None:
            raise self.unsupported(f"{feature} (needs boto3 and signed credentials)", path)
        return client

    def _head(self, path: str, **extra: Any) -> dict[str, Any]:
        client = self._require_client("metadata", path)
        try:
            return client.head_object(Bucket=self.bucket, Key=self.key(path), **extra)
        except client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(2, "No such file or directory", self.fspath(path)) from None
            raise

    def get_metadata(self, path: str) -> dict[str, str]:
        return dict(self._head(path).get("Metadata") or {})

    def set_metadata(
        self, path: str, metadata: dict[str, str | None], content_type: str | None, cache_control: str | None
    ) -> None:
        # S3 metadata is immutable: copy the object onto itself with the new set (atomic).
        head = self._head(path)
        merged = {**(head.get("Metadata") or {}), **metadata}
        extra: dict[str, Any] = {"Metadata": {k: str(v) for k, v in merged.items() if v is not None}}
        for field, value in (("ContentType", content_type), ("CacheControl", cache_control)):
            current = value if value is not None else head.get(field)
            if current:
                extra[field] = current
        self.client.copy_object(
            Bucket=self.bucket,
            Key=self.key(path),
            CopySource={"Bucket": self.bucket, "Key": self.key(path)},
            MetadataDirective="REPLACE",
            **extra,
        )

    def versions(self, path: str) -> list[dict[str, Any]]:
        client = self._require_client("versions", path)
        key = self.key(path)
        found = []
        for page in client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=key):
            for version in page.get("Versions", []):
                if version["Key"] == key and version.get("VersionId") not in (None, "null"):
                    found.append(
                        {
                            "version_id": version["VersionId"],
                            "size": version["Size"],
                            "mtime": version["LastModified"].timestamp(),
                            "is_latest": version["IsLatest"],
                            "etag": version["ETag"].strip('"'),
                        }
                    )
        if not found and not self.fs.exists(self.fspath(path)):
            raise FileNotFoundError(2, "No such file or directory", self.fspath(path))
        return sorted(found, key=lambda v: (v["is_latest"], v["mtime"]), reverse=True)

    def open_version(self, path: str, version_id: str) -> IO[bytes]:
        client = self._require_client("versions", path)
        try:
            return client.get_object(Bucket=self.bucket, Key=self.key(path), VersionId=version_id)["Body"]
        except client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "NoSuchVersion", "404", "InvalidArgument"):
                raise FileNotFoundError(2, f"No version {version_id!r}", self.fspath(path)) from None
            raise

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
            # s3fs hands ``profile`` (and its other leftover keys) to its session: fs.kwargs.
            profile_name=(getattr(fs, "kwargs", None) or {}).get("profile"),
        )
        client_kwargs = dict(fs.client_kwargs or {})
        if fs.endpoint_url and "endpoint_url" not in client_kwargs:
            client_kwargs["endpoint_url"] = fs.endpoint_url
        config = Config(max_pool_connections=32, **(fs.config_kwargs or {}))
        client = session.client("s3", config=config, **client_kwargs)
        client.meta.events.register("before-sign.s3.PutObject", _send_small_bodies_at_once)
        return client

    def _transfer_config(self, workers: int | None) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD,
            multipart_chunksize=PART_SIZE,
            max_concurrency=workers or PARALLEL_PARTS,
            use_threads=(workers or PARALLEL_PARTS) > 1,
        )

    def write_options(self, path: str) -> dict[str, Any]:
        return content_type_header(path)  # as upload_file sets it: the object is served with its type

    def upload_file(
        self,
        local_path: str,
        path: str,
        workers: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Upload a local file: one PUT when small, else a bounded parallel multipart upload
        that S3 publishes only once complete (a failure leaves the previous object).
        ``progress`` receives byte counts as parts go (from the transfer's threads)."""
        client = self.client
        if client is None:
            callback = _FsspecProgress(progress) if progress is not None else DEFAULT_CALLBACK
            self.fs.put_file(
                local_path, self.fspath(path), callback=callback, chunksize=PART_SIZE, max_concurrency=workers or 8
            )
        elif (small := _read_if_small(local_path)) is not None:
            # One PUT: the transfer manager's thread pool costs more than it saves here.
            client.put_object(Bucket=self.bucket, Key=self.key(path), Body=small, **content_type_header(path))
        else:
            client.upload_file(
                local_path,
                self.bucket,
                self.key(path),
                Config=self._transfer_config(workers),
                ExtraArgs=content_type_header(path),
                Callback=progress,
            )
        self.forget(self.fspath(path))

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
        self, path: str, start: int, stop: int | None, chunk_size: int = CHUNK_SIZE, etag: str | None = None
    ) -> Iterator[bytes]:
        """Stream bytes ``start``..``stop`` with one (ranged) GET; with ``etag``, only from
        that version of the object (S3 answers 412 once it has been replaced)."""
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
        if etag:
            extra["IfMatch"] = f'"{etag}"'
        try:
            body = client.get_object(Bucket=self.bucket, Key=self.key(path), **extra)["Body"]
        except client.exceptions.NoSuchKey:
            raise FileNotFoundError(2, "No such file or directory", self.fspath(path)) from None
        except client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                raise FileNotFoundError(2, "Replaced while being read", self.fspath(path)) from None
            raise
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()


#: Bodies up to this size are sent with their headers, without waiting for "100 Continue".
SMALL_PUT = 1024 * 1024


def _send_small_bodies_at_once(request: Any, **kwargs: Any) -> None:
    """Drop botocore's ``Expect: 100-continue`` from a small PutObject.

    botocore asks for it on every body so that a server can refuse before the body is sent;
    for a small body that saves nothing and costs a round trip per object (a folder of small
    files spends most of its time waiting on those).
    """
    if request.headers.get("Expect") not in ("100-continue", b"100-continue"):
        return
    from botocore.utils import determine_content_length

    body = request.body
    size = len(body) if isinstance(body, (bytes, bytearray)) else determine_content_length(body)
    if size is not None and size <= SMALL_PUT:
        del request.headers["Expect"]


def _read_if_small(local_path: str) -> bytes | None:
    """The content of a file below the multipart threshold (None for a larger one)."""
    with open(local_path, "rb") as f:
        if os.fstat(f.fileno()).st_size >= MULTIPART_THRESHOLD:
            return None
        return f.read()
