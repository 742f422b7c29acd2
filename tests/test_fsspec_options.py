"""fsspec-backed mounts: options checked against what the filesystem takes, multipart
uploads aborted on every failure, and a download cut short by the service.

Everything runs against real servers on 127.0.0.1: moto's S3 (the session's ``s3_server``),
and, for downloads cut short, a raw-socket proxy in front of it.
"""

from __future__ import annotations

import gc
import io
import itertools
import os
import select
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

import fsspec
import pytest

import genro_storage
from genro_storage import StorageConfigError, StorageManager
from genro_storage.backends import fsspec as fsspec_backend
from genro_storage.backends import s3 as s3_backend

BUCKET = "contract"  # created by the session's s3_server
MiB = 2**20
_prefixes = itertools.count()


def config_error(config: dict) -> StorageConfigError:
    with pytest.raises(StorageConfigError) as info:
        StorageManager([config])
    return info.value


# -- 1. options no part of the mount takes are refused, with the closest valid name ------


def test_s3_typo_is_refused_with_the_valid_name(s3_server):
    config = s3_server.mount("u", BUCKET)
    config["endpoint"] = config.pop("endpoint_url")
    err = config_error(config)
    assert (err.mount, err.key) == ("u", "endpoint")
    assert str(err) == "mount 'u', key 'endpoint': unknown option for s3 mounts (did you mean 'endpoint_url'?)"


@pytest.mark.parametrize(
    ("config", "key", "suggestion"),
    [
        ({"type": "s3", "bucket": "b", "prefx": "app"}, "prefx", "prefix"),
        ({"type": "s3", "bucket": "b", "client_kwarg": {}}, "client_kwarg", "client_kwargs"),
        ({"type": "gcs", "bucket": "b", "tokn": "anon"}, "tokn", "token"),
        ({"type": "azure", "container": "c", "conection_string": "x"}, "conection_string", "connection_string"),
        ({"type": "azure", "container": "c", "acount_name": "x"}, "acount_name", "account_name"),
        ({"type": "file", "path": "/srv", "auto_mkdr": True}, "auto_mkdr", "auto_mkdir"),
        ({"type": "memory", "pth": "jail"}, "pth", "path"),
        ({"type": "memory", "permission": "readonly"}, "permission", "permissions"),
    ],
)
def test_unknown_options_name_mount_key_and_the_closest_valid_one(config, key, suggestion):
    err = config_error({"name": "m", **config})
    assert (err.mount, err.key) == ("m", key)
    assert f"(did you mean {suggestion!r}?)" in str(err)


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("region_name", "(it goes inside client_kwargs={'region_name': ...})"),
        ("region", "(did you mean client_kwargs={'region_name': ...}?)"),
        ("read_timeout", "(it goes inside config_kwargs={'read_timeout': ...})"),
    ],
)
def test_s3_keys_of_the_botocore_client_say_where_they_go(key, hint):
    err = config_error({"name": "m", "type": "s3", "bucket": "b", key: "x"})
    assert err.key == key and str(err).endswith(hint)


def test_an_option_like_nothing_known_has_no_suggestion():
    err = config_error({"name": "m", "type": "s3", "bucket": "b", "zzzzzz": 1})
    assert err.key == "zzzzzz" and "did you mean" not in str(err)


def test_options_the_filesystems_take_are_accepted(s3_server, tmp_path):
    s3 = s3_server.mount(
        "s3",
        BUCKET,
        client_kwargs={"region_name": "us-east-1"},
        config_kwargs={"max_pool_connections": 4},
        s3_additional_kwargs={},
        default_block_size=6 * MiB,
        listings_expiry_time=5,
        max_paths=10,
        use_listings_cache=False,
        skip_instance_cache=True,
        max_concurrency=2,
        session_vars=None,  # AioSession's, reached through s3fs's leftover kwargs
    )
    storage = StorageManager(
        [
            s3,
            {"name": "gcs", "type": "gcs", "bucket": "b", "project": "p", "token": "anon", "endpoint_url": "http://x"},
            {"name": "az", "type": "azure", "container": "c", "account_name": "acct", "account_key": "a2V5"},
            # DefaultAzureCredential's options, which adlfs builds it from (no key given).
            {"name": "azid", "type": "azure", "container": "c", "account_name": "acct", "exclude_cli_credential": True},
            {"name": "file", "type": "file", "path": str(tmp_path), "auto_mkdir": True},
        ]
    )
    assert storage.get_backend("s3").fs.default_block_size == 6 * MiB
    assert storage.get_backend("file").fs.auto_mkdir is True


def test_http_options_are_checked_against_aiohttp_requests():
    # HTTPFileSystem hands its other options to every aiohttp request.
    storage = StorageManager([{"name": "web", "type": "http", "base_url": "http://127.0.0.1:9", "headers": {"a": "b"}}])
    assert storage.get_backend("web").fs.kwargs == {"headers": {"a": "b"}}
    err = config_error({"name": "web", "type": "http", "base_url": "http://127.0.0.1:9", "header": {}})
    assert err.key == "header" and "(did you mean 'headers'?)" in str(err)


class _ForwardingFileSystem(fsspec.AbstractFileSystem):
    """A filesystem that keeps its extra options for a client of its own (as sftp's for paramiko)."""

    protocol = "genro-forwarding-test"

    def __init__(self, **client_options: Any):
        super().__init__()
        self.client_options = client_options


def test_protocols_forwarding_options_out_of_sight_accept_unknown_ones():
    fsspec.register_implementation(_ForwardingFileSystem.protocol, _ForwardingFileSystem, clobber=True)
    storage = StorageManager([{"name": "f", "type": _ForwardingFileSystem.protocol, "look_for_keys": False}])
    assert storage.get_backend("f").fs.client_options == {"look_for_keys": False}


def test_the_bucket_filesystems_are_fully_read():
    # A new class in s3fs/gcsfs/adlfs's MRO taking **kwargs must be read (and listed) before
    # the check can trust the list; a failure here names the library that changed.
    for protocol in ("s3", "gcs", "abfs", "file", "http"):
        known, complete = fsspec_backend.known_fs_options(fsspec.get_filesystem_class(protocol))
        assert complete, protocol
        assert fsspec_backend.BASE_FS_OPTIONS <= known
    known, complete = fsspec_backend.known_fs_options(_ForwardingFileSystem)
    assert not complete


def test_boto3_client_uses_the_mount_profile(s3_server, tmp_path, monkeypatch):
    # s3fs reads 'profile' (through its session); the boto3 client must use the same one.
    config = tmp_path / "aws-config"
    config.write_text("[profile other]\nregion = eu-west-3\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    storage = StorageManager([s3_server.mount("u", BUCKET, profile="other")])
    assert storage.get_backend("u").client.meta.region_name == "eu-west-3"


# -- 2. a failed upload leaves no multipart upload and the previous object ---------------


class Injected(RuntimeError):
    """The failure the tests inject."""


def fail_after(calls: int) -> Callable[..., None]:
    """A botocore event handler that lets ``calls`` requests through, then raises."""
    seen = itertools.count()

    def handler(**_: Any) -> None:
        if next(seen) >= calls:
            raise Injected("injected failure")

    return handler


@contextmanager
def failing(client: Any, operation: str, after: int = 0) -> Iterator[None]:
    """Make ``operation`` requests of ``client`` fail after ``after`` of them succeeded."""
    handler = fail_after(after)
    client.meta.events.register(f"before-send.s3.{operation}", handler)
    try:
        yield
    finally:
        client.meta.events.unregister(f"before-send.s3.{operation}", handler)


@pytest.fixture
def prefix() -> str:
    """A fresh folder of the bucket for one test."""
    return f"mpu{next(_prefixes)}"


@pytest.fixture
def s3(s3_server, tmp_path, prefix):
    """A manager with an s3 mount ``u`` (on ``prefix``) and a local one ``loc``."""
    return StorageManager(
        [s3_server.mount("u", BUCKET, prefix=prefix), {"name": "loc", "type": "local", "path": str(tmp_path)}]
    )


@pytest.fixture
def pending_uploads(s3_server, prefix) -> Iterator[Callable[[], list[str]]]:
    """The keys of the multipart uploads left under ``prefix``."""
    client = s3_server.client()

    def pending() -> list[str]:
        gc.collect()  # an abandoned writer is discarded when it is collected
        listing = client.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix + "/")
        return [upload["Key"] for upload in listing.get("Uploads", [])]

    yield pending
    for upload in client.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix + "/").get("Uploads", []):
        client.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])


def write_in_chunks(node, chunks: int, size: int = 3 * MiB) -> None:
    with node.open("wb") as f:
        for _ in range(chunks):
            f.write(os.urandom(size))


def test_exception_in_the_with_block_aborts_the_upload(s3, pending_uploads):
    node = s3.node("u:big.bin")
    node.write_bytes(b"previous")
    with pytest.raises(Injected):
        with node.open("wb") as f:
            f.write(os.urandom(6 * MiB))  # past one block: a multipart upload is under way
            assert len(pending_uploads()) == 1
            raise Injected("the caller's own error")
    assert node.read_bytes() == b"previous"
    assert pending_uploads() == []


@pytest.mark.parametrize("operation", ["UploadPart", "CompleteMultipartUpload"])
def test_a_failing_request_aborts_the_upload(s3, pending_uploads, operation):
    node = s3.node("u:big.bin")
    node.write_bytes(b"previous")
    with failing(s3.get_backend("u").fs.s3, operation, after=1 if operation == "UploadPart" else 0):
        with pytest.raises(Injected):
            write_in_chunks(node, 4)
    assert node.read_bytes() == b"previous"
    assert pending_uploads() == []


def test_an_abandoned_writer_aborts_the_upload(s3, pending_uploads):
    node = s3.node("u:big.bin")
    node.write_bytes(b"previous")
    writer = node.open("wb")
    writer.write(os.urandom(6 * MiB))
    assert len(pending_uploads()) == 1
    del writer
    assert pending_uploads() == []
    assert node.read_bytes() == b"previous"


def test_a_failing_abort_does_not_hide_the_original_error(s3, pending_uploads, caplog):
    node = s3.node("u:big.bin")
    node.write_bytes(b"previous")
    with failing(s3.get_backend("u").fs.s3, "AbortMultipartUpload"):
        with pytest.raises(Injected, match="the caller's own error"):
            with node.open("wb") as f:
                f.write(os.urandom(6 * MiB))
                raise Injected("the caller's own error")
    assert node.read_bytes() == b"previous"
    # The service refused the abort: the upload stays (for a lifecycle rule), and says so.
    assert len(pending_uploads()) == 1
    assert "could not abort the upload" in caplog.text


def test_a_source_failing_mid_copy_aborts_the_streamed_upload(s3, pending_uploads, monkeypatch):
    s3.add_mount(name="feed", type="memory")
    source = s3.node("feed:big.bin")
    source.write_bytes(b"")
    data = os.urandom(12 * MiB)

    class CutShort(io.BytesIO):
        """The source's content, failing after 6 MiB as a dropped connection would."""

        def read(self, size: int | None = -1) -> bytes:
            if self.tell() >= 6 * MiB:
                raise ConnectionResetError(104, "Connection reset by peer")
            return super().read(size)

    monkeypatch.setattr(s3.get_backend("feed"), "open_read", lambda path: CutShort(data))
    node = s3.node("u:big.bin")
    node.write_bytes(b"previous")
    with pytest.raises(ConnectionError):
        source.copy_to(node)
    assert node.read_bytes() == b"previous"
    assert pending_uploads() == []


@pytest.fixture
def big_local(s3):
    """A local file past the multipart threshold of a copy to S3."""
    data = os.urandom(s3_backend.MULTIPART_THRESHOLD + 4 * MiB)
    s3.node("loc:big.bin").write_bytes(data)
    return s3.node("loc:big.bin")


def test_upload_file_failing_part_aborts(s3, pending_uploads, big_local):
    node = s3.node("u:big.bin")
    node.write_bytes(b"previous")
    with failing(s3.get_backend("u").client, "UploadPart", after=1):
        with pytest.raises(Injected):
            big_local.copy_to(node)
    assert node.read_bytes() == b"previous"
    assert pending_uploads() == []


def test_put_file_without_boto3_failing_part_aborts(s3, pending_uploads, big_local, monkeypatch):
    backend = s3.get_backend("u")
    monkeypatch.setitem(backend.__dict__, "client", None)  # as without boto3: s3fs's put_file
    node = s3.node("u:big.bin")
    node.write_bytes(b"previous")
    with failing(backend.fs.s3, "UploadPart", after=1):
        with pytest.raises(Injected):
            big_local.copy_to(node)
    assert node.read_bytes() == b"previous"
    assert pending_uploads() == []


@pytest.fixture
def small_copy_threshold(monkeypatch):
    """Copy part by part from 5 MiB up (S3's smallest part), not from 150 MiB."""
    monkeypatch.setattr(s3_backend, "COPY_MULTIPART_THRESHOLD", 5 * MiB)
    monkeypatch.setattr(s3_backend, "COPY_PART_SIZE", 5 * MiB)


def test_large_server_side_copy_failing_part_aborts(s3, pending_uploads, small_copy_threshold):
    source, node = s3.node("u:src.bin"), s3.node("u:big.bin")
    source.write_bytes(os.urandom(12 * MiB))
    node.write_bytes(b"previous")
    with failing(s3.get_backend("u").client, "UploadPartCopy", after=1):
        with pytest.raises(Injected):
            source.copy_to(node)
        with pytest.raises(Injected):
            source.move_to(node)
    assert node.read_bytes() == b"previous" and source.exists
    assert pending_uploads() == []


def test_large_server_side_copy_keeps_content_type_and_metadata(s3, small_copy_threshold):
    source = s3.node("u:report.pdf")
    data = os.urandom(12 * MiB)
    source.write_bytes(data)
    source.set_metadata({"owner": "ann"}, content_type="application/pdf")
    source.copy_to("u:copy.pdf")
    copy = s3.node("u:copy.pdf")
    assert copy.read_bytes() == data
    assert copy.get_metadata() == {"owner": "ann"}
    backend = s3.get_backend("u")
    assert backend.client.head_object(Bucket=BUCKET, Key=backend.key("copy.pdf"))["ContentType"] == "application/pdf"
    source.move_to("u:moved.pdf")
    assert s3.node("u:moved.pdf").read_bytes() == data and not source.exists


# -- 3. a download the service cuts short --------------------------------------------------


class CuttingProxy:
    """A TCP proxy in front of an HTTP server that forwards every request and response,
    except that it cuts a GET response with a large body after ``keep`` body bytes and
    drops the connection: closed (FIN) or, with ``reset``, reset (RST).

    Requests through it carry no body (only reads go through it), so each one ends at its
    blank line; responses are framed by Content-Length (HEAD's have no body).
    """

    def __init__(self, upstream: tuple[str, int], reset: bool, cut_from: int = 256 * 1024, keep: int = 64 * 1024):
        self.upstream, self.reset, self.cut_from, self.keep = upstream, reset, cut_from, keep
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        server = socket.create_connection(self.upstream)
        try:
            self._relay(client, server)
        except OSError:
            pass  # either side went away
        finally:
            if self.reset:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()
            server.close()

    def _relay(self, client: socket.socket, server: socket.socket) -> None:
        methods: list[bytes] = []
        requests = responses = b""
        head: bytes | None = None
        length, cut = 0, False
        while True:
            ready, _, _ = select.select([client, server], [], [], 30)
            if not ready:
                return
            if client in ready:
                data = client.recv(65536)
                if not data:
                    return
                requests += data
                while b"\r\n\r\n" in requests:
                    request, _, requests = requests.partition(b"\r\n\r\n")
                    methods.append(request.split(b" ", 1)[0])
                server.sendall(data)
            if server in ready:
                data = server.recv(65536)
                if not data:
                    return
                responses += data
            while True:
                if head is None:
                    if b"\r\n\r\n" not in responses:
                        break
                    head, _, responses = responses.partition(b"\r\n\r\n")
                    method = methods.pop(0)
                    length = 0 if method == b"HEAD" else _content_length(head)
                    cut = method == b"GET" and length >= self.cut_from
                if cut:
                    if len(responses) < self.keep:
                        break
                    client.sendall(head + b"\r\n\r\n" + responses[: self.keep])
                    self.cuts += 1
                    return
                if len(responses) < length:
                    break
                client.sendall(head + b"\r\n\r\n" + responses[:length])
                responses, head = responses[length:], None


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


READS = {
    "open_rb": lambda node: node.open("rb").read(),  # s3fs -> aiohttp
    "read_bytes": lambda node: node.read_bytes(),  # s3fs -> aiohttp
    "copy_to_local": lambda node: node.copy_to("loc:copy.bin"),  # boto3 streamed GET -> urllib3
    "copy_to_local_parallel": lambda node: node.copy_to("loc:copy4.bin", workers=4),  # s3transfer's ranged GETs
}


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
@pytest.mark.parametrize("read", list(READS))
def test_download_cut_short_is_a_connection_error(s3_server, tmp_path, reset, read):
    StorageManager([s3_server.mount("w", BUCKET)]).node("w:cut/obj.bin").write_bytes(os.urandom(2 * MiB))
    where = urlparse(s3_server.endpoint_url)
    proxy = CuttingProxy((where.hostname, where.port), reset=reset)
    try:
        storage = StorageManager(
            [
                s3_server.mount("u", BUCKET, prefix="cut", endpoint_url=proxy.url),
                {"name": "loc", "type": "local", "path": str(tmp_path)},
            ]
        )
        with pytest.raises(Exception) as info:
            READS[read](storage.node("u:obj.bin"))
    finally:
        proxy.close()
    assert proxy.cuts
    assert isinstance(info.value, genro_storage.StorageConnectionError), repr(info.value)
    assert isinstance(info.value, ConnectionError)
