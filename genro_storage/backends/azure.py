"""The azure backend: an Azure Blob Storage container through adlfs.

Writes stage blocks with the Azure SDK and publish them with one ``commit_block_list``:
until then the previous blob is what everyone reads, and an abandoned write leaves only
uncommitted blocks, which Azure drops by itself. (adlfs's own files commit on close and
ignore ``autocommit=False``, so they cannot give that guarantee.)
"""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import IO, Any

from .base import AtomicWriter
from .buckets import BucketBackend, content_type_header

__all__ = ["AzureBackend"]

#: Size of one staged block: bounded memory per write, few requests per large blob.
BLOCK_SIZE = 8 * 2**20


@contextmanager
def sdk_errors(where: str) -> Iterator[None]:
    """The Azure SDK's exceptions as the builtin ``OSError`` kinds the node layer translates."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceExistsError,
        ResourceNotFoundError,
        ServiceRequestError,
    )

    try:
        yield
    except ResourceNotFoundError:
        raise FileNotFoundError(2, "No such file, folder or container", where) from None
    except ResourceExistsError as exc:
        raise FileExistsError(17, _first_line(exc), where) from exc
    except ClientAuthenticationError as exc:
        raise PermissionError(13, _first_line(exc), where) from exc
    except ServiceRequestError as exc:
        raise ConnectionError(_first_line(exc)) from exc
    except HttpResponseError as exc:
        raise OSError(5, _first_line(exc), where) from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


class _BlockUpload:
    """Stages blocks as data arrives; ``commit`` publishes the blob, ``discard`` forgets it."""

    def __init__(self, blob: Any, content_type: str | None, where: str):
        self.blob = blob
        self.where = where
        self.content_type = content_type
        self.buffer = io.BytesIO()
        self.blocks: list[str] = []
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.written = 0

    def write(self, data: Any) -> int:
        size = len(memoryview(data))
        self.buffer.write(data)
        self.md5.update(data)
        self.written += size
        if self.buffer.tell() >= BLOCK_SIZE:
            self._stage()
        return size

    def _stage(self) -> None:
        block_id = base64.b64encode(uuid.uuid4().hex.encode()).decode()
        with sdk_errors(self.where):
            self.blob.stage_block(block_id, self.buffer.getvalue())
        self.blocks.append(block_id)
        self.buffer = io.BytesIO()

    def tell(self) -> int:
        return self.written

    def flush(self) -> None:
        pass

    def commit(self) -> None:
        from azure.storage.blob import ContentSettings

        settings = ContentSettings(content_type=self.content_type, content_md5=bytearray(self.md5.digest()))
        with sdk_errors(self.where):
            self._commit(settings)

    def _commit(self, settings: Any) -> None:
        if not self.blocks:
            # Small: one Put Blob, atomic too.
            self.blob.upload_blob(self.buffer.getvalue(), overwrite=True, content_settings=settings)
        else:
            if self.buffer.tell():
                self._stage()
            self.blob.commit_block_list(self.blocks, content_settings=settings)

    def discard(self) -> None:
        self.buffer = io.BytesIO()
        self.blocks = []


class AzureBackend(BucketBackend):
    """An Azure Blob Storage container, optionally under a ``prefix``.

    Other keys go to ``adlfs.AzureBlobFileSystem``: ``connection_string``, or
    ``account_name`` with ``account_key`` / ``sas_token`` / ``credential``...
    """

    protocol = "abfs"
    bucket_key = "container"
    own_options = ("container", "prefix")
    capabilities = frozenset(
        {"metadata", "versions", "presign", "server_copy", "ranged_reads", "fsspec", "upload_file"}
    )

    @cached_property
    def service(self) -> Any:
        """A synchronous ``BlobServiceClient`` with the mount's credentials."""
        from azure.storage.blob import BlobServiceClient

        fs = self.fs
        if getattr(fs, "connection_string", None):
            return BlobServiceClient.from_connection_string(fs.connection_string)
        credential = fs.account_key or fs.sas_token or getattr(fs, "credential", None)
        return BlobServiceClient(account_url=fs.account_url, credential=credential)

    def _blob(self, path: str) -> Any:
        return self.service.get_blob_client(self.bucket, self.key(path))

    def md5_of(self, raw: dict[str, Any]) -> str | None:
        settings = raw.get("content_settings") or {}
        md5 = settings.get("content_md5") if isinstance(settings, dict) else getattr(settings, "content_md5", None)
        return bytes(md5).hex() if md5 else None

    def _normalize_info(self, raw: dict[str, Any]) -> dict[str, Any]:
        info = super()._normalize_info(raw)
        if (raw.get("metadata") or {}).get("hdi_isfolder") == "true":
            info.update(type="directory", size=0)
        return info

    def open_write(self, path: str, *, exclusive: bool = False) -> AtomicWriter:
        if exclusive:
            raise self.unsupported("exclusive create", path)
        self._writable_path(path)
        upload = _BlockUpload(self._blob(path), content_type_header(path).get("ContentType"), self.fspath(path))
        return AtomicWriter(upload, self._committing(path, upload.commit), upload.discard)

    def _committing(self, path: str, commit: Any) -> Any:
        def run() -> None:
            commit()
            self.forget(self.fspath(path))

        return run

    def write_bytes(self, path: str, data: bytes) -> None:
        with self.open_write(path) as f:
            f.write(data)
        return None

    def upload_file(
        self,
        local_path: str,
        path: str,
        workers: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Upload a local file in staged blocks, committed at the end; ``progress``
        receives each block's size once it is staged."""
        with open(local_path, "rb") as source, self.open_write(path) as target:
            while chunk := source.read(BLOCK_SIZE):
                target.write(chunk)
                if progress is not None:
                    progress(len(chunk))

    def _put_marker(self, path: str) -> None:
        # Azure's own folder marker (ADLS, the portal, adlfs): an empty blob flagged hdi_isfolder.
        with sdk_errors(self.fspath(path)):
            self._blob(path).upload_blob(b"", overwrite=True, metadata={"hdi_isfolder": "true"})

    def _delete_marker(self, path: str) -> None:
        try:
            with sdk_errors(self.fspath(path)):
                self._blob(path).delete_blob()
        except FileNotFoundError:
            pass  # no marker: the folder was implied by files that are gone

    # -- metadata and versions -------------------------------------------------------------

    def get_metadata(self, path: str) -> dict[str, str]:
        props = self._properties(path)
        return {k: v for k, v in (props.metadata or {}).items() if k not in ("hdi_isfolder", "is_directory")}

    def _properties(self, path: str, version_id: str | None = None) -> Any:
        with sdk_errors(self.fspath(path)):
            return self._blob(path).get_blob_properties(version_id=version_id)

    def set_metadata(
        self, path: str, metadata: dict[str, str | None], content_type: str | None, cache_control: str | None
    ) -> None:
        props = self._properties(path)
        blob = self._blob(path)
        merged = {**(props.metadata or {}), **metadata}
        with sdk_errors(self.fspath(path)):
            blob.set_blob_metadata({k: str(v) for k, v in merged.items() if v is not None})
            if content_type is not None or cache_control is not None:
                settings = props.content_settings  # every header is replaced: keep the others
                if content_type is not None:
                    settings.content_type = content_type
                if cache_control is not None:
                    settings.cache_control = cache_control
                blob.set_http_headers(content_settings=settings)
        self.forget(self.fspath(path))

    def versions(self, path: str) -> list[dict[str, Any]]:
        container = self.service.get_container_client(self.bucket)
        key = self.key(path)
        found = []
        with sdk_errors(self.fspath(path)):
            listing = list(container.list_blobs(name_starts_with=key, include=["versions"]))
        for item in listing:
            if item.name == key and item.version_id:
                found.append(
                    {
                        "version_id": item.version_id,
                        "size": item.size,
                        "mtime": item.last_modified.timestamp(),
                        "is_latest": bool(item.is_current_version),
                        "etag": (item.etag or "").strip('"'),
                    }
                )
        if not found:
            self._properties(path)  # a missing blob says so; a present one has no versions
        return sorted(found, key=lambda v: (v["is_latest"], v["version_id"]), reverse=True)

    def open_version(self, path: str, version_id: str) -> IO[bytes]:
        with sdk_errors(self.fspath(path)):
            stream = self._blob(path).download_blob(version_id=version_id)
        return io.BufferedReader(_ChunkReader(stream.chunks()))

    def presign(self, path: str, expires_in: int) -> str:
        """A read-only SAS URL valid ``expires_in`` seconds (needs the account key)."""
        return self.fs.sign(self.fspath(path), expiration=expires_in)


class _ChunkReader(io.RawIOBase):
    """A readable raw stream over an iterator of byte chunks."""

    def __init__(self, chunks: Any):
        self._chunks = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._pending))
        target[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size
