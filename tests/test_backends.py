"""Behaviour specific to one backend: memory isolation, base64, http, local atomicity."""

from __future__ import annotations

import base64
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from genro_storage import StorageManager, StorageNotFoundError, UnsupportedOperationError


def test_two_managers_memory_mounts_are_isolated():
    first = StorageManager([{"name": "mem", "type": "memory"}])
    second = StorageManager([{"name": "mem", "type": "memory"}])
    first.node("mem:secret.txt").write("first's")
    assert not second.node("mem:secret.txt").exists
    assert second.node("mem:").children() == []
    second.node("mem:secret.txt").write("second's")
    assert first.node("mem:secret.txt").read() == "first's"
    assert first.get_backend("mem").fs is not second.get_backend("mem").fs
    import fsspec

    assert "/secret.txt" not in fsspec.filesystem("memory").store


def test_two_memory_mounts_on_one_manager_are_isolated():
    storage = StorageManager([{"name": "a", "type": "memory"}, {"name": "b", "type": "memory"}])
    storage.node("a:x").write("a")
    assert not storage.node("b:x").exists


def test_base64_reads_the_path():
    storage = StorageManager([{"name": "inline", "type": "base64"}])
    encoded = base64.b64encode(b"hello world").decode()
    node = storage.node(f"inline:{encoded}")
    assert node.read() == "hello world"
    assert node.size == 11 and node.isfile and node.exists
    assert node.md5hash == "5eb63bbbe01eeed093cb22bb8f5acdc3"
    url_safe = base64.urlsafe_b64encode(b"\xfb\xff\xfe").decode()
    assert storage.node("inline", url_safe).read_bytes() == b"\xfb\xff\xfe"


def test_base64_write_updates_the_path():
    storage = StorageManager([{"name": "inline", "type": "base64"}, {"name": "mem", "type": "memory"}])
    node = storage.node("inline:")
    node.write("new data")
    assert node.read() == "new data"
    assert base64.urlsafe_b64decode(node.path) == b"new data"
    with node.open("wb") as f:
        f.write(b"streamed")
    assert node.read_bytes() == b"streamed"
    storage.node("mem:f.bin").write_bytes(b"\x00\x01binary")
    copy = storage.node("mem:f.bin").copy_to("inline:").dest
    assert copy.read_bytes() == b"\x00\x01binary"
    assert storage.node(copy.fullpath).read_bytes() == b"\x00\x01binary"
    back = copy.copy_to("mem:back.bin").dest
    assert back.read_bytes() == b"\x00\x01binary"


def test_base64_invalid_data_and_no_folders():
    storage = StorageManager([{"name": "inline", "type": "base64"}])
    with pytest.raises(StorageNotFoundError):
        storage.node("inline:not*base64").read()
    assert not storage.node("inline:not*base64").exists
    with pytest.raises(UnsupportedOperationError) as info:
        storage.node("inline:aGk=").delete()
    assert info.value.mount == "inline" and "delete" in str(info.value)
    with pytest.raises(UnsupportedOperationError):
        storage.node("inline:aGk=").mkdir()


@pytest.fixture
def http_server(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.txt").write_bytes(b"served over http")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_http_backend_reads_over_a_real_socket(http_server, tmp_path):
    storage = StorageManager(
        [
            {"name": "web", "type": "http", "base_url": http_server},
            {"name": "local", "type": "local", "path": str(tmp_path / "l")},
        ]
    )
    node = storage.node("web:docs/page.txt")
    assert node.read() == "served over http"
    assert node.size == len(b"served over http")
    with node.open("rb") as f:
        assert f.read(6) == b"served"
    copy = node.copy_to("local:copy.txt").dest
    assert copy.read() == "served over http"
    with pytest.raises(StorageNotFoundError):
        storage.node("web:docs/missing.txt").read()


def test_local_write_leaves_no_temp_files(tmp_path):
    storage = StorageManager([{"name": "l", "type": "local", "path": str(tmp_path)}])
    node = storage.node("l:a.txt")
    node.write("one")
    with pytest.raises(ZeroDivisionError):
        with node.open("wb") as f:
            f.write(b"two")
            raise ZeroDivisionError
    node.copy_to("l:b.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    assert node.read() == "one"


def test_local_concurrent_writers_never_mix(tmp_path):
    storage = StorageManager([{"name": "l", "type": "local", "path": str(tmp_path)}])
    node = storage.node("l:shared.bin")
    payloads = [bytes([i]) * 200_000 for i in range(8)]
    seen: list[bytes] = []

    def writer(data):
        for _ in range(5):
            node.write_bytes(data)

    def reader():
        for _ in range(50):
            if node.exists:
                seen.append(node.read_bytes())

    threads = [threading.Thread(target=writer, args=(p,)) for p in payloads] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert node.read_bytes() in payloads
    assert all(data in payloads for data in seen)


def test_http_paths_stay_under_base_url(http_server, tmp_path):
    storage = StorageManager([{"name": "web", "type": "http", "base_url": http_server + "/docs"}])
    assert storage.node("web:page.txt").read() == "served over http"
    for escape in ("%2e%2e/docs/page.txt", "..%2fdocs/page.txt", "page.txt?x", "page.txt#x"):
        with pytest.raises(StorageNotFoundError):
            storage.node("web", escape).read()


def test_memory_failed_large_write_keeps_old_content():
    storage = StorageManager([{"name": "m", "type": "memory"}])
    node = storage.node("m:f")
    node.write_bytes(b"OLD")
    with pytest.raises(RuntimeError):
        with node.open("wb") as f:
            f.write(b"x" * 6 * 2**20)
            assert node.read_bytes() == b"OLD"
            raise RuntimeError("interrupted")
    assert node.read_bytes() == b"OLD"


def test_move_between_overlapping_mounts_never_deletes(tmp_path):
    storage = StorageManager(
        [
            {"name": "a", "type": "local", "path": str(tmp_path / "shared")},
            {"name": "b", "type": "local", "path": str(tmp_path / "shared" / "sub")},
        ]
    )
    storage.node("a:sub/f.txt").write("precious")
    with pytest.raises(OSError):
        storage.node("a:sub/f.txt").move_to("b:f.txt")
    assert storage.node("b:f.txt").read() == "precious"


def test_local_etag_changes_on_every_write(tmp_path):
    storage = StorageManager([{"name": "l", "type": "local", "path": str(tmp_path)}])
    node = storage.node("l:a.txt")
    tags = set()
    for i in range(50):
        node.write(str(i % 10))
        tags.add(node.etag)
    assert len(tags) == 50


def test_abandoned_text_writer_keeps_old_content():
    import gc

    storage = StorageManager([{"name": "m", "type": "memory"}])
    node = storage.node("m:f")
    node.write("OLD")
    f = node.open("w")
    f.write("partial")
    del f
    gc.collect()
    assert node.read() == "OLD"


def test_commit_errors_name_mount_and_path(tmp_path):
    storage = StorageManager([{"name": "l", "type": "local", "path": str(tmp_path)}])
    f = storage.node("l:dir/f").open("wb")
    f.write(b"x")
    storage.node("l:dir").delete()
    with pytest.raises(StorageNotFoundError) as info:
        f.close()
    assert info.value.mount == "l" and info.value.path == "dir/f"


def test_client_library_failures_translate_by_kind():
    """What gcsfs, adlfs and botocore raise when a service is unreachable or refuses becomes
    our error of the right kind, naming mount and path (no server needed to build them)."""
    from aiohttp import ClientConnectorError
    from aiohttp.client_reqrep import ConnectionKey
    from azure.core.exceptions import ServiceRequestError
    from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

    from genro_storage.errors import StorageConnectionError, StoragePermissionError, translate_exception

    key = ConnectionKey(**{**dict.fromkeys(ConnectionKey._fields), "host": "127.0.0.1", "port": 1, "ssl": True})
    refused = ConnectionRefusedError(111, "Connect call failed")
    try:
        try:
            raise ClientConnectorError(key, refused)
        except ClientConnectorError as inner:
            raise ServiceRequestError("Cannot connect to host", error=inner) from inner
    except ServiceRequestError as exc:
        azure_down = exc
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject")
    cases = [
        (ClientConnectorError(key, refused), StorageConnectionError),  # gcsfs, s3fs (aiohttp)
        (azure_down, StorageConnectionError),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), StorageConnectionError),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), StorageConnectionError),
        (denied, StoragePermissionError),
    ]
    for exc, kind in cases:
        translated = translate_exception(exc, "m", "a/b.txt")
        assert type(translated) is kind, exc
        assert translated.mount == "m" and translated.path == "a/b.txt" and "m:a/b.txt" in str(translated)
    assert translate_exception(KeyError("a bug"), "m", "a") is None
