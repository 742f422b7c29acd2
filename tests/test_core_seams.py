"""The core seams front ends build on: capabilities, error context, transfer options,
walking, signing keys, the config check, and failures that must keep their context."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import genro_storage
from genro_storage import (
    StorageBackend,
    StorageConfigError,
    StorageConnectionError,
    StorageManager,
    StorageNotFoundError,
    StorageOSError,
    TransferOptions,
    check_config,
)
from genro_storage.backends.base import CAPABILITIES
from genro_storage.errors import ErrorContext
from genro_storage.signing import derive_secret


@pytest.fixture
def storage(tmp_path):
    return StorageManager(
        [{"name": "disk", "type": "local", "path": str(tmp_path / "disk")}, {"name": "mem", "type": "memory"}]
    )


# -- capabilities -----------------------------------------------------------------------------


def test_capabilities_are_declared_and_asked_one_way(storage):
    disk, mem = storage.get_backend("disk"), storage.get_backend("mem")
    assert disk.supports("local_files") and not disk.supports("fsspec")
    assert mem.supports("fsspec") and not mem.supports("local_files")
    with pytest.raises(ValueError, match="unknown capability 'local_file'"):
        disk.supports("local_file")


def test_a_custom_backend_declares_only_known_capabilities():
    class Odd(StorageBackend):
        capabilities = frozenset({"teleport"})

    with pytest.raises(ValueError, match="teleport"):
        StorageManager().register_backend_type("odd", Odd)


def test_no_capability_is_found_by_probing():
    # The promise of the vocabulary: callers ask backend.supports(), never getattr probes.
    source = Path(genro_storage.__file__).parent
    probes = [
        f"{path.relative_to(source)}: {line.strip()}"
        for path in source.rglob("*.py")
        for line in path.read_text().splitlines()
        if re.search(r"getattr\((self\.)?(\w+\.)*backend\b|getattr\(\w*_backend\b", line)
    ]
    assert probes == []
    assert set(CAPABILITIES) >= {"local_files", "fsspec", "upload_file", "download_fileobj", "presign"}


# -- one way to attach mount and path ---------------------------------------------------------------


def test_error_context_names_mount_and_path():
    with pytest.raises(StorageNotFoundError) as info, ErrorContext("m", "a/b.txt"):
        raise FileNotFoundError(2, "No such file or directory", "/srv/a/b.txt")
    assert (info.value.mount, info.value.path) == ("m", "a/b.txt")
    assert isinstance(info.value.__cause__, FileNotFoundError)
    with pytest.raises(KeyError), ErrorContext("m", "x"):  # a bug stays a bug
        raise KeyError("oops")
    ours = StorageOSError("other", "y", "boom")
    with pytest.raises(StorageOSError) as info, ErrorContext("m", "x"):
        raise ours
    assert info.value is ours


@pytest.mark.parametrize(
    "name", ["IncompleteRead", "ProtocolError", "ResponseStreamingError", "ClientPayloadError", "ReadTimeoutError"]
)
def test_a_download_cut_short_is_a_connection_error(name):
    kind = type(name, (Exception,), {"__module__": "botocore.exceptions"})
    with pytest.raises(StorageConnectionError), ErrorContext("s3", "big.bin"):
        raise kind("Connection broken: IncompleteRead(100 bytes read, 900 more expected)")


def test_a_disk_error_while_writing_names_mount_and_path(tmp_path):
    # A real OS error from a real file: the file size limit makes write() fail with EFBIG,
    # as a full disk fails with ENOSPC.
    script = textwrap.dedent(
        f"""
        import resource, signal, errno
        from genro_storage import StorageManager, StorageOSError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
        st = StorageManager([{{"name": "disk", "type": "local", "path": {str(tmp_path / "d")!r}}}])
        st.node("disk:keep.bin").write_bytes(b"old")
        for mode in ("wb", "w"):
            try:
                with st.node("disk:keep.bin").open(mode) as f:
                    for _ in range(50):
                        f.write(b"x" * 10_000 if mode == "wb" else "x" * 10_000)
                        f.flush()
            except StorageOSError as exc:
                assert (exc.mount, exc.path, exc.errno) == ("disk", "keep.bin", errno.EFBIG), exc
            else:
                raise SystemExit("no error")
        assert st.node("disk:keep.bin").read_bytes() == b"old"
        try:  # the last bytes fail only when the block's exit flushes them: the caller's error wins
            with st.node("disk:keep.bin").open("wb") as f:
                f.write(b"x" * 99_000)
                f.write(b"y" * 5_000)
                raise KeyError("the caller's own")
        except KeyError:
            pass
        import os
        assert [n for n in os.listdir({str(tmp_path / "d")!r}) if n.endswith(".genro-tmp")] == []
        assert st.node("disk:keep.bin").read_bytes() == b"old"
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr


# -- transfer options -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"include": b"*.txt"}, TypeError, "include must be a pattern string"),
        ({"exclude": [None]}, TypeError, "exclude patterns must be strings"),
        ({"include": [""]}, ValueError, "empty"),
        ({"workers": 0}, ValueError, "workers"),
        ({"workers": True}, ValueError, "workers"),
        ({"on_error": "ignore"}, ValueError, "on_error"),
        ({"skip": "newer"}, ValueError, "skip"),
        ({"progress": 3}, TypeError, "progress"),
        ({"dry_run": "yes"}, TypeError, "dry_run"),
    ],
)
def test_transfer_options_refuse_bad_values_when_built(storage, kwargs, error, message):
    with pytest.raises(error, match=message):
        TransferOptions(**kwargs)
    storage.node("mem:src/a.txt").write("a")
    with pytest.raises(error, match=message):
        storage.node("mem:src").copy_to("disk:dst", **kwargs)
    assert not storage.node("disk:dst").exists  # nothing touched


def test_one_options_value_serves_copy_move_and_dry_runs(storage):
    for name in ("a.txt", "b.log", "sub/c.txt"):
        storage.node("mem:src", name).write(name)
    options = TransferOptions(include="*.txt", workers=2)
    report = storage.node("mem:src").copy_to("disk:dst", options)
    assert sorted(report.copied) == ["a.txt", "sub/c.txt"]
    again = storage.node("mem:src").copy_to("disk:dst", options, skip="exists")
    assert sorted(again.skipped) == ["a.txt", "sub/c.txt"] and not again.copied
    dry = storage.node("mem:src").move_to("disk:moved", TransferOptions(dry_run=True))
    assert dry.dry_run and storage.node("mem:src/a.txt").exists and not storage.node("disk:moved").exists
    with pytest.raises(TypeError, match="unknown transfer option"):
        TransferOptions.build(None, skp="size")


# -- walking and rmdir ------------------------------------------------------------------------------


@pytest.mark.parametrize("mount", ["disk", "mem"])
def test_walk_gives_folders_and_names_like_pathlib(storage, mount):
    for name in ("a.txt", "x/b.txt", "x/y/c.txt"):
        storage.node(mount, name).write("-")
    storage.node(mount, "empty").mkdir()
    walked = [(folder.path, dirs, files) for folder, dirs, files in storage.node(mount, "").walk()]
    assert walked == [
        ("", ["empty", "x"], ["a.txt"]),
        ("empty", [], []),
        ("x", ["y"], ["b.txt"]),
        ("x/y", [], ["c.txt"]),
    ]
    bottom_up = [folder.path for folder, _, _ in storage.node(mount, "").walk(top_down=False)]
    assert bottom_up.index("x/y") < bottom_up.index("x") < bottom_up.index("")
    assert sorted(rel for rel, info in storage.node(mount, "x").walk_files()) == ["b.txt", "y/c.txt"]
    assert list(storage.node(mount, "a.txt").walk()) == [] and list(storage.node(mount, "missing").walk()) == []


@pytest.mark.parametrize("mount", ["disk", "mem"])
def test_rmdir_removes_only_an_empty_folder(storage, mount):
    storage.node(mount, "full/a.txt").write("-")
    storage.node(mount, "bare").mkdir()
    with pytest.raises(OSError) as info:
        storage.node(mount, "full").rmdir()
    assert info.value.errno == errno.ENOTEMPTY
    storage.node(mount, "bare").rmdir()
    assert not storage.node(mount, "bare").exists and storage.node(mount, "full/a.txt").exists


# -- signing keys and URL lifetimes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret, error",
    [(12345, TypeError), (True, TypeError), (None, TypeError), ("short", ValueError), (b"\0" * 64, ValueError)],
)
def test_weak_or_wrong_secrets_are_refused(storage, secret, error):
    with pytest.raises(error, match="secret"):
        storage.configure_urls(secret, "/files/")
    with pytest.raises(StorageConfigError):
        storage.node("disk:a.txt").url()  # nothing was configured


@pytest.mark.parametrize("secret_key", [12345, True, "dev", b"x", "k" * 32])
def test_a_key_derived_from_a_guessable_secret_key_is_refused(secret_key):
    with pytest.raises((TypeError, ValueError), match="SECRET_KEY"):
        derive_secret(secret_key)
    assert derive_secret("a-long-random-secret-key-0123456789") != derive_secret("a-long-random-secret-key-012345678")


@pytest.mark.parametrize("lifetime", [-100, 0, -0.5, float("nan"), float("inf"), "60", True, None, 10**12])
def test_url_lifetimes_must_be_positive_seconds(storage, lifetime):
    storage.configure_urls("s" * 8 + "-a-good-secret", "/files/")
    with pytest.raises(ValueError, match="expires_in"):
        storage.node("disk:a.txt").url(expires_in=lifetime)
    assert "signature=" in storage.node("disk:a.txt").url(expires_in=60)
    assert "signature=" in storage.node("disk:a.txt").url(expires_in=3600.0)  # a float from settings


# -- the config check --------------------------------------------------------------------------------


def test_check_config_lists_every_problem_without_raising(tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("-")
    problems = check_config(
        [
            {"name": "ok", "type": "memory"},
            {"name": "ok", "type": "memory"},
            {"type": "memory"},
            {"name": "t", "type": "no-such-type"},
            {"name": "p", "type": "memory", "permissions": "rw"},
            {"name": "k", "type": "memory", "bogus": 1},
            {"name": "f", "type": "local", "path": str(a_file)},
        ]
    )
    found = [(p.mount, p.key) for p in problems]
    assert found == [("ok", "name"), (None, "name"), ("t", "type"), ("p", "permissions"), ("k", "bogus"), ("f", "path")]
    assert all(isinstance(p, StorageConfigError) for p in problems)
    assert check_config([{"name": "fine", "type": "memory"}]) == []
    assert [p.key for p in check_config(str(tmp_path / "missing.yaml"))] == [None]


def test_check_config_adds_nothing(storage):
    storage.check_config([{"name": "new", "type": "memory"}])
    assert not storage.has_mount("new")
    assert [p.key for p in storage.check_config([{"name": "mem", "type": "memory"}])] == ["name"]


# -- local copies of remote files ------------------------------------------------------------------------


def test_local_path_of_a_long_name_keeps_its_suffix(storage):
    node = storage.node("mem", "n" * 250 + ".txt")
    node.write("payload")
    with node.local_path("r") as path:
        assert path.endswith(".txt") and open(path).read() == "payload"
    with node.local_path("w") as path:
        Path(path).write_text("changed")
    assert node.read() == "changed"


def test_check_config_reports_each_problem_of_one_mount():
    problems = check_config([{"name": "x", "protocol": "memory", "type": "memory", "permissions": "rw"}])
    assert [(p.mount, p.key) for p in problems] == [("x", "type"), ("x", "permissions")]
    problems = check_config([{"name": "bad:name", "permissions": "all"}])
    assert [p.key for p in problems] == ["name", "type", "permissions"]


def test_serving_retries_a_file_replaced_while_it_is_opened(tmp_path, monkeypatch):
    from genro_storage.backends import openfiles
    from genro_storage.http import respond

    storage = StorageManager([{"name": "disk", "type": "local", "path": str(tmp_path)}])
    node = storage.node("disk:a.txt")
    node.write("old")
    real_open = openfiles.SharedFile.open.__func__
    calls = []

    def replaced_first(cls, path):
        if not calls:  # a new version renamed into place between the check and the open
            (tmp_path / "new").write_text("new")
            os.replace(tmp_path / "new", tmp_path / "a.txt")
        calls.append(path)
        return real_open(cls, path)

    monkeypatch.setattr(openfiles.SharedFile, "open", classmethod(replaced_first))
    response = respond(node, "GET", {})
    assert response.status == 200 and b"".join(response.body) == b"new" and len(calls) == 2


@pytest.mark.parametrize("kind", ["local", "memory", "s3"])
@pytest.mark.parametrize("size", [10, 6 * 2**20], ids=["small", "multipart"])
def test_racing_exclusive_creates_never_overwrite_each_other(tmp_path, request, kind, size):
    import threading

    from helpers import mount_config, server_for

    storage = StorageManager([mount_config(kind, "m", tmp_path, server_for(kind, request))])
    node = storage.node("m:race.bin")
    won, lost = [], []

    def create(byte: int) -> None:
        try:
            with node.open("xb") as f:
                f.write(bytes([byte]) * size)
            won.append(byte)
        except FileExistsError:
            lost.append(byte)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1 and len(lost) == 5
    assert node.read_bytes() == bytes([won[0]]) * size
    with pytest.raises(FileExistsError):
        node.open("xb").close()
    assert node.read_bytes() == bytes([won[0]]) * size


def test_exclusive_create_is_refused_where_it_cannot_be_promised(tmp_path):
    from genro_storage import UnsupportedOperationError

    storage = StorageManager([{"name": "inline", "type": "base64"}])
    with pytest.raises(UnsupportedOperationError, match="exclusive"):
        storage.node("inline:aGk=").open("xb")


def test_signed_urls_stay_the_same_within_a_window(storage):
    storage.configure_urls("a-secret-of-enough-length", "/files/")
    signer = storage.url_signer()
    start = 1_800_000_000
    first = signer.query("disk", "a.txt", 3600, now=start + 10)
    assert signer.query("disk", "a.txt", 3600, now=start + 250) == first
    expires = int(first.split("&")[0].removeprefix("expires="))
    assert start + 250 + 3600 <= expires <= start + 10 + 3600 + 300
