"""The transfer engine: folders and files across every pair of backends, skip strategies,
resume after an interruption, atomic destinations, moves that never lose the source."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess

import pytest
from helpers import BACKENDS, BUCKET, mount_config, payload, recording_s3_gets, server_for, snapshot

from genro_storage import (
    StorageConnectionError,
    StorageManager,
    StorageNotADirectoryError,
    StorageOSError,
    StoragePermissionError,
)
from genro_storage.errors import CommandError
from genro_storage.transfer import TransferReport

TREE = {
    "a.txt": b"alpha",
    "b/c.bin": payload(70_000),
    "b/d/e.txt": "ünïcode content".encode(),
    "b/d/space name.txt": b"",
    "f/g/h/deep.dat": payload(1_500_000),
}


def make_tree(storage, mount, base="src"):
    for rel, data in TREE.items():
        storage.node(mount, base, rel).write_bytes(data)


def read_tree(storage, mount, base):
    found = {}
    stack = [storage.node(mount, base)]
    while stack:
        for child in stack.pop().children():
            if child.isdir:
                stack.append(child)
            else:
                found[child.path[len(base) + 1 :]] = child.read_bytes()
    return found


@pytest.mark.parametrize("src_kind", BACKENDS)
@pytest.mark.parametrize("dst_kind", BACKENDS)
def test_folder_copy_and_move_every_pair(all_mounts, src_kind, dst_kind):
    make_tree(all_mounts, src_kind)
    report = all_mounts.node(src_kind, "src").copy_to(f"{dst_kind}:copy")
    assert isinstance(report, TransferReport) and report.ok
    assert sorted(report.copied) == sorted(TREE)
    assert report.bytes == sum(len(v) for v in TREE.values())
    assert read_tree(all_mounts, dst_kind, "copy") == TREE
    assert read_tree(all_mounts, src_kind, "src") == TREE
    assert "copied 5 files" in str(report)

    report = all_mounts.node(src_kind, "src").move_to(f"{dst_kind}:moved")
    assert report.ok and report.moved
    assert read_tree(all_mounts, dst_kind, "moved") == TREE
    assert not all_mounts.node(src_kind, "src").exists


@pytest.mark.parametrize("strategy", ["exists", "size", "hash"])
def test_skip_strategies(all_mounts, strategy):
    make_tree(all_mounts, "local")
    first = all_mounts.node("local:src").copy_to("s3:dst")
    assert len(first.copied) == len(TREE)
    second = all_mounts.node("local:src").copy_to("s3:dst", skip=strategy)
    assert second.copied == [] and sorted(second.skipped) == sorted(TREE)
    # a changed file (same size, new content) is caught by 'hash' only
    all_mounts.node("local:src/a.txt").write_bytes(b"ALPHA")
    third = all_mounts.node("local:src").copy_to("s3:dst", skip=strategy)
    if strategy == "hash":
        assert third.copied == ["a.txt"]
    elif strategy == "mtime":
        assert third.copied == ["a.txt"] or third.copied == []  # s3 mtime is the upload time
    else:
        assert third.copied == []
    # a size change is caught by every strategy but 'exists'
    all_mounts.node("local:src/a.txt").write_bytes(b"longer alpha")
    fourth = all_mounts.node("local:src").copy_to("s3:dst", skip=strategy)
    assert fourth.copied == ([] if strategy == "exists" else ["a.txt"])


def test_skip_mtime(all_mounts, tmp_path):
    make_tree(all_mounts, "local")
    root = all_mounts.get_backend("local").root
    hour_ago = os.path.getmtime(f"{root}/src/a.txt") - 3600
    for rel in TREE:
        os.utime(f"{root}/src/{rel}", (hour_ago, hour_ago))
    all_mounts.node("local:src").copy_to("s3:dst")
    assert all_mounts.node("local:src").copy_to("s3:dst", skip="mtime").copied == []
    later = hour_ago + 7200 + 60  # newer than the upload
    os.utime(f"{root}/src/b/c.bin", (later, later))
    assert all_mounts.node("local:src").copy_to("s3:dst", skip="mtime").copied == ["b/c.bin"]


def test_skip_callable(all_mounts):
    make_tree(all_mounts, "memory")
    all_mounts.node("memory:src").copy_to("local:dst")
    calls = []

    def keep_txt(src, dest):
        calls.append((src.fullpath, dest.fullpath))
        return src.suffix == ".txt"

    report = all_mounts.node("memory:src").copy_to("local:dst", skip=keep_txt)
    assert sorted(report.skipped) == sorted(k for k in TREE if k.endswith(".txt"))
    assert ("memory:src/a.txt", "local:dst/a.txt") in calls


def test_hash_skip_on_s3_reads_no_object(all_mounts):
    make_tree(all_mounts, "s3")
    all_mounts.node("s3:src").copy_to("s3:dst")
    with recording_s3_gets(all_mounts.get_backend("s3")) as gets:
        report = all_mounts.node("s3:src").copy_to("s3:dst", skip="hash")
    assert sorted(report.skipped) == sorted(TREE)
    assert gets == []


def test_multipart_etag_is_not_taken_for_md5(all_mounts):
    data = payload(12 * 1024 * 1024)
    node = all_mounts.node("s3:big.bin")
    with node.open("wb") as f:  # streamed past one block: a multipart upload
        for i in range(0, len(data), 1024 * 1024):
            f.write(data[i : i + 1024 * 1024])
    info = node.info()
    assert "-" in info["etag"] and "md5" not in info
    assert node.md5hash == hashlib.md5(data).hexdigest()


def test_interrupted_copy_resumes(all_mounts, monkeypatch):
    make_tree(all_mounts, "local")
    import genro_storage.transfer.engine as transfer_module

    real = transfer_module.copy_file
    done = []

    def flaky(src, dest, workers=None, progress=None):
        if len(done) == 2:
            raise ConnectionError("network went away")
        real(src, dest, workers, progress)
        done.append(src.path)

    monkeypatch.setattr(transfer_module, "copy_file", flaky)
    with pytest.raises(ConnectionError):
        all_mounts.node("local:src").copy_to("s3:dst", workers=1)
    monkeypatch.setattr(transfer_module, "copy_file", real)
    resumed = all_mounts.node("local:src").copy_to("s3:dst", skip="size")
    assert len(resumed.skipped) == 2 and len(resumed.copied) == len(TREE) - 2
    assert read_tree(all_mounts, "s3", "dst") == TREE


def test_on_error_continue_collects_failures(all_mounts, monkeypatch):
    make_tree(all_mounts, "memory")
    import genro_storage.transfer.engine as transfer_module

    real = transfer_module.copy_file

    def fail_bins(src, dest, workers=None, progress=None):
        if src.suffix == ".bin":
            raise OSError("disk full")
        real(src, dest, workers, progress)

    monkeypatch.setattr(transfer_module, "copy_file", fail_bins)
    report = all_mounts.node("memory:src").copy_to("local:dst", on_error="continue")
    assert [path for path, _ in report.failed] == ["b/c.bin"]
    assert len(report.copied) == len(TREE) - 1 and not report.ok
    assert "failed b/c.bin" in str(report)


def test_a_failure_stops_a_parallel_copy_early(monkeypatch):
    # on_error='raise' with several workers: the first failure is raised, and no file starts
    # after it (only the ones already running finish).
    storage = StorageManager([{"name": "a", "type": "memory"}, {"name": "b", "type": "memory"}])
    for index in range(300):
        storage.node("a", f"src/f{index:03}.txt").write_bytes(b"x")
    import genro_storage.transfer.engine as transfer_module

    real = transfer_module.copy_file
    started = []

    def fail_one(src, dest, workers=None, progress=None):
        started.append(src.path)
        if src.basename == "f010.txt":
            raise OSError(errno.EIO, "bad sector")
        real(src, dest, workers, progress)

    monkeypatch.setattr(transfer_module, "copy_file", fail_one)
    with pytest.raises(StorageOSError, match="bad sector"):
        storage.node("a:src").copy_to("b:dst", workers=4)
    assert 11 <= len(started) < 40


def test_failed_overwrite_keeps_old_destination(all_mounts, s3_server):
    all_mounts.add_mount(name="feed", type="memory")  # a source on another backend: a streamed copy
    for kind in BACKENDS:
        dest = all_mounts.node(kind, "keep.bin")
        dest.write_bytes(b"old destination content")

        class Broken:
            def __init__(self):
                self.left = 3

            def read(self, n=-1):
                if not self.left:
                    raise ConnectionResetError("source died")
                self.left -= 1
                return b"x" * 1024 * 1024

            def close(self):
                pass

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.close()

        src = all_mounts.node("feed:src.bin")
        src.write_bytes(b"x")
        backend = src.backend
        original = backend.open_read
        backend.open_read = lambda path: Broken()
        try:
            with pytest.raises(OSError, match="source died"):
                src.copy_to(dest)
        finally:
            backend.open_read = original
        assert dest.read_bytes() == b"old destination content", kind


def test_move_keeps_source_when_destination_write_fails(all_mounts):
    src = all_mounts.node("local:precious.bin")
    src.write_bytes(b"precious")
    storage = all_mounts
    storage.add_mount(name="locked", type="memory", permissions="readonly")
    with pytest.raises(StoragePermissionError):
        src.move_to("locked:precious.bin")
    assert src.read_bytes() == b"precious"

    backend = all_mounts.get_backend("s3")
    original = backend.upload_file

    def broken_upload(local_path, path, workers=None, progress=None):
        raise ConnectionError("upload failed")

    backend.upload_file = broken_upload
    try:
        with pytest.raises(OSError, match="upload failed"):
            src.move_to("s3:precious.bin")
    finally:
        backend.upload_file = original
    assert src.read_bytes() == b"precious"
    assert not all_mounts.node("s3:precious.bin").exists


def test_progress_totals_add_up(all_mounts):
    make_tree(all_mounts, "local")
    events = []
    all_mounts.node("local:src").copy_to("memory:dst", progress=events.append, workers=4)
    total_bytes = sum(len(v) for v in TREE.values())
    assert events[0].files_done == 0 and events[0].files_total == len(TREE)
    assert events[-1].files_done == len(TREE) and events[-1].bytes_done == total_bytes
    assert all(e.bytes_total == total_bytes for e in events)
    assert [e.files_done for e in events] == sorted(e.files_done for e in events)


def test_include_exclude_and_dry_run(all_mounts):
    make_tree(all_mounts, "local")
    report = all_mounts.node("local:src").copy_to("memory:dst", include="*.txt", exclude="b/d/*", dry_run=True)
    assert report.dry_run and report.copied == ["a.txt"]
    assert not all_mounts.node("memory:dst").exists
    assert "would copy 1 file" in str(report)
    report = all_mounts.node("local:src").copy_to("memory:dst", include=["*.txt", "f/**"], exclude="b/d/*")
    assert sorted(report.copied) == ["a.txt", "f/g/h/deep.dat"]


def test_single_file_into_folder_and_same_file(all_mounts):
    all_mounts.node("local:one.txt").write("1")
    all_mounts.node("s3:folder/existing.txt").write("x")
    report = all_mounts.node("local:one.txt").copy_to("s3:folder")
    assert report.dest.fullpath == "s3:folder/one.txt" and report.dest.read() == "1"
    with pytest.raises(OSError):
        all_mounts.node("local:one.txt").copy_to("local:one.txt")


def test_readonly_destination_for_folders(tmp_path, s3_server):
    storage = StorageManager(
        [mount_config("local", "src", tmp_path, None), {"name": "ro", "type": "memory", "permissions": "readonly"}]
    )
    make_tree(storage, "src")
    with pytest.raises(StoragePermissionError):
        storage.node("src:src").copy_to("ro:x")
    with pytest.raises(StoragePermissionError):  # a dry run promises nothing the real run refuses
        storage.node("src:src").copy_to("ro:x", dry_run=True)
    storage.add_mount(name="keep", type="memory", permissions="readwrite")
    storage.node("keep:a.txt").write_text("a")
    with pytest.raises(StoragePermissionError, match="delete"):
        storage.node("keep:a.txt").move_to("src:a.txt", dry_run=True)


def test_local_path_on_s3_node(all_mounts):
    node = all_mounts.node("s3:tools/in.txt")
    node.write("b\na\nc\n")
    with node.local_path() as path:
        assert open(path).read() == "b\na\nc\n"
        tmp = path
    assert not os.path.exists(tmp)
    out = all_mounts.node("s3:tools/out.txt")
    with out.local_path("w") as path:
        with open(path, "w") as f:
            f.write("written locally")
    assert out.read() == "written locally"
    with pytest.raises(RuntimeError):
        with out.local_path("rw") as path:
            with open(path, "w") as f:
                f.write("half")
            raise RuntimeError("tool crashed")
    assert out.read() == "written locally"
    local = all_mounts.node("local:x/y.txt")
    with local.local_path("w") as path:
        assert path == os.path.join(all_mounts.get_backend("local").root, "x", "y.txt")


def test_call_with_real_programs_on_s3(all_mounts):
    src = all_mounts.node("s3:tools/unsorted.txt")
    src.write("pear\napple\nfig\n")
    dest = all_mounts.node("s3:tools/sorted.txt")
    result = src.call("sort", "-o", dest, src)
    assert result.returncode == 0
    assert dest.read() == "apple\nfig\npear\n"
    src.call("gzip", "-k", "-f", src)  # writes beside the temp file: nothing of ours changes
    assert src.read() == "pear\napple\nfig\n"
    with pytest.raises(Exception) as info:
        src.call("sort", "--no-such-option", src)
    assert "no-such-option" in str(info.value) or "unrecognized" in str(info.value)
    assert isinstance(info.value, subprocess.CalledProcessError)


def test_copy_survives_s3_server_stopping_midway(tmp_path):
    """The S3 server goes away after a few files; a re-run with skip='size' completes the copy."""
    from moto.server import ThreadedMotoServer

    from genro_storage.testing import LocalS3

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    s3 = LocalS3(endpoint_url=f"http://{host}:{port}")
    s3.create_bucket("outage")
    fast_fail = {"config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 2, "read_timeout": 5}}
    storage = StorageManager(
        [
            {"name": "local", "type": "local", "path": str(tmp_path / "src")},
            s3.mount("s3", "outage", **fast_fail),
        ]
    )
    files = {f"part-{i:02}.bin": payload(50_000 + i) for i in range(10)}
    for name, data in files.items():
        storage.node("local", "batch", name).write_bytes(data)
    storage.node("s3:batch/part-09.bin").write_bytes(b"old content of the last part")
    storage.get_backend("s3").fs.retries = 1

    stopped = []

    def stop_after_three(progress):
        if progress.files_done == 3 and not stopped:
            server.stop()
            stopped.append(True)

    try:
        with pytest.raises(StorageConnectionError) as info:
            storage.node("local:batch").copy_to("s3:batch", workers=1, progress=stop_after_three)
        # the upload failed: the error names the destination's mount and the file it was writing
        assert isinstance(info.value, ConnectionError) and info.value.mount == "s3"
        assert info.value.path == "batch/part-03.bin"
    finally:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
    try:
        assert storage.node("s3:batch/part-09.bin").read_bytes() == b"old content of the last part"
        resumed = storage.node("local:batch").copy_to("s3:batch", skip="size")
        assert len(resumed.skipped) == 3 and len(resumed.copied) == 7
        for name, data in files.items():
            assert storage.node("s3", "batch", name).read_bytes() == data
    finally:
        server.stop()


def test_move_with_skip_never_deletes_a_source_that_differs(all_mounts):
    for kind in BACKENDS:
        src = all_mounts.node(kind, "skip-src.txt")
        dest = all_mounts.node("memory" if kind != "memory" else "local", f"skip-dest-{kind}.txt")
        src.write_bytes(b"SOURCE")
        dest.write_bytes(b"DEST")
        with pytest.raises(OSError):
            src.move_to(dest, skip="exists")
        assert src.read_bytes() == b"SOURCE" and dest.read_bytes() == b"DEST"
        dest.write_bytes(b"SOURCE")
        report = src.move_to(dest, skip="exists")
        assert report.skipped == ["skip-src.txt"] and not src.exists


def test_two_managers_see_each_others_writes(tmp_path, request):
    for kind in ("s3", "gcs", "azure"):
        server = server_for(kind, request)
        conf = mount_config(kind, "shared", tmp_path, server)
        first, second = StorageManager([conf]), StorageManager([conf])
        first.node("shared:f.bin").write_bytes(b"old")
        assert second.node("shared:f.bin").size == 3
        assert [c.basename for c in second.node("shared:").children()] == ["f.bin"]
        first.node("shared:f.bin").write_bytes(b"new content!")
        first.node("shared:g.bin").write_bytes(b"g")
        assert second.node("shared:f.bin").size == 12, kind
        assert second.node("shared:g.bin").exists, kind
        first.node("shared:g.bin").delete()
        assert not second.node("shared:g.bin").exists, kind


@pytest.mark.parametrize("src_kind", BACKENDS)
def test_empty_folders_travel_with_the_copy(all_mounts, src_kind):
    all_mounts.node(src_kind, "tree", "empty", "deeper").mkdir(parents=True)
    all_mounts.node(src_kind, "tree", "full", "f.txt").write("f")
    for dst_kind in BACKENDS:
        report = all_mounts.node(src_kind, "tree").copy_to(f"{dst_kind}:copy-of-{src_kind}")
        assert report.copied == ["full/f.txt"], dst_kind
        assert all_mounts.node(dst_kind, f"copy-of-{src_kind}", "empty", "deeper").isdir, dst_kind
    all_mounts.node(src_kind, "tree").move_to(f"memory:moved-{src_kind}")
    assert all_mounts.node("memory", f"moved-{src_kind}", "empty", "deeper").isdir
    assert not all_mounts.node(src_kind, "tree").exists


@pytest.fixture
def disk_and_memory(tmp_path) -> StorageManager:
    """Mounts needing no server: ``local`` (a folder), ``memory`` and ``memory2`` (two stores)."""
    return StorageManager(
        [
            {"name": "local", "type": "local", "path": str(tmp_path / "local-root")},
            {"name": "memory", "type": "memory"},
            {"name": "memory2", "type": "memory"},
        ]
    )


def test_dry_run_move_reports_would_move(disk_and_memory):
    disk_and_memory.node("local:f.txt").write("f")
    report = disk_and_memory.node("local:f.txt").move_to("memory:f.txt", dry_run=True)
    assert "would move 1 file" in str(report)
    assert disk_and_memory.node("local:f.txt").exists and not disk_and_memory.node("memory:f.txt").exists


@pytest.mark.parametrize("dest", ["memory:backup/", "local:backup/"])
def test_trailing_slash_destination_means_into_that_folder(disk_and_memory, dest):
    disk_and_memory.node("local:report.pdf").write_bytes(b"%PDF")
    report = disk_and_memory.node("local:report.pdf").copy_to(dest)
    landed = disk_and_memory.node(dest + "report.pdf")
    assert report.dest == landed and landed.read_bytes() == b"%PDF"
    assert disk_and_memory.node(dest).isdir
    disk_and_memory.node("memory:tree/a.txt").write("a")
    disk_and_memory.node("memory:tree").copy_to(dest)
    assert disk_and_memory.node(dest + "tree/a.txt").read() == "a"


def test_call_takes_subprocess_options(disk_and_memory, tmp_path):
    node = disk_and_memory.node("memory:in.txt")
    node.write("b\na\n")
    result = node.call("sort", node, capture_output=True, text=True)
    assert isinstance(result, subprocess.CompletedProcess) and result.stdout == "a\nb\n"
    env = {"PATH": os.environ["PATH"], "GREETING": "hello"}
    shown = node.call("sh", "-c", 'printf "%s " "$GREETING"; pwd', env=env, cwd=tmp_path, stdout=subprocess.PIPE)
    assert shown.stdout.decode().split() == ["hello", str(tmp_path)]
    with pytest.raises(subprocess.TimeoutExpired):
        node.call("sleep", "5", timeout=0.2)


@pytest.mark.parametrize("check", [True, False, None])
def test_call_failure_raises_command_error_with_stderr(disk_and_memory, check):
    node = disk_and_memory.node("memory:in.txt")
    node.write("b\na\n")
    options = {} if check is None else {"check": check}
    with pytest.raises(CommandError) as info:
        node.call("sort", "--no-such-option", node, **options)
    error = info.value
    assert isinstance(error, subprocess.CalledProcessError) and error.returncode != 0
    assert b"no-such-option" in error.stderr and "no-such-option" in str(error)
    with pytest.raises(CommandError) as info:
        node.call("sort", "--no-such-option", node, capture_output=True, text=True)
    assert "no-such-option" in info.value.stderr and "no-such-option" in str(info.value)
    assert node.read() == "b\na\n"


GLOB_TREE = [
    "a.txt",
    "build/out.o",
    "docs/r.txt",
    "docs/old/r2.txt",
    "lib/debug.log",
    "lib/node_modules/y.js",
    "lib/z.js",
    "node_modules/x.js",
    "notes/build",
]
NOT_NODE_MODULES = [rel for rel in GLOB_TREE if "node_modules" not in rel]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"exclude": "node_modules"}, NOT_NODE_MODULES),
        ({"exclude": "node_modules/"}, NOT_NODE_MODULES),
        ({"exclude": "**/node_modules/**"}, NOT_NODE_MODULES),
        ({"exclude": "**/node_modules"}, NOT_NODE_MODULES),
        ({"exclude": "*.log"}, [rel for rel in GLOB_TREE if rel != "lib/debug.log"]),
        ({"exclude": "build"}, [rel for rel in GLOB_TREE if "build" not in rel]),
        ({"exclude": "build/"}, [rel for rel in GLOB_TREE if rel != "build/out.o"]),
        ({"exclude": "lib/*.js"}, [rel for rel in GLOB_TREE if rel != "lib/z.js"]),
        ({"exclude": "/a.txt"}, GLOB_TREE[1:]),
        ({"include": "docs/*.txt"}, ["docs/r.txt"]),
        ({"include": "**/*.txt"}, ["a.txt", "docs/old/r2.txt", "docs/r.txt"]),
        ({"include": "*.txt"}, ["a.txt", "docs/old/r2.txt", "docs/r.txt"]),
        ({"include": "/*.txt"}, ["a.txt"]),
        ({"include": "docs"}, ["docs/old/r2.txt", "docs/r.txt"]),
        ({"include": "docs/**", "exclude": "old"}, ["docs/r.txt"]),
        ({"include": "lib/**/*.js"}, ["lib/node_modules/y.js", "lib/z.js"]),
        ({"include": "d?cs/r.txt"}, ["docs/r.txt"]),
        ({"include": "[ab]*"}, ["a.txt", "build/out.o", "notes/build"]),
        ({"include": "[!a-m]*.txt"}, ["docs/old/r2.txt", "docs/r.txt"]),
    ],
)
def test_include_exclude_follow_gitignore_rules(disk_and_memory, options, expected):
    for rel in GLOB_TREE:
        disk_and_memory.node("memory", "src", rel).write_bytes(b"-")
    report = disk_and_memory.node("memory:src").copy_to("local:dst", dry_run=True, **options)
    assert sorted(report.copied) == sorted(expected)


def test_excluded_folders_stay_behind_even_when_empty(disk_and_memory):
    disk_and_memory.node("memory:src/node_modules/.cache").mkdir(parents=True)
    disk_and_memory.node("memory:src/lib/node_modules/y.js").write("y")
    disk_and_memory.node("memory:src/keep/empty").mkdir(parents=True)
    disk_and_memory.node("memory:src/a.txt").write("a")
    report = disk_and_memory.node("memory:src").copy_to("local:dst", exclude="node_modules")
    assert report.copied == ["a.txt"]
    assert disk_and_memory.node("local:dst/keep/empty").isdir
    assert not disk_and_memory.node("local:dst/node_modules").exists
    assert not disk_and_memory.node("local:dst/lib").exists


@pytest.mark.parametrize("dst_kind", BACKENDS)
def test_copy_below_a_file_is_refused(all_mounts, dst_kind):
    all_mounts.node(dst_kind, "p").write_bytes(b"a file")
    for src_kind in BACKENDS:
        src = all_mounts.node(src_kind, "from", "one.txt")
        src.write_bytes(b"1")
        for dest in (f"{dst_kind}:p/{src_kind}.txt", f"{dst_kind}:p/deeper/{src_kind}.txt", f"{dst_kind}:p/"):
            with pytest.raises(StorageNotADirectoryError) as info:
                src.copy_to(dest)
            assert info.value.mount == dst_kind and f"{dst_kind}:p " in str(info.value), dest
        with pytest.raises(StorageNotADirectoryError) as info:
            all_mounts.node(src_kind, "from").copy_to(f"{dst_kind}:p/folder")
        assert info.value.mount == dst_kind
    assert [child.path for child in all_mounts.node(dst_kind, "").children()] == ["from", "p"]
    assert all_mounts.node(dst_kind, "p").read_bytes() == b"a file" and not all_mounts.node(dst_kind, "p").isdir


@pytest.mark.parametrize("kind", ["local", "memory"])
@pytest.mark.parametrize("operation", ["copy_to", "move_to"])
@pytest.mark.parametrize(("source", "dest"), [("d", "d"), ("d", "d/sub"), ("d", "d/x/deeper"), ("", "d/sub")])
def test_folder_into_itself_is_refused(disk_and_memory, kind, operation, source, dest):
    disk_and_memory.node(kind, "d/a.txt").write_bytes(b"A")
    disk_and_memory.node(kind, "d/x/b.txt").write_bytes(b"B")
    before = snapshot(disk_and_memory, kind)
    with pytest.raises(StorageOSError) as info:
        getattr(disk_and_memory.node(kind, source), operation)(f"{kind}:{dest}")
    assert f"{kind}:{source}" in str(info.value) and f"{kind}:{dest}" in str(info.value)
    assert info.value.errno == errno.EINVAL
    assert snapshot(disk_and_memory, kind) == before


def test_folder_into_itself_is_refused_across_overlapping_mounts(tmp_path, s3_server):
    storage = StorageManager(
        [
            {"name": "outer", "type": "local", "path": str(tmp_path / "root")},
            {"name": "inner", "type": "local", "path": str(tmp_path / "root" / "d")},
            s3_server.mount("bucket", BUCKET, prefix="overlap"),
            s3_server.mount("below", BUCKET, prefix="overlap/d"),
        ]
    )
    for outer, inner in (("outer", "inner"), ("bucket", "below")):
        storage.node(outer, "d/a.txt").write_bytes(b"A")
        pairs = ((f"{outer}:d", f"{inner}:sub"), (f"{outer}:d", f"{inner}:"), (f"{inner}:", f"{outer}:d/x"))
        for source, dest in pairs:
            with pytest.raises(StorageOSError, match="into itself"):
                storage.node(source).copy_to(dest)
            with pytest.raises(StorageOSError, match="into itself"):
                storage.node(source).move_to(dest)
        assert snapshot(storage, outer) == {"d/": None, "d/a.txt": b"A"}
        assert storage.node(f"{outer}:d").copy_to(f"{outer}:d2").copied == ["a.txt"]  # a sibling, not inside


def test_moves_between_two_memory_mounts(disk_and_memory):
    disk_and_memory.node("memory:d/a.txt").write_bytes(b"A")
    disk_and_memory.node("memory:f.txt").write_bytes(b"F")
    disk_and_memory.node("memory:d").move_to("memory2:d/sub")
    disk_and_memory.node("memory:f.txt").move_to("memory2:f.txt")
    assert snapshot(disk_and_memory, "memory") == {}
    assert snapshot(disk_and_memory, "memory2") == {"d/": None, "d/sub/": None, "d/sub/a.txt": b"A", "f.txt": b"F"}


@pytest.mark.parametrize("src_kind", BACKENDS)
def test_empty_folder_copies_and_moves(all_mounts, src_kind):
    all_mounts.node(src_kind, "empty").mkdir()
    for dst_kind in BACKENDS:
        report = all_mounts.node(src_kind, "empty").copy_to(f"{dst_kind}:empty-copy-{src_kind}")
        assert report.ok and report.copied == []
        assert all_mounts.node(dst_kind, f"empty-copy-{src_kind}").isdir, dst_kind
    all_mounts.node(src_kind, "empty").move_to(f"memory:dry-{src_kind}", dry_run=True)
    assert not all_mounts.node("memory", f"dry-{src_kind}").exists and all_mounts.node(src_kind, "empty").isdir
    report = all_mounts.node(src_kind, "empty").move_to(f"memory:moved-{src_kind}")
    assert report.ok and all_mounts.node("memory", f"moved-{src_kind}").isdir
    assert not all_mounts.node(src_kind, "empty").exists


@pytest.mark.parametrize("src_kind", BACKENDS)
@pytest.mark.parametrize("same_mount", [False, True])
def test_folder_move_deletes_only_what_it_moved(all_mounts, src_kind, same_mount):
    for rel, data in {
        "keep.txt": b"keep",
        "sub/keep2.txt": b"keep2",
        "secret.log": b"excluded",
        "logs/x.log": b"excluded too",
        "node_modules/m.js": b"excluded folder",
    }.items():
        all_mounts.node(src_kind, "src", rel).write_bytes(data)
    all_mounts.node(src_kind, "src/empty").mkdir()
    dest = f"{src_kind}:dst" if same_mount else ("local:dst" if src_kind == "memory" else "memory:dst")
    late = {}

    def write_during_the_move(progress):
        if progress.files_done == 1 and not late:
            late["sub/late.txt"] = all_mounts.node(src_kind, "src/sub/late.txt").write_bytes(b"late")

    report = all_mounts.node(src_kind, "src").move_to(
        dest, exclude=["*.log", "node_modules"], workers=1, progress=write_during_the_move
    )
    assert sorted(report.copied) == ["keep.txt", "sub/keep2.txt"] and late
    left = {k: v for k, v in snapshot(all_mounts, src_kind).items() if k.startswith("src")}
    assert left == {
        "src/": None,
        "src/logs/": None,
        "src/logs/x.log": b"excluded too",
        "src/node_modules/": None,
        "src/node_modules/m.js": b"excluded folder",
        "src/secret.log": b"excluded",
        "src/sub/": None,
        "src/sub/late.txt": b"late",
    }
    moved = all_mounts.node(dest)
    assert moved.child("keep.txt").read_bytes() == b"keep" and moved.child("empty").isdir
    assert not moved.child("secret.log").exists and not moved.child("node_modules").exists


def test_service_failures_are_storage_errors_naming_mount_and_path(tmp_path):
    """S3 unreachable: every node call and transfer raises StorageConnectionError (a
    ConnectionError) naming the S3 mount and the path, never a client library's exception."""
    from moto.server import ThreadedMotoServer

    from genro_storage.testing import LocalS3

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        s3 = LocalS3(endpoint_url=f"http://{host}:{port}")
        s3.create_bucket("down")
        fast_fail = {"config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 2, "read_timeout": 5}}
        storage = StorageManager(
            [{"name": "local", "type": "local", "path": str(tmp_path)}, s3.mount("s3", "down", **fast_fail)]
        )
        storage.get_backend("s3").fs.retries = 1
        storage.node("s3:there.txt").write_bytes(b"there")
        storage.node("local:batch/f.txt").write_bytes(b"f")
        storage.node("local:big.bin").write_bytes(payload(17 * 2**20))  # a multipart upload
    finally:
        server.stop()
    s3_node = storage.node("s3:docs/x.txt")
    calls = {
        "info": lambda: s3_node.info(),
        "exists": lambda: s3_node.exists,
        "isdir": lambda: s3_node.isdir,
        "read_bytes": lambda: s3_node.read_bytes(),
        "open": lambda: s3_node.open("rb").read(),
        "write_bytes": lambda: s3_node.write_bytes(b"x"),
        "children": lambda: storage.node("s3:docs").children(),
        "mkdir": lambda: storage.node("s3:docs").mkdir(parents=True, exist_ok=True),
        "delete": lambda: s3_node.delete(),
        "md5hash": lambda: s3_node.md5hash,
        "get_metadata": lambda: s3_node.get_metadata(),
        "copy file to s3": lambda: storage.node("local:batch/f.txt").copy_to("s3:docs/x.txt"),
        "copy folder to s3": lambda: storage.node("local:batch").copy_to("s3:docs"),
        "copy from s3": lambda: storage.node("s3:docs/x.txt").copy_to("local:x.txt"),
    }
    for name, call in calls.items():
        with pytest.raises(StorageConnectionError) as info:
            call()
        assert isinstance(info.value, ConnectionError) and info.value.mount == "s3", name
        assert info.value.path.startswith("docs"), name
    for source, dest in (("local:big.bin", "s3:big.bin"), ("s3:there.txt", "local:there.txt")):
        with pytest.raises(StorageConnectionError) as info:
            storage.node(source).copy_to(dest, skip=None)
        assert info.value.mount == "s3", (source, dest)


@pytest.mark.parametrize(
    ("source", "dest", "workers"),
    [
        ("local:big.bin", "memory:big.bin", None),  # a stream
        ("local:big.bin", "local:copy.bin", None),  # within the local backend
        ("memory:big.bin", "local:big.bin", None),
        ("local:big.bin", "s3:big.bin", None),  # a multipart upload
        ("local:big.bin", "azure:big.bin", None),  # staged blocks
        ("s3:big.bin", "local:big.bin", None),  # one streamed GET
        ("s3:big.bin", "local:big.bin", 4),  # parallel ranged GETs
    ],
)
def test_progress_moves_while_a_large_file_copies(all_mounts, monkeypatch, source, dest, workers):
    import genro_storage.transfer.report as transfer_module

    monkeypatch.setattr(transfer_module, "PROGRESS_INTERVAL", 0)  # every chunk: the test sees them all
    size = 25 * 2**20  # above S3's multipart threshold, three 8 MiB parts and some
    all_mounts.node(source).write_bytes(payload(size))
    events = []
    all_mounts.node(source).copy_to(dest, progress=events.append, workers=workers)
    during = [e.bytes_done for e in events if e.files_done == 0 and 0 < e.bytes_done < size]
    assert len(during) >= 3, [(e.files_done, e.bytes_done) for e in events]
    assert [e.bytes_done for e in events] == sorted(e.bytes_done for e in events)
    last = events[-1]
    assert (last.files_done, last.files_total, last.bytes_done, last.bytes_total) == (1, 1, size, size)


def test_progress_calls_never_overlap_nor_go_backwards(disk_and_memory, monkeypatch):
    import threading
    import time

    import genro_storage.transfer.report as transfer_module

    monkeypatch.setattr(transfer_module, "PROGRESS_INTERVAL", 0)
    sizes = [3 * 2**20, 2**20, 5000, 70_000, 0, 12, 2**20 + 1, 4096]
    for i, size in enumerate(sizes):
        disk_and_memory.node("memory", "src", f"f{i}.bin").write_bytes(payload(size))
    guard, running, overlaps, seen = threading.Lock(), [0], [0], []

    def slow_bar(progress):
        with guard:
            running[0] += 1
            overlaps[0] = max(overlaps[0], running[0])
        if progress.files_done == 1:
            time.sleep(0.2)  # a slow redraw: the other workers keep going meanwhile
        seen.append((progress.files_done, progress.bytes_done))
        with guard:
            running[0] -= 1

    disk_and_memory.node("memory:src").copy_to("local:dst", workers=4, progress=slow_bar)
    assert overlaps[0] == 1
    assert [files for files, _ in seen] == sorted(files for files, _ in seen)
    assert [done for _, done in seen] == sorted(done for _, done in seen)
    assert seen[-1] == (len(sizes), sum(sizes))


def test_call_never_changes_a_readonly_mount(tmp_path):
    storage = StorageManager(
        [
            {"name": "rw", "type": "local", "path": str(tmp_path / "root")},
            {"name": "rolocal", "type": "local", "path": str(tmp_path / "root"), "permissions": "readonly"},
            {"name": "romemory", "type": "memory", "permissions": "readonly"},
        ]
    )
    storage.node("rw:in.txt").write("b\na\n")
    storage.get_backend("romemory").write_bytes("in.txt", b"b\na\n")
    for mount in ("rolocal", "romemory"):
        node = storage.node(mount, "in.txt")
        with pytest.raises(StoragePermissionError) as info:
            node.call("sort", "-o", node, node)  # the program sorts the file in place
        assert info.value.mount == mount and info.value.path == "in.txt"
        assert node.read() == "b\na\n", mount
        assert node.call("sort", node, capture_output=True, text=True).stdout == "a\nb\n"  # reading is fine
        ran = tmp_path / f"ran-{mount}"
        with pytest.raises(StoragePermissionError):  # a new file there: refused before the program runs
            node.call("sh", "-c", 'touch "$0"; sort "$1" > "$2"', str(ran), node, storage.node(mount, "out.txt"))
        assert not ran.exists() and not storage.node(mount, "out.txt").exists
    for spec, mode in (("romemory:in.txt", "rw"), ("rolocal:in.txt", "w"), ("rolocal:in.txt", "rw")):
        with pytest.raises(StoragePermissionError):
            with storage.node(spec).local_path(mode):
                pass


def test_custom_backend_copy_without_progress_still_works():
    # A backend written before copy() took progress= keeps working for copies nobody watches.
    from genro_storage.backends.memory import MemoryBackend

    calls = []

    class OlderBackend(MemoryBackend):
        def copy(self, src, dst):
            calls.append((src, dst))
            super().copy(src, dst)

    storage = StorageManager()
    storage.register_backend_type("older", OlderBackend)
    storage.configure([{"name": "o", "type": "older"}])
    storage.node("o:a.txt").write_bytes(b"a")
    storage.node("o:a.txt").copy_to("o:b.txt")
    assert calls == [("a.txt", "b.txt")] and storage.node("o:b.txt").read_bytes() == b"a"
