"""The local backend's own promises: overwrites keep a file's owner and mode, temporaries of
killed writers are swept, symlink loops and over-long names answer like pathlib, a mount
root must be a folder; and the base64 mount reads base64 the way Python's decoder does."""

from __future__ import annotations

import base64
import errno
import fcntl
import itertools
import os
import random
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genro_storage import StorageManager
from genro_storage.errors import StorageConfigError, StorageNotFoundError, StoragePathError

needs_posix = pytest.mark.skipif(os.name != "posix", reason="Unix permission bits and owners")


def _manager(*roots: Path) -> StorageManager:
    """Local mounts 'f', 'g', ... on ``roots``."""
    return StorageManager([{"name": "fgh"[i], "type": "local", "path": str(root)} for i, root in enumerate(roots)])


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _temporaries(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".genro-tmp"))


def _fake_tmp(folder: Path, age: float = 0.0) -> Path:
    """A temporary named as ``_tmp_name`` names them, nobody holding it, ``age`` seconds old."""
    tmp = folder / f".gs{os.getpid():x}.1.{next(_numbers):x}.genro-tmp"
    tmp.write_bytes(b"half a file")
    if age:
        _age(tmp, age)
    return tmp


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


_numbers = itertools.count()


# -- 1. an overwrite keeps the old file's mode and owner --------------------------------


@needs_posix
@pytest.mark.parametrize("how", ["write", "write_bytes", "open_wb", "open_w"])
@pytest.mark.parametrize("mode", [0o600, 0o755, 0o640, 0o444], ids=oct)
def test_overwrite_keeps_the_mode(tmp_path, how, mode):
    root = tmp_path / "root"
    storage = _manager(root)
    node = storage.node("f:a.txt")
    node.write("old")
    os.chmod(root / "a.txt", mode)
    if how == "write":
        node.write("new")
    elif how == "write_bytes":
        node.write_bytes(b"new")
    else:
        with node.open("wb" if how == "open_wb" else "w") as f:
            f.write(b"new" if how == "open_wb" else "new")
    assert node.read() == "new"
    assert _mode(root / "a.txt") == mode


@needs_posix
def test_a_new_file_gets_the_umask_default(tmp_path):
    root = tmp_path / "root"
    storage = _manager(root)
    previous = os.umask(0o027)
    try:
        storage.node("f:new.txt").write("x")
        with storage.node("f:streamed.txt").open("wb") as f:
            f.write(b"x")
    finally:
        os.umask(previous)
    assert _mode(root / "new.txt") == 0o640
    assert _mode(root / "streamed.txt") == 0o640


@needs_posix
def test_the_temporary_is_never_more_readable_than_the_file_it_replaces(tmp_path):
    root = tmp_path / "root"
    storage = _manager(root)
    node = storage.node("f:secret.txt")
    node.write("old secret")
    os.chmod(root / "secret.txt", 0o600)
    with node.open("wb") as f:
        f.write(b"new secret")
        (tmp,) = _temporaries(root)
        assert _mode(root / tmp) == 0o600  # before a byte reaches the disk, not only after the rename
    assert _mode(root / "secret.txt") == 0o600


@needs_posix
def test_setuid_and_setgid_are_not_inherited_by_new_content(tmp_path):
    root = tmp_path / "root"
    storage = _manager(root)
    node = storage.node("f:tool")
    node.write("#!/bin/sh\n")
    os.chmod(root / "tool", 0o6755)
    node.write("#!/bin/sh\necho new\n")
    assert _mode(root / "tool") == 0o755


@needs_posix
@pytest.mark.parametrize("progress", [False, True])
def test_same_mount_copy_onto_an_existing_file_keeps_its_mode(tmp_path, progress):
    root = tmp_path / "root"
    storage = _manager(root)
    storage.node("f:src.txt").write("source")
    storage.node("f:dst.txt").write("old")
    os.chmod(root / "src.txt", 0o644)
    os.chmod(root / "dst.txt", 0o600)
    then = time.time() - 3600
    os.utime(root / "src.txt", (then, then))
    seen: list[int] = []
    storage.get_backend("f").copy("src.txt", "dst.txt", seen.append if progress else None)
    assert (root / "dst.txt").read_text() == "source"
    assert _mode(root / "dst.txt") == 0o600  # like cp onto an existing file
    assert os.stat(root / "dst.txt").st_mtime == pytest.approx(then)  # the copy still keeps the mtime
    assert sum(seen) == (len("source") if progress else 0)


@needs_posix
def test_same_mount_copy_to_a_new_file_keeps_the_source_mode(tmp_path):
    root = tmp_path / "root"
    storage = _manager(root)
    storage.node("f:src.sh").write("#!/bin/sh\n")
    os.chmod(root / "src.sh", 0o750)
    storage.get_backend("f").copy("src.sh", "new.sh")
    assert _mode(root / "new.sh") == 0o750


@needs_posix
def test_copy_to_keeps_the_destination_mode_on_one_mount_and_across_mounts(tmp_path):
    storage = _manager(tmp_path / "one", tmp_path / "two")
    storage.node("f:src.txt").write("source")
    for dest in ("f:dst.txt", "g:dst.txt"):
        storage.node(dest).write("old")
        target = tmp_path / ("one" if dest[0] == "f" else "two") / "dst.txt"
        os.chmod(target, 0o600)
        storage.node("f:src.txt").copy_to(dest)
        assert target.read_text() == "source"
        assert _mode(target) == 0o600, dest


@needs_posix
@pytest.mark.parametrize("across_devices", [False, True])
def test_a_move_onto_a_file_keeps_the_source_mode_like_mv(tmp_path, monkeypatch, across_devices):
    root = tmp_path / "root"
    storage = _manager(root)
    storage.node("f:src.sh").write("#!/bin/sh\n")
    storage.node("f:dst.sh").write("old")
    os.chmod(root / "src.sh", 0o755)
    os.chmod(root / "dst.sh", 0o600)
    if across_devices:
        rename = os.replace

        def replace(src, dst):
            if str(src).endswith("src.sh"):
                raise OSError(errno.EXDEV, "Invalid cross-device link")
            rename(src, dst)

        monkeypatch.setattr(os, "replace", replace)
    storage.get_backend("f").move("src.sh", "dst.sh")
    assert (root / "dst.sh").read_text() == "#!/bin/sh\n" and not (root / "src.sh").exists()
    assert _mode(root / "dst.sh") == 0o755


@needs_posix
def test_overwrite_keeps_owner_and_group_where_the_process_may_set_them(tmp_path):
    root = tmp_path / "root"
    storage = _manager(root)
    node = storage.node("f:owned.txt")
    node.write("old")
    try:
        os.chown(root / "owned.txt", 12345, 23456)
    except PermissionError:
        pytest.skip("only root (CAP_CHOWN) gives a file away")
    node.write("new")
    found = os.stat(root / "owned.txt")
    assert (found.st_uid, found.st_gid) == (12345, 23456)
    storage.node("f:other.txt").write("x")
    storage.get_backend("f").copy("other.txt", "owned.txt")
    found = os.stat(root / "owned.txt")
    assert (found.st_uid, found.st_gid) == (12345, 23456)


# -- 2. temporaries of killed writers are swept ------------------------------------------


_WRITER = (
    "import sys\n"
    "from genro_storage import StorageManager\n"
    "st = StorageManager([{'name': 'f', 'type': 'local', 'path': sys.argv[1]}])\n"
    "f = st.node('f:big.bin').open('wb')\n"
    "f.write(b'x' * 100_000)\n"
    "f.flush()\n"
    "print('writing', flush=True)\n"
    "sys.stdin.read()\n"
    "f.close()\n"
)


def _start_writer(root: Path, *prefix: str) -> subprocess.Popen:
    """A process writing ``f:big.bin`` under ``root``, holding it open until its stdin closes."""
    repo = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": repo + os.pathsep + os.environ.get("PYTHONPATH", "")}
    child = subprocess.Popen(
        [*prefix, sys.executable, "-c", _WRITER, str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )
    assert child.stdout.readline() == b"writing\n"
    return child


def _end(child: subprocess.Popen, kill: bool) -> None:
    if kill:
        child.kill()
    child.stdin.close()
    child.wait()
    child.stdout.close()


@needs_posix
def test_first_write_into_a_folder_sweeps_temporaries_nobody_holds(tmp_path):
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    dead = _fake_tmp(root / "docs", age=120)  # nobody holds it, untouched for two minutes
    fresh = _fake_tmp(root / "docs")  # nobody holds it yet: a writer may be about to lock it
    held = _fake_tmp(root / "docs", age=3 * 24 * 3600)
    holder = os.open(held, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)  # as a live writer anywhere holds its temporary
    try:
        storage = _manager(root)
        storage.node("f:docs/new.txt").write("x")
        assert not dead.exists()
        assert fresh.exists() and held.exists()
        assert storage.node("f:docs").children() == [storage.node("f:docs/new.txt")]
    finally:
        os.close(holder)


@needs_posix
def test_a_folder_is_swept_once_per_process_and_on_demand(tmp_path):
    root = tmp_path / "root"
    storage = _manager(root)
    backend = storage.get_backend("f")
    storage.node("f:a.txt").write("first write: sweeps (nothing yet)")
    late = _fake_tmp(root, age=120)
    storage.node("f:b.txt").write("no second sweep")
    assert late.exists()
    (root / "sub" / "deeper").mkdir(parents=True)
    below = _fake_tmp(root / "sub" / "deeper", age=120)
    assert backend.sweep_temporaries(recursive=False) == 1
    assert not late.exists() and below.exists()
    assert backend.sweep_temporaries("sub") == 1
    assert not below.exists()
    assert backend.sweep_temporaries() == 0
    with pytest.raises(FileNotFoundError):
        backend.sweep_temporaries("missing")
    with pytest.raises(StoragePathError):
        backend.sweep_temporaries("../elsewhere")
    assert _manager(tmp_path / "not-yet").get_backend("f").sweep_temporaries() == 0


@needs_posix
def test_a_killed_writers_temporary_goes_a_live_ones_stays(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    child = _start_writer(root)
    try:
        (left,) = _temporaries(root)
        _age(root / left, 3600)  # a slow writer: an hour since its last byte, but alive
        assert _manager(root).get_backend("f").sweep_temporaries() == 0
        child.kill()
        child.wait()
        assert (root / left).stat().st_size == 100_000 and not (root / "big.bin").exists()
        _manager(root).node("f:other.txt").write("x")
        assert _temporaries(root) == []
    finally:
        _end(child, kill=True)


@needs_posix
@pytest.mark.skipif(not shutil.which("unshare"), reason="needs util-linux's unshare")
def test_a_writer_in_another_pid_namespace_keeps_its_temporary(tmp_path):
    # A container sharing the folder: its pids mean nothing here, its lock does.
    root = tmp_path / "root"
    root.mkdir()
    try:
        child = _start_writer(root, "unshare", "--pid", "--fork", "--kill-child")
    except (AssertionError, OSError):
        pytest.skip("this machine refuses new pid namespaces")
    try:
        (left,) = _temporaries(root)
        _age(root / left, 3600)
        _manager(root).node("f:other.txt").write("x")
        assert _temporaries(root) == [left]
    finally:
        _end(child, kill=False)
    assert (root / "big.bin").stat().st_size == 100_000  # its write completed


@needs_posix
def test_symlink_loops_do_not_exist(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(root / "b", root / "a")
    os.symlink(root / "a", root / "b")
    (root / "real.txt").write_text("real")
    storage = _manager(root)
    backend = storage.get_backend("f")
    for path in ("a", "b", "a/x", "a/x/y"):
        assert not Path(root / path).exists()  # what pathlib answers
        node = storage.node("f", path)
        assert (node.exists, node.isfile, node.isdir) == (False, False, False), path
    with pytest.raises(OSError) as info:
        backend.info("a")
    assert info.value.errno == errno.ELOOP
    with pytest.raises(OSError):
        storage.node("f:a").info()
    # A folder holding a loop still lists and copies what it really holds.
    assert [path for path, _ in backend.walk_files("")] == ["real.txt"]


def test_names_too_long_for_the_os_do_not_exist(tmp_path):
    root = tmp_path / "root"
    storage = _manager(root)
    storage.node("f:sub/a.txt").write("x")
    for path in ("x" * 300, "x" * 300 + "/a.txt", "sub/" + "y" * 300):
        with pytest.raises(OSError) as info:
            os.lstat(root / path)
        assert info.value.errno == errno.ENAMETOOLONG
        node = storage.node("f", path)
        assert (node.exists, node.isfile, node.isdir) == (False, False, False)


@needs_posix
def test_dangling_links_do_not_exist_and_links_leaving_the_root_are_still_refused(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    os.symlink(root / "nowhere", root / "dangling")
    os.symlink(outside, root / "out")
    storage = _manager(root)
    assert not storage.node("f:dangling").exists
    with pytest.raises(StoragePathError):
        _ = storage.node("f:out").exists


# -- 4. a mount root must be a folder ---------------------------------------------------


def test_a_root_that_is_a_file_is_refused_at_configuration(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    for root in (tmp_path / "file", tmp_path / "file" / "sub"):
        with pytest.raises(StorageConfigError) as info:
            _manager(root)
        assert info.value.mount == "f" and info.value.key == "path"
        assert "is a file, not a folder" in str(info.value)


def test_a_root_not_made_yet_is_accepted_and_made_on_first_write(tmp_path):
    storage = _manager(tmp_path / "later" / "root")
    assert not storage.node("f:a.txt").exists
    storage.node("f:a.txt").write("x")
    assert (tmp_path / "later" / "root" / "a.txt").read_text() == "x"


def test_a_callable_root_is_checked_at_each_access(tmp_path):
    (tmp_path / "tenant-file").write_text("not a folder")
    (tmp_path / "tenant-dir").mkdir()
    current = {"root": tmp_path / "tenant-dir"}
    storage = StorageManager([{"name": "f", "type": "local", "path": lambda: current["root"]}])
    storage.node("f:a.txt").write("x")
    current["root"] = tmp_path / "tenant-file"
    for action in (
        lambda: storage.node("f:a.txt").exists,
        lambda: storage.node("f:a.txt").write("x"),
        lambda: storage.node("f:").info(),
        lambda: storage.node("f:").children(),
    ):
        with pytest.raises(StorageConfigError) as info:
            action()
        assert info.value.mount == "f" and info.value.key == "path"
        assert "is a file, not a folder" in str(info.value)
    assert (tmp_path / "tenant-file").read_text() == "not a folder"
    current["root"] = tmp_path / "tenant-dir"
    assert storage.node("f:a.txt").read() == "x"


# -- 5. base64 as Python's decoder reads it ----------------------------------------------


def _multiline_base64() -> tuple[bytes, str]:
    """200 random bytes and their ``base64.encodebytes`` text (76-column lines, a final
    newline), chosen to hold a '/' but no '//' (an empty segment, refused in any path)."""
    for seed in range(100):
        data = random.Random(seed).randbytes(200)
        text = base64.encodebytes(data).decode("ascii")
        if "/" in text and "//" not in text and not text.startswith("/"):
            return data, text
    raise AssertionError("no sample found")


def test_base64_accepts_line_breaks_and_whitespace():
    storage = StorageManager([{"name": "inline", "type": "base64"}])
    backend = storage.get_backend("inline")
    data, text = _multiline_base64()
    assert text.count("\n") > 1 and text.endswith("\n")
    url_safe = base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")
    spellings = [
        text,
        text.replace("\n", "\r\n"),  # MIME
        text.rstrip("\n"),
        " \t" + text.replace("\n", " \n\t"),
        "\n".join(url_safe[i : i + 64] for i in range(0, len(url_safe), 64)) + "\n",  # URL-safe, unpadded
    ]
    for spelling in spellings:
        assert base64.b64decode(spelling.replace("-", "+").replace("_", "/") + "==") == data
        assert backend.exists(spelling) and backend.read_bytes(spelling) == data
        node = storage.node("inline:" + spelling)
        assert node.exists and node.isfile and node.size == 200
        assert node.read_bytes() == data
    assert storage.node("inline:aGVsbG8=\n").read() == "hello"
    assert storage.node("inline", "aGVs bG8").read() == "hello"


@pytest.mark.parametrize("junk", ["aGVs*bG8=", "aGVsbG8=x", "aGk=aGk=", "a", " \n", "aGVs\x0bbG8é"])
def test_base64_still_refuses_junk(junk):
    storage = StorageManager([{"name": "inline", "type": "base64"}])
    assert not storage.get_backend("inline").exists(junk)
    node = storage.node("inline", junk)
    assert not node.exists
    with pytest.raises(StorageNotFoundError):
        node.read_bytes()
