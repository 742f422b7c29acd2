"""``flask storage ...`` end to end: through Flask's CliRunner and as a real ``flask``
process, with the clear one-line errors and exit codes bad input gets."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask_helpers import HERE, REPO, new_app

from genro_storage_flask import GenroStorage


@pytest.fixture
def cli(tmp_path):
    """(runner, app, ext) with a local mount ``loc`` holding docs/ and a memory mount."""
    root = tmp_path / "loc"
    (root / "docs" / "sub").mkdir(parents=True)
    (root / "docs" / "a.txt").write_text("alpha")
    (root / "docs" / "sub" / "b.txt").write_text("beta!")
    app, ext = new_app(
        GENRO_STORAGE_MOUNTS=[{"name": "loc", "type": "local", "path": str(root)}, {"name": "mem", "type": "memory"}]
    )
    return app.test_cli_runner(), app, ext


def test_ls(cli):
    runner, _, _ = cli
    result = runner.invoke(args=["storage", "ls", "loc:docs"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["a.txt", "sub/"]
    recursive = runner.invoke(args=["storage", "ls", "-r", "--json", "loc:docs"])
    assert [entry["path"] for entry in json.loads(recursive.output)] == ["docs/a.txt", "docs/sub/b.txt"]
    long = runner.invoke(args=["storage", "ls", "-l", "loc:docs"])
    assert long.output.splitlines()[0].split()[0] == "5"


def test_cp_folder_with_summary_then_skip(cli):
    runner, app, ext = cli
    result = runner.invoke(args=["storage", "cp", "loc:docs", "mem:backup", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "copied 2 files" in result.output
    with app.app_context():
        assert ext.node("mem:backup/sub/b.txt").read_text() == "beta!"
    again = runner.invoke(args=["storage", "cp", "loc:docs", "mem:backup", "--skip", "size"])
    assert "copied 0 files" in again.output and "skipped 2" in again.output


def test_cp_dry_run_copies_nothing(cli):
    runner, app, ext = cli
    result = runner.invoke(args=["storage", "cp", "--dry-run", "loc:docs", "mem:dry"])
    assert result.exit_code == 0
    assert "would copy 2 files" in result.output
    with app.app_context():
        assert not ext.node("mem:dry").exists


def test_cp_into_a_folder_and_move(cli):
    runner, app, ext = cli
    result = runner.invoke(args=["storage", "cp", "--move", "loc:docs/a.txt", "mem:inbox/"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert ext.node("mem:inbox/a.txt").read_text() == "alpha"
        assert not ext.node("loc:docs/a.txt").exists


def test_rm(cli):
    runner, app, ext = cli
    refused = runner.invoke(args=["storage", "rm", "loc:docs/sub"])
    assert refused.exit_code == 1
    assert "pass -r" in refused.output
    assert runner.invoke(args=["storage", "rm", "loc:docs/a.txt"]).exit_code == 0
    assert runner.invoke(args=["storage", "rm", "-r", "loc:docs/sub"]).exit_code == 0
    with app.app_context():
        assert ext.node("loc:docs").children() == []


def test_rm_checks_every_path_first_then_removes_them_all(cli):
    runner, app, ext = cli
    refused = runner.invoke(args=["storage", "rm", "loc:docs/a.txt", "loc:docs/nope.txt"])
    assert refused.exit_code == 1
    assert "loc:docs/nope.txt: No such file or directory" in refused.output
    with app.app_context():
        assert ext.node("loc:docs/a.txt").exists  # nothing removed: one path was wrong
    forced = runner.invoke(args=["storage", "rm", "-f", "loc:docs/a.txt", "loc:docs/nope.txt", "loc:docs/sub/b.txt"])
    assert forced.exit_code == 0, forced.output
    assert forced.output.splitlines() == ["removed loc:docs/a.txt", "removed loc:docs/sub/b.txt"]


def test_rm_refuses_a_mounts_root(cli):
    runner, app, ext = cli
    result = runner.invoke(args=["storage", "rm", "-r", "loc:"])
    assert result.exit_code == 1
    assert "refusing to delete the root of a mount" in result.output
    with app.app_context():
        assert ext.node("loc:docs/a.txt").exists


def test_rm_honours_the_mounts_delete_permission(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    app, _ = new_app(
        GENRO_STORAGE_MOUNTS=[{"name": "ro", "type": "local", "path": str(tmp_path), "permissions": "readonly"}]
    )
    result = app.test_cli_runner().invoke(args=["storage", "rm", "ro:keep.txt"])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1
    assert (tmp_path / "keep.txt").exists()


def test_ls_of_an_empty_folder_prints_nothing(cli):
    runner, app, ext = cli
    with app.app_context():
        ext.node("loc:docs/void").mkdir()
    assert runner.invoke(args=["storage", "ls", "loc:docs/void"]).output == ""


def test_info(cli):
    runner, _, _ = cli
    result = runner.invoke(args=["storage", "info", "--json", "loc:docs/a.txt"])
    record = json.loads(result.output)
    assert (record["node"], record["size"], record["mimetype"]) == ("loc:docs/a.txt", 5, "text/plain")
    assert "etag:" in runner.invoke(args=["storage", "info", "loc:docs/a.txt"]).output


def test_url(cli):
    runner, _, _ = cli
    result = runner.invoke(args=["storage", "url", "--expires", "60", "loc:docs/a.txt"])
    assert result.exit_code == 0
    assert result.output.startswith("/files/loc/docs/a.txt?expires=")


def test_url_without_a_secret_names_the_config_keys(tmp_path):
    (tmp_path / "a.txt").write_text("alpha")
    app = Flask("no_secret")
    app.config.update(TESTING=True, GENRO_STORAGE_MOUNTS=[{"name": "a", "type": "local", "path": str(tmp_path)}])
    GenroStorage(app)
    result = app.test_cli_runner().invoke(args=["storage", "url", "a:a.txt"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: mount 'a': signed URLs need a secret: set SECRET_KEY or GENRO_STORAGE_URL_SECRET in the app's config"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ls", "nomount:x"], "unknown mount 'nomount'"),
        (["ls", "no-colon"], "is not MOUNT:PATH"),
        (["ls", "loc:../etc"], "'..' segment refused"),
        (["ls", "loc:missing"], "missing"),
        (["cp", "loc:missing", "mem:x"], "missing"),
        (["rm", "loc:missing"], "missing"),
        (["info", "nomount:"], "unknown mount"),
        (["url", "loc:docs"], "is not a file"),
    ],
)
def test_bad_input_exits_1_with_one_line(cli, args, message):
    runner, _, _ = cli
    result = runner.invoke(args=["storage", *args])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.output


def test_bad_option_value_is_a_usage_error(cli):
    runner, _, _ = cli
    result = runner.invoke(args=["storage", "cp", "--workers", "0", "loc:docs", "mem:x"])
    assert result.exit_code == 2
    assert "--workers" in result.output


def _flask(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    config = {
        "SECRET_KEY": "a-flask-secret-key-for-the-cli-subprocess-0123456789",
        "GENRO_STORAGE_MOUNTS": [
            {"name": "loc", "type": "local", "path": str(tmp_path / "loc")},
            {"name": "out", "type": "local", "path": str(tmp_path / "out")},
        ],
    }
    env = {
        **os.environ,
        "GS_FLASK_CONFIG": json.dumps(config),
        "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO)]),
    }
    command = [str(Path(sys.executable).parent / "flask"), "--app", "flask_wire_app:create_app", "storage", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_every_command_as_a_real_process(tmp_path):
    (tmp_path / "loc" / "d").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    (tmp_path / "loc" / "d" / "f.txt").write_text("file")
    listed = _flask(tmp_path, "ls", "loc:d")
    assert (listed.returncode, listed.stdout) == (0, "f.txt\n"), listed.stderr
    copied = _flask(tmp_path, "cp", "loc:d", "out:copy")
    assert copied.returncode == 0 and re.search(r"copied 1 files?\b", copied.stdout), copied.stderr
    assert (tmp_path / "out" / "copy" / "f.txt").read_text() == "file"
    info = _flask(tmp_path, "info", "--json", "out:copy/f.txt")
    assert json.loads(info.stdout)["size"] == 4
    url = _flask(tmp_path, "url", "out:copy/f.txt")
    assert url.stdout.startswith("/files/out/copy/f.txt?expires=")
    removed = _flask(tmp_path, "rm", "out:copy/f.txt")
    assert removed.returncode == 0 and not (tmp_path / "out" / "copy" / "f.txt").exists()


def test_bad_input_in_a_real_process(tmp_path):
    (tmp_path / "loc").mkdir()
    (tmp_path / "out").mkdir()
    result = _flask(tmp_path, "cp", "nomount:x", "out:y")
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: unknown mount 'nomount' in 'nomount:x' (mounts: loc, out)"
    assert result.stdout == ""
