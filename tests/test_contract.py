"""The backend contract: the same tests, unchanged, on every backend."""

from __future__ import annotations

import hashlib
import time

import pytest
from helpers import BACKENDS, payload, snapshot

from genro_storage import (
    StorageError,
    StorageExistsError,
    StorageIsADirectoryError,
    StorageNotADirectoryError,
    StorageNotFoundError,
)

NAMES = ["plain.txt", "with space.txt", "unicodé-ñ-文件.txt", "emoji-🎉.bin", "no_suffix", ".hidden"]


def test_write_and_read_text(storage):
    node = storage.node("m:docs/hello.txt")
    assert node.write("héllo wörld") == len("héllo wörld")
    assert node.read() == "héllo wörld"
    assert node.read_text() == "héllo wörld"
    assert node.read(mode="rb") == "héllo wörld".encode()


def test_write_and_read_bytes(storage):
    data = bytes(range(256)) * 10
    node = storage.node("m", "bin", "data.bin")
    assert node.write(data, mode="wb") == len(data)
    assert node.read_bytes() == data
    assert node.read(mode="rb") == data
    node.write_bytes(b"short")
    assert node.read_bytes() == b"short"


def test_write_replaces_content(storage):
    node = storage.node("m:f.txt")
    node.write("a much longer first version")
    node.write_text("v2")
    assert node.read() == "v2"
    assert node.size == 2


@pytest.mark.parametrize("name", NAMES)
def test_unicode_and_space_names(storage, name):
    node = storage.node("m:dir with space").child(name)
    node.write(b"x" * 3, mode="wb")
    assert node.exists and node.isfile
    assert node.read_bytes() == b"xxx"
    assert [c.basename for c in node.parent.children()] == [name]
    assert storage.node(node.fullpath) == node


def test_empty_file(storage):
    node = storage.node("m:empty.bin")
    node.write_bytes(b"")
    assert node.exists and node.isfile
    assert node.size == 0
    assert node.read_bytes() == b""
    assert node.md5hash == hashlib.md5(b"").hexdigest()
    with node.open("rb") as f:
        assert f.read() == b""


def test_open_streaming_read_and_write(storage):
    node = storage.node("m:stream.bin")
    chunk = payload(64 * 1024)
    with node.open("wb") as f:
        for _ in range(16):
            f.write(chunk)
    assert node.size == 16 * len(chunk)
    with node.open("rb") as f:
        first = f.read(1000)
        assert first == chunk[:1000]
        rest = f.read()
    assert first + rest == chunk * 16


def test_open_text_modes(storage):
    node = storage.node("m:text.txt")
    with node.open("w") as f:
        f.write("line 1\n")
        f.write("línea 2\n")
    with node.open("r") as f:
        assert f.readlines() == ["line 1\n", "línea 2\n"]


def test_failed_streaming_write_keeps_old_content(storage):
    node = storage.node("m:keep.txt")
    node.write("old content")
    with pytest.raises(RuntimeError):
        with node.open("wb") as f:
            f.write(b"half a new ")
            raise RuntimeError("interrupted")
    assert node.read() == "old content"
    with pytest.raises(RuntimeError):
        with node.open("w") as f:
            f.write("half")
            raise RuntimeError("interrupted")
    assert node.read() == "old content"
    assert [c.basename for c in node.parent.children()] == ["keep.txt"]


def test_file_appears_only_when_closed(storage):
    node = storage.node("m:late.txt")
    f = node.open("wb")
    f.write(b"data")
    assert not node.exists
    f.close()
    assert node.read_bytes() == b"data"


def test_exists_isfile_isdir(storage):
    file = storage.node("m:a/b/file.txt")
    folder = storage.node("m:a/b")
    missing = storage.node("m:a/nothing")
    assert not file.exists and not file.isfile and not file.isdir
    file.write("x")
    assert file.exists and file.isfile and not file.isdir
    assert folder.exists and folder.isdir and not folder.isfile
    assert not missing.exists and not missing.isfile and not missing.isdir
    root = storage.node("m:")
    assert root.isdir and root.exists


def test_size_and_mtime(storage):
    node = storage.node("m:sized.bin")
    before = time.time()
    node.write_bytes(b"12345")
    assert node.size == 5
    assert isinstance(node.mtime, float)
    assert before - 5 <= node.mtime <= time.time() + 5


def test_missing_file_errors_name_mount_and_path(storage):
    node = storage.node("m:missing/file.txt")
    for action in (lambda: node.read(), lambda: node.size, lambda: node.mtime, lambda: node.open("rb")):
        with pytest.raises(FileNotFoundError) as info:
            action()
        assert isinstance(info.value, StorageNotFoundError)
        assert info.value.mount == "m" and info.value.path == "missing/file.txt"
        assert "m:missing/file.txt" in str(info.value)


def test_children_sorted_and_typed(storage):
    for name in ("b.txt", "a.txt", "sub/inner.txt", "c/d/deep.txt"):
        storage.node("m", name).write("x")
    root = storage.node("m:")
    assert [c.basename for c in root.children()] == ["a.txt", "b.txt", "c", "sub"]
    kinds = {c.basename: c.isdir for c in root.children()}
    assert kinds == {"a.txt": False, "b.txt": False, "c": True, "sub": True}
    assert [c.path for c in storage.node("m:c").children()] == ["c/d"]
    assert storage.node("m:").children()[0].fullpath == "m:a.txt"


def test_children_of_file_and_missing(storage):
    storage.node("m:f.txt").write("x")
    with pytest.raises(NotADirectoryError) as info:
        storage.node("m:f.txt").children()
    assert isinstance(info.value, StorageNotADirectoryError)
    with pytest.raises(StorageNotFoundError):
        storage.node("m:nope").children()


def test_empty_root_has_no_children(storage):
    assert storage.node("m:").children() == []


def test_mkdir(storage):
    folder = storage.node("m:new/deeper")
    with pytest.raises(StorageNotFoundError):
        folder.mkdir()
    folder.mkdir(parents=True)
    assert folder.isdir and folder.exists
    assert folder.children() == []
    assert [c.basename for c in folder.parent.children()] == ["deeper"]
    with pytest.raises(FileExistsError):
        folder.mkdir(parents=True)
    folder.mkdir(parents=True, exist_ok=True)
    storage.node("m:new/deeper/x.txt").write("x")
    assert [c.basename for c in folder.children()] == ["x.txt"]


def test_mkdir_over_a_file(storage):
    storage.node("m:taken").write("x")
    with pytest.raises(StorageExistsError):
        storage.node("m:taken").mkdir(exist_ok=True)


def test_delete_file_and_folder(storage):
    storage.node("m:d/one.txt").write("1")
    storage.node("m:d/sub/two.txt").write("2")
    storage.node("m:keep.txt").write("k")
    assert storage.node("m:d/one.txt").delete() is True
    assert not storage.node("m:d/one.txt").exists
    assert storage.node("m:d").delete() is True
    assert not storage.node("m:d").exists
    assert not storage.node("m:d/sub/two.txt").exists
    assert [c.basename for c in storage.node("m:").children()] == ["keep.txt"]
    assert storage.node("m:d").delete() is False


def test_delete_empty_folder(storage):
    folder = storage.node("m:empty-dir")
    folder.mkdir()
    assert folder.delete() is True
    assert not folder.exists


def test_write_to_a_folder_is_refused(storage):
    storage.node("m:dir/file").write("x")
    with pytest.raises(IsADirectoryError) as info:
        storage.node("m:dir").write("x")
    assert isinstance(info.value, StorageIsADirectoryError)
    assert storage.node("m:dir/file").read() == "x"


def test_md5hash_and_etag(storage):
    node = storage.node("m:h.bin")
    node.write_bytes(b"hash me")
    assert node.md5hash == hashlib.md5(b"hash me").hexdigest()
    first = node.etag
    assert first and first == node.etag
    node.write_bytes(b"something else entirely")
    assert node.etag != first


def test_large_file_20mb(storage):
    data = payload(1024 * 1024) * 20
    node = storage.node("m:big/20mb.bin")
    with node.open("wb") as f:
        view = memoryview(data)
        for start in range(0, len(data), 3 * 1024 * 1024):
            f.write(view[start : start + 3 * 1024 * 1024])
    assert node.size == len(data)
    digest = hashlib.md5()
    with node.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.md5(data).hexdigest()
    assert node.md5hash == hashlib.md5(data).hexdigest()


def test_same_mount_copy_and_move(storage):
    src = storage.node("m:src/a.txt")
    src.write("payload")
    copy = src.copy_to("m:dst/a-copy.txt").dest
    assert copy.read() == "payload" and src.read() == "payload"
    moved = src.move_to(storage.node("m:dst/a-moved.txt")).dest
    assert moved.read() == "payload"
    assert not src.exists
    assert sorted(c.basename for c in storage.node("m:dst").children()) == ["a-copy.txt", "a-moved.txt"]


def test_copy_into_existing_folder_keeps_name(storage):
    storage.node("m:target").mkdir()
    dest = storage.node("m:file.txt")
    dest.write("x")
    result = dest.copy_to("m:target").dest
    assert result.fullpath == "m:target/file.txt"
    assert result.read() == "x"


def test_copy_missing_source(storage):
    with pytest.raises(StorageNotFoundError) as info:
        storage.node("m:ghost.txt").copy_to("m:other.txt")
    assert info.value.path == "ghost.txt"
    assert not storage.node("m:other.txt").exists


@pytest.mark.parametrize("src_kind", BACKENDS)
@pytest.mark.parametrize("dst_kind", BACKENDS)
def test_copy_and_move_across_backends(all_mounts, src_kind, dst_kind):
    data = payload(3 * 1024 * 1024 + 17)
    src = all_mounts.node(src_kind, "from", "file ü.bin")
    src.write_bytes(data)
    copy = src.copy_to(f"{dst_kind}:to/copy ü.bin").dest
    assert copy.read_bytes() == data
    assert src.read_bytes() == data
    old = all_mounts.node(dst_kind, "to", "moved.bin")
    old.write_bytes(b"previous")
    moved = src.move_to(old).dest
    assert moved.read_bytes() == data
    assert not src.exists


def test_errors_are_storage_errors(storage):
    with pytest.raises(StorageError):
        storage.node("m:missing").read()


def test_a_file_cannot_hold_children(storage):
    storage.node("m:f.txt").write("a")
    with pytest.raises((NotADirectoryError, FileExistsError, FileNotFoundError)) as info:
        storage.node("m:f.txt/child").write("b")
    assert isinstance(info.value, StorageError)
    assert [c.path for c in storage.node("m:").children()] == ["f.txt"]


def test_reading_a_folder_is_refused(storage):
    storage.node("m:dir/x.txt").write("x")
    for node in (storage.node("m:dir"), storage.node("m:")):
        with pytest.raises(IsADirectoryError):
            node.read_bytes()
        with pytest.raises(IsADirectoryError):
            node.open("rb")
    with pytest.raises(IsADirectoryError):
        _ = storage.node("m:dir").md5hash


def test_long_names(storage):
    name = "n" * 200 + ".txt"
    node = storage.node("m", name)
    node.write("long")
    assert node.read() == "long"


def test_mkdir_inside_a_file_is_refused(storage):
    storage.node("m:f").write("x")
    with pytest.raises((NotADirectoryError, FileExistsError)):
        storage.node("m:f/g").mkdir(parents=True)
    assert [c.path for c in storage.node("m:").children()] == ["f"]


def test_reading_an_empty_folder_is_refused(storage):
    storage.node("m:empty").mkdir()
    with pytest.raises(IsADirectoryError):
        storage.node("m:empty").read_bytes()


def test_changes_are_seen_at_once(storage):
    node = storage.node("m:seen.bin")
    node.write_bytes(b"old")
    assert [c.basename for c in storage.node("m:").children()] == ["seen.bin"]
    node.write_bytes(b"new content!")
    assert node.size == 12
    storage.node("m:other.bin").write_bytes(b"x")
    assert storage.node("m:other.bin").exists
    assert [c.basename for c in storage.node("m:").children()] == ["other.bin", "seen.bin"]


def test_glob_characters_in_names_are_literal(storage):
    storage.node("m:in/report[1].txt").write_bytes(b"bracket")
    storage.node("m:in/report1.txt").write_bytes(b"other")
    storage.node("m:in/a*b?.txt").write_bytes(b"star")
    storage.node("m:in/aXbY.txt").write_bytes(b"x")
    storage.node("m:in/report[1].txt").copy_to("m:out/copy[1].txt")
    storage.node("m:in/a*b?.txt").copy_to("m:out/a*b?.txt")
    storage.node("m:in/report[1].txt").move_to("m:out/moved[1].txt")
    assert snapshot(storage, "m") == {
        "in/": None,
        "in/a*b?.txt": b"star",
        "in/aXbY.txt": b"x",
        "in/report1.txt": b"other",
        "out/": None,
        "out/a*b?.txt": b"star",
        "out/copy[1].txt": b"bracket",
        "out/moved[1].txt": b"bracket",
    }


def test_glob_characters_in_folder_names_are_literal(storage):
    storage.node("m:d[1]/a.txt").write_bytes(b"a")
    storage.node("m:d[1]/empty").mkdir()
    storage.node("m:d1/unrelated.txt").write_bytes(b"unrelated")
    storage.node("m:e?f/b.txt").write_bytes(b"b")
    storage.node("m:eXf/kept.txt").write_bytes(b"kept")
    storage.node("m:d[1]").copy_to("m:copy[1]")
    storage.node("m:e?f").move_to("m:moved?f")
    assert storage.node("m:d[1]").delete()
    assert snapshot(storage, "m") == {
        "copy[1]/": None,
        "copy[1]/a.txt": b"a",
        "copy[1]/empty/": None,
        "d1/": None,
        "d1/unrelated.txt": b"unrelated",
        "eXf/": None,
        "eXf/kept.txt": b"kept",
        "moved?f/": None,
        "moved?f/b.txt": b"b",
    }
