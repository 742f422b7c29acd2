"""``manage.py storage_copy``, ``storage_ls``, ``storage_info``: end to end on local, memory
and S3 mounts through ``call_command``, and through a real ``manage.py`` process."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test.utils import override_settings
from helpers import mount_config, server_for, snapshot

from genro_storage_django import storage_manager

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.fixture
def mounts(kind, tmp_path, request):
    """Mounts ``a`` and ``b`` of the parametrised kind, ``a`` holding a small tree."""
    server = server_for(kind, request)
    config = [mount_config(kind, "a", tmp_path, server), mount_config(kind, "b", tmp_path, server)]
    with override_settings(GENRO_STORAGE={"MOUNTS": config, "DEFAULT_MOUNT": "a"}):
        storage = storage_manager()
        storage.node("a:docs/report.txt").write_bytes(b"quarterly report")
        storage.node("a:docs/notes.md").write_bytes(b"# notes")
        storage.node("a:docs/deep/data.csv").write_bytes(b"x,y\n1,2\n")
        storage.node("a:docs/deep/build.log").write_bytes(b"log")
        yield storage


def run(*args: str, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


# -- storage_copy ----------------------------------------------------------------------


def test_copy_a_folder_between_mounts(mounts):
    output = run("storage_copy", "a:docs", "b:backup")
    assert snapshot(mounts, "b") == {
        "backup/": None,
        "backup/deep/": None,
        "backup/report.txt": b"quarterly report",
        "backup/notes.md": b"# notes",
        "backup/deep/data.csv": b"x,y\n1,2\n",
        "backup/deep/build.log": b"log",
    }
    assert "a:docs -> b:backup: copied 4 files" in output and "failed 0" in output


def test_copy_a_file_into_a_folder_and_skip_what_is_there(mounts):
    mounts.node("b:in/keep.txt").write_bytes(b"keep")
    output = run("storage_copy", "a:docs/report.txt", "b:in/")
    assert mounts.node("b:in/report.txt").read_bytes() == b"quarterly report"
    assert "copied 1 file (" in output
    mounts.node("b:in/report.txt").write_bytes(b"same size here!!")  # 16 bytes, as the source
    output = run("storage_copy", "a:docs/report.txt", "b:in/", "--skip", "size")
    assert "copied 0 files" in output and "skipped 1" in output
    assert mounts.node("b:in/report.txt").read_bytes() == b"same size here!!"
    run("storage_copy", "a:docs/report.txt", "b:in/", "--skip", "hash")
    assert mounts.node("b:in/report.txt").read_bytes() == b"quarterly report"


def test_copy_with_filters_workers_and_dry_run(mounts):
    output = run("storage_copy", "a:docs", "b:dry", "--dry-run")
    assert "would copy 4 files" in output and not mounts.node("b:dry").exists
    run("storage_copy", "a:docs", "b:f", "--include", "*.txt", "--include", "deep/**", "--exclude", "*.log")
    assert sorted(p for p in snapshot(mounts, "b") if not p.endswith("/")) == ["f/deep/data.csv", "f/report.txt"]
    run("storage_copy", "a:docs", "b:w", "--workers", "1")
    assert len([p for p in snapshot(mounts, "b") if p.startswith("w/") and not p.endswith("/")]) == 4


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_on_a_terminal_only(mounts):
    terminal, pipe = Terminal(), io.StringIO()
    call_command("storage_copy", "a:docs", "b:bar", stdout=io.StringIO(), stderr=terminal)
    assert "copying:" in terminal.getvalue() and "/34.0 [" in terminal.getvalue()  # tqdm: bytes done/total
    call_command("storage_copy", "a:docs", "b:quiet", stdout=io.StringIO(), stderr=pipe)
    assert pipe.getvalue() == ""


def test_move_deletes_each_source_once_copied(mounts):
    output = run("storage_copy", "a:docs/deep", "b:moved", "--move")
    assert "moved 2 files" in output
    assert mounts.node("b:moved/data.csv").read_bytes() == b"x,y\n1,2\n"
    assert not mounts.node("a:docs/deep/data.csv").exists and not mounts.node("a:docs/deep").exists
    assert mounts.node("a:docs/report.txt").exists


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nocolon", "b:x"), "'nocolon' is not MOUNT:PATH"),
        (("a:docs", "zz:x"), "unknown mount 'zz'"),
        (("a:docs/nothing.txt", "b:x"), "nothing.txt"),
        (("a:docs", "b:x", "--skip", "never"), "invalid choice: 'never'"),
        (("a:docs", "b:x", "--workers", "0"), "must be at least 1"),
        (("a:../etc", "b:x"), "a:../etc"),
    ],
)
def test_bad_input_is_one_command_error(mounts, args, message):
    with pytest.raises(CommandError) as raised:
        run("storage_copy", *args)
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert not mounts.node("b:x").exists


def test_failures_are_listed_and_fail_the_command(mounts):
    mounts.node("b:t/deep/data.csv/inside.txt").write_bytes(b"a folder where a file should go")
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 4 files failed"):
        call_command("storage_copy", "a:docs", "b:t", "--on-error", "continue", stdout=out, stderr=io.StringIO())
    assert "failed 1" in out.getvalue() and "failed deep/data.csv" in out.getvalue()
    assert mounts.node("b:t/report.txt").read_bytes() == b"quarterly report"  # the others were copied


# -- storage_ls and storage_info -----------------------------------------------------


def test_ls_names_long_recursive_and_json(mounts):
    assert run("storage_ls", "a:docs").splitlines() == ["deep/", "notes.md", "report.txt"]
    assert run("storage_ls", "a:docs", "-R").splitlines() == [
        "deep/build.log",
        "deep/data.csv",
        "notes.md",
        "report.txt",
    ]
    long = run("storage_ls", "a:docs", "-l").splitlines()
    assert long[2].split()[0] == "16" and long[2].endswith("report.txt")
    records = json.loads(run("storage_ls", "a:docs", "--recursive", "--json"))
    assert {r["path"]: r["size"] for r in records}["docs/deep/data.csv"] == 8
    assert run("storage_ls", "a:docs/report.txt").splitlines() == ["docs/report.txt"]
    with pytest.raises(CommandError, match="nowhere"):
        run("storage_ls", "a:nowhere")


def test_info_lines_and_json(mounts):
    lines = run("storage_info", "a:docs/report.txt").splitlines()
    assert "node:         a:docs/report.txt" in lines and "size:         16" in lines
    record = json.loads(run("storage_info", "a:docs/report.txt", "--json"))
    assert record["size"] == 16 and record["mimetype"] == "text/plain" and record["type"] == "file"
    assert json.loads(run("storage_info", "a:docs", "--json"))["type"] == "directory"
    with pytest.raises(CommandError, match="missing.txt"):
        run("storage_info", "a:docs/missing.txt")


# -- through manage.py -------------------------------------------------------------------


def manage(*args: str, storage: dict, db: Path) -> subprocess.CompletedProcess:
    """``tests/django/manage.py ARGS`` in its own process, on these settings."""
    env = {
        **os.environ,
        "GENRO_TEST_STORAGE": json.dumps(storage),
        "GENRO_TEST_DB": str(db),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, str(HERE / "manage.py"), *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("remote", ["local", "s3"])
def test_commands_through_manage_py(remote, tmp_path, request):
    config = [
        mount_config("local", "a", tmp_path, None),
        mount_config(remote, "b", tmp_path, server_for(remote, request)),
    ]
    settings = {"MOUNTS": config, "DEFAULT_MOUNT": "a"}
    with override_settings(GENRO_STORAGE=settings):
        storage = storage_manager()
        storage.node("a:docs/report.txt").write_bytes(b"quarterly report")
        storage.node("a:docs/deep/data.csv").write_bytes(b"x,y\n")
    db = tmp_path / "db.sqlite3"

    done = manage("storage_copy", "a:docs", "b:copy", storage=settings, db=db)
    assert done.returncode == 0, done.stderr
    assert "a:docs -> b:copy: copied 2 files" in done.stdout
    done = manage("storage_ls", "b:copy", "-R", storage=settings, db=db)
    assert done.returncode == 0 and done.stdout.splitlines() == ["deep/data.csv", "report.txt"]
    done = manage("storage_info", "b:copy/report.txt", "--json", storage=settings, db=db)
    assert done.returncode == 0 and json.loads(done.stdout)["size"] == 16
    with override_settings(GENRO_STORAGE=settings):
        assert storage_manager().node("b:copy/deep/data.csv").read_bytes() == b"x,y\n"

    for args, message in [
        (("storage_copy", "nocolon", "b:x"), "'nocolon' is not MOUNT:PATH"),
        (("storage_copy", "a:docs/none.txt", "b:x"), "none.txt"),
        (("storage_ls", "zz:"), "unknown mount 'zz'"),
        (("storage_info", "b:copy/none.txt"), "none.txt"),
    ]:
        failed = manage(*args, storage=settings, db=db)
        assert failed.returncode == 1, failed
        lines = failed.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("CommandError: ") and message in lines[0], failed.stderr


def test_a_bad_mount_configuration_stops_a_command_at_its_checks(tmp_path):
    settings = {"MOUNTS": [{"name": "a", "type": "nosuchtype"}], "DEFAULT_MOUNT": "a"}
    failed = manage("storage_ls", "a:", storage=settings, db=tmp_path / "db.sqlite3")
    assert failed.returncode == 1
    assert "genro_storage.E" in failed.stderr and "Traceback" not in failed.stderr
