"""Mount permissions are enforced on every mutating call, and nothing changes when refused."""

from __future__ import annotations

import pytest
from helpers import mount_config, server_for

from genro_storage import StorageConfigError, StorageManager, StoragePermissionError


@pytest.fixture
def mounts(backend_kind, tmp_path, request):
    setup = StorageManager([mount_config(backend_kind, "m", tmp_path, server_for(backend_kind, request))])
    setup.node("m:dir/file.txt").write("original")
    backend = setup.get_backend("m")
    # The same storage seen through mounts with fewer rights.
    storage = StorageManager([{"name": "scratch", "type": "memory"}])
    for permissions in ("readonly", "readwrite"):
        storage.add_mount(name=permissions, type="memory", permissions=permissions)
        storage.mounts[permissions].backend = backend
    return storage


def snapshot(storage, mount):
    return sorted((c.path, c.read()) for c in storage.node(mount, "dir").children())


def test_readonly_refuses_every_change(mounts):
    before = snapshot(mounts, "readonly")
    node = mounts.node("readonly:dir/file.txt")
    attempts = [
        lambda: node.write("changed"),
        lambda: node.write_bytes(b"changed"),
        lambda: node.open("wb"),
        lambda: node.open("w"),
        lambda: mounts.node("readonly:dir/new.txt").write("x"),
        lambda: mounts.node("readonly:newdir").mkdir(),
        node.delete,
        lambda: mounts.node("readonly:dir").delete(),
        lambda: node.move_to("scratch:moved.txt"),
        lambda: mounts.node("scratch:x.txt").copy_to("readonly:dir/x.txt"),
        lambda: mounts.node("scratch:x.txt").move_to("readonly:dir/x.txt"),
    ]
    mounts.node("scratch:x.txt").write("x")
    for attempt in attempts:
        with pytest.raises(PermissionError) as info:
            attempt()
        assert isinstance(info.value, StoragePermissionError)
        assert info.value.mount == "readonly"
        assert "readonly" in str(info.value)
    assert snapshot(mounts, "readonly") == before
    assert mounts.node("scratch:x.txt").exists
    assert not mounts.node("scratch:moved.txt").exists
    assert node.read() == "original"  # reads still work


def test_readwrite_writes_but_does_not_delete(mounts):
    node = mounts.node("readwrite:dir/file.txt")
    node.write("changed")
    assert node.read() == "changed"
    mounts.node("readwrite:dir/new.txt").write("new")
    for attempt in (node.delete, lambda: mounts.node("readwrite:dir").delete(), lambda: node.move_to("scratch:m.txt")):
        with pytest.raises(StoragePermissionError) as info:
            attempt()
        assert "delete" in str(info.value)
    assert node.read() == "changed"
    assert not mounts.node("scratch:m.txt").exists


def test_http_mount_is_readonly():
    with pytest.raises(StorageConfigError) as info:
        StorageManager([{"name": "web", "type": "http", "base_url": "http://127.0.0.1:9", "permissions": "readwrite"}])
    assert info.value.key == "permissions"
    storage = StorageManager([{"name": "web", "type": "http", "base_url": "http://127.0.0.1:9"}])
    assert storage.mounts["web"].permissions == "readonly"
    with pytest.raises(StoragePermissionError):
        storage.node("web:x.txt").write("x")
