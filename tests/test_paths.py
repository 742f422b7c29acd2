"""Path safety: no path given by a user reaches outside its mount."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genro_storage import MountNotFoundError, StorageError, StorageManager, StoragePathError
from genro_storage.paths import normalize_path

BAD = [
    "../etc/passwd",
    "a/../../b",
    "a/..",
    "..",
    "/etc/passwd",
    "a//b",
    "a\\..\\b",
    "a\\b",
    "nul\x00byte",
    "./a",
    "a/./b",
    "a/.",
]


@pytest.mark.parametrize("path", BAD)
def test_bad_paths_refused_before_backend(path, tmp_path):
    storage = StorageManager([{"name": "m", "type": "local", "path": str(tmp_path / "root")}])
    with pytest.raises(StoragePathError) as info:
        storage.node(f"m:{path}")
    assert isinstance(info.value, ValueError)
    assert info.value.mount == "m"
    with pytest.raises(StoragePathError):
        storage.node("m", path)
    with pytest.raises(StoragePathError):
        storage.node("m:ok").child(path)
    assert not (tmp_path / "root").exists()


@pytest.mark.parametrize(
    "path,canonical",
    [("", ""), ("a", "a"), ("a/b", "a/b"), ("docs/", "docs"), ("..a/b..", "..a/b.."), ("a.b/.c", "a.b/.c")],
)
def test_good_paths(path, canonical):
    assert normalize_path(path) == canonical


def test_unknown_mount_refused():
    storage = StorageManager([{"name": "m", "type": "memory"}])
    with pytest.raises(MountNotFoundError) as info:
        storage.node("nope:file.txt")
    assert "'nope'" in str(info.value) and "m" in str(info.value)
    with pytest.raises(MountNotFoundError):
        storage.node("file.txt")  # no mount part at all
    with pytest.raises(MountNotFoundError):
        storage.node("m:x").copy_to("nope:x")


def test_node_forms_agree():
    storage = StorageManager([{"name": "m", "type": "memory"}])
    assert storage.node("m:a/b/c.txt") == storage.node("m", "a", "b", "c.txt") == storage.node("m:a", "b/c.txt")
    assert storage.node("m") == storage.node("m:") == storage.node("m", "")
    node = storage.node("m:a/b/c.tar.gz")
    assert (node.basename, node.stem, node.suffix) == ("c.tar.gz", "c.tar", ".gz")
    assert node.parent.path == "a/b" and node.parent.parent.parent.path == ""
    assert storage.node("m:").parent.path == ""
    assert node.fullpath == "m:a/b/c.tar.gz" and node.mount_name == "m" and str(node) == node.fullpath
    assert (storage.node("m:a") / "b").path == "a/b"
    assert storage.node("m:.bashrc").stem == ".bashrc" and storage.node("m:.bashrc").suffix == ""


segment = st.one_of(
    st.sampled_from(["..", ".", "", "out", "in", "inside", "...", "a", "b", "\\", "..\\..", "\x00", "~", "%2e%2e"]),
    st.text(min_size=1, max_size=8),
)
paths = st.lists(segment, min_size=1, max_size=6).map("/".join) | st.text(max_size=30)


@pytest.fixture(scope="module")
def jail(tmp_path_factory):
    """A local root with a symlink leading out of it and one staying inside."""
    base = tmp_path_factory.mktemp("jail")
    root, outside = base / "root", base / "outside"
    (root / "inside").mkdir(parents=True)
    outside.mkdir()
    os.symlink(outside, root / "out")
    os.symlink(root / "inside", root / "in")
    os.symlink(outside / "file.txt", root / "out-file")
    storage = StorageManager(
        [
            {"name": "local", "type": "local", "path": str(root)},
            {"name": "mem", "type": "memory", "path": "jail"},
        ]
    )
    return storage, root, outside


def _inside(path: Path, root: Path) -> bool:
    real = os.path.realpath(path)
    return real == str(root) or real.startswith(str(root) + os.sep)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=paths)
def test_property_local_never_leaves_root(jail, path):
    storage, root, outside = jail
    try:
        node = storage.node("local", path)
        node.write_bytes(b"x")
    except (StorageError, OSError):
        pass
    else:
        assert _inside(root / node.path, root)
    try:
        storage.node("local", path).mkdir(parents=True, exist_ok=True)
    except (StorageError, OSError):
        pass
    assert list(outside.iterdir()) == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=paths)
def test_property_memory_never_leaves_root(jail, path):
    storage, _, _ = jail
    fs = storage.get_backend("mem").fs
    try:
        storage.node("mem", path).write_bytes(b"x")
    except (StorageError, OSError):
        pass
    assert all(key.startswith("/jail/") for key in fs.store)


def test_symlinks_inside_root_are_followed(jail):
    storage, root, _ = jail
    storage.node("local:in/via-link.txt").write("ok")
    assert (root / "inside" / "via-link.txt").read_text() == "ok"
    assert storage.node("local:in/via-link.txt").read() == "ok"


@pytest.mark.parametrize("path", ["out/file.txt", "out", "out-file", "out/sub/x"])
def test_symlinks_leaving_root_are_refused(jail, path):
    storage, _, outside = jail
    (outside / "file.txt").write_text("secret")
    try:
        node = storage.node("local", path)
        for action in (node.read, lambda: node.write("x"), lambda: node.exists, node.children, node.delete):
            with pytest.raises(StoragePathError) as info:
                action()
            assert "symlink" in str(info.value) and info.value.mount == "local"
        assert (outside / "file.txt").read_text() == "secret"
    finally:
        (outside / "file.txt").unlink()


def test_memory_names_with_fsspec_separators_stay_inside(jail):
    storage, _, _ = jail
    fs = storage.get_backend("mem").fs
    for name in ("a::b", "x::memory:y", "s3:x"):
        storage.node("mem", name).write_bytes(b"x")
        assert storage.node("mem", name).read_bytes() == b"x"
    assert all(key.startswith("/jail/") for key in fs.store)
