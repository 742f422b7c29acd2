"""The ``genro-storage`` console script: every command through click's runner on local,
memory and S3 (moto over loopback) mounts, then the installed script in real subprocesses
(bad input and exit statuses, ``serve`` behind gunicorn fetched over a real socket)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from click.testing import CliRunner
from helpers import mount_config, payload, server_for

from genro_storage import StorageManager
from genro_storage.cli import main
from genro_storage.signing import URLSigner

KINDS = ["local", "memory", "s3"]
SECRET = "cli-test-secret-0123456789"
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
SCRIPT = Path(sys.executable).parent / "genro-storage"
ENV_NAMES = ("GENRO_STORAGE_CONFIG", "GENRO_STORAGE_URL_SECRET", "GENRO_STORAGE_BASE_URL")


def one_error_line(stderr: str) -> str:
    """The message of a failed command, checking it is one ``Error:`` line and no traceback."""
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


# -- click's runner on a manager of every kind ------------------------------------------------


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


@pytest.fixture
def storage(kind, tmp_path, request) -> StorageManager:
    """``m`` of the parametrised kind holding a small tree, ``disk`` (local), ``mem``
    (memory) and ``ro`` (a readonly local mount)."""
    (tmp_path / "ro-root").mkdir()
    (tmp_path / "ro-root" / "kept.txt").write_text("kept")
    manager = StorageManager(
        [
            mount_config(kind, "m", tmp_path, server_for(kind, request)),
            {"name": "disk", "type": "local", "path": str(tmp_path / "disk-root")},
            {"name": "mem", "type": "memory"},
            {"name": "ro", "type": "local", "path": str(tmp_path / "ro-root"), "permissions": "readonly"},
        ]
    )
    manager.node("m:top.txt").write_bytes(b"top\n")
    manager.node("m:docs/a.txt").write_bytes(b"alpha")
    manager.node("m:docs/deep/b.bin").write_bytes(payload(70_000))
    manager.node("m:docs/deep/c.log").write_bytes(b"log\n")
    return manager


@pytest.fixture
def run(storage):
    """Run ``genro-storage ARGS`` on ``storage`` (passed as the group's obj)."""

    def invoke(*args: str, env: dict | None = None):
        return CliRunner().invoke(main, list(args), obj=storage, env=env, catch_exceptions=False)

    return invoke


def test_ls_lists_a_folder_short_long_recursive_and_json(run):
    assert run("ls", "m:").stdout.splitlines() == ["docs/", "top.txt"]
    assert run("ls", "m:docs").stdout.splitlines() == ["a.txt", "deep/"]
    assert run("ls", "-R", "m:docs").stdout.splitlines() == ["a.txt", "deep/b.bin", "deep/c.log"]
    size, mtime, name = run("ls", "-l", "m:docs").stdout.splitlines()[0].split()
    assert (size, name) == ("5", "a.txt") and ISO_UTC.fullmatch(mtime)
    records = json.loads(run("ls", "--json", "-R", "m:").stdout)
    assert [r["path"] for r in records] == ["docs/a.txt", "docs/deep/b.bin", "docs/deep/c.log", "top.txt"]
    assert records[1] == {**records[1], "name": "b.bin", "type": "file", "size": 70_000}
    assert run("ls", "m:docs/a.txt").stdout == "docs/a.txt\n"


def test_ls_without_a_path_lists_the_mounts(run, kind):
    assert run("ls").stdout.splitlines()[0].split() == ["m:", kind if kind != "memory" else "memory", "delete"]
    mounts = json.loads(run("ls", "--json").stdout)
    assert [m["name"] for m in mounts] == ["m", "disk", "mem", "ro"]
    assert mounts[3] == {"name": "ro", "type": "local", "permissions": "readonly"}


def test_info_plain_and_json(run, storage):
    lines = run("info", "m:docs/a.txt").stdout.splitlines()
    assert "size:         5" in lines and "mimetype:     text/plain" in lines
    record = json.loads(run("info", "--json", "m:docs/deep/b.bin").stdout)
    assert record["node"] == "m:docs/deep/b.bin" and record["size"] == 70_000 and record["type"] == "file"
    assert record["etag"] == storage.node("m:docs/deep/b.bin").etag
    assert json.loads(run("info", "--json", "m:docs").stdout)["type"] == "directory"


def test_cat_writes_bytes_exactly(run, storage):
    result = run("cat", "m:docs/deep/b.bin", "m:docs/a.txt")
    assert result.exit_code == 0
    assert result.stdout_bytes == storage.node("m:docs/deep/b.bin").read_bytes() + b"alpha"


def test_cat_refuses_a_folder_and_a_missing_file(run):
    result = run("cat", "m:docs")
    assert (
        result.exit_code == 1
        and one_error_line(result.stderr) == "Error: m:docs: is a folder (cat writes files; see ls)"
    )
    result = run("cat", "m:nothing.txt")
    assert result.exit_code == 1 and "m:nothing.txt" in one_error_line(result.stderr)


def test_cp_a_file_a_folder_and_into_a_folder(run, storage):
    result = run("cp", "m:docs/a.txt", "disk:copy.txt")
    assert result.exit_code == 0
    assert result.stdout.startswith("m:docs/a.txt -> disk:copy.txt: copied 1 file")
    assert storage.node("disk:copy.txt").read_bytes() == b"alpha"
    assert run("cp", "m:docs/a.txt", "disk:inbox/").exit_code == 0
    assert storage.node("disk:inbox/a.txt").read_bytes() == b"alpha"
    result = run("cp", "m:docs", "mem:tree", "--workers", "2")
    assert "copied 3 files" in result.stdout and "failed 0" in result.stdout
    assert storage.node("mem:tree/deep/b.bin").read_bytes() == storage.node("m:docs/deep/b.bin").read_bytes()


def test_cp_filters_skips_and_dry_runs(run, storage):
    result = run("cp", "m:docs", "disk:f", "--include", "*.txt", "--include", "deep/**", "--exclude", "*.log")
    assert result.exit_code == 0 and "copied 2 files" in result.stdout
    assert not storage.node("disk:f/deep/c.log").exists
    again = run("cp", "m:docs", "disk:f", "--skip", "size")
    assert "copied 1 file" in again.stdout and "skipped 2" in again.stdout
    dry = run("cp", "m:", "mem:dry", "--dry-run")
    assert dry.stdout.splitlines()[:2] == ["would copy docs/a.txt", "would copy docs/deep/b.bin"]
    assert "would copy 4 files" in dry.stdout and not storage.node("mem:dry").exists


def test_cp_draws_a_progress_bar_on_stderr_when_asked(run):
    result = run("cp", "m:docs", "mem:p", "--progress")
    assert result.exit_code == 0 and result.stderr.startswith("\rcopying:")
    assert run("cp", "m:docs", "mem:q").stderr == ""


def test_cp_exits_1_when_files_fail(run, storage):
    storage.node("disk:out/deep").write_bytes(b"a file where a folder goes")
    result = run("cp", "m:docs", "disk:out", "--on-error", "continue")
    assert result.exit_code == 1
    assert "failed 2" in result.stdout and "failed deep/b.bin" in result.stdout
    assert storage.node("disk:out/a.txt").read_bytes() == b"alpha"
    stopped = run("cp", "m:docs", "disk:out")
    assert stopped.exit_code == 1 and "disk:out/deep" in one_error_line(stopped.stderr)


def test_cp_into_a_readonly_mount_fails_in_one_line(run, storage):
    result = run("cp", "m:top.txt", "ro:top.txt")
    assert result.exit_code == 1 and "readonly" in one_error_line(result.stderr)
    assert not storage.node("ro:top.txt").exists


def test_mv_moves_and_can_dry_run(run, storage):
    dry = run("mv", "m:docs", "mem:moved", "--dry-run")
    assert "would move docs" not in dry.stdout and "would move a.txt" in dry.stdout
    assert storage.node("m:docs/a.txt").exists
    result = run("mv", "m:docs", "mem:moved")
    assert result.exit_code == 0 and "moved 3 files" in result.stdout
    assert not storage.node("m:docs").exists and storage.node("mem:moved/deep/c.log").read_bytes() == b"log\n"
    assert run("mv", "m:top.txt", "mem:moved/").exit_code == 0
    assert storage.node("mem:moved/top.txt").read_bytes() == b"top\n"


def test_mv_off_a_readonly_mount_fails(run, storage):
    result = run("mv", "ro:kept.txt", "mem:kept.txt")
    assert result.exit_code == 1 and "ro" in one_error_line(result.stderr)
    assert storage.node("ro:kept.txt").exists and not storage.node("mem:kept.txt").exists


def test_rm_files_and_folders(run, storage):
    assert run("rm", "m:top.txt").exit_code == 0 and not storage.node("m:top.txt").exists
    refused = run("rm", "m:docs/a.txt", "m:docs/deep")
    assert refused.exit_code == 1
    assert (
        one_error_line(refused.stderr) == "Error: m:docs/deep: is a folder; pass -r to delete it and everything in it"
    )
    assert storage.node("m:docs/a.txt").exists  # nothing deleted when one path is refused
    assert run("rm", "-r", "m:docs/deep", "m:docs/a.txt").exit_code == 0
    assert not storage.node("m:docs/deep/b.bin").exists and not storage.node("m:docs/a.txt").exists


def test_rm_missing_paths_the_root_and_readonly_mounts(run, storage):
    missing = run("rm", "m:nope.txt")
    assert missing.exit_code == 1 and one_error_line(missing.stderr) == "Error: m:nope.txt: No such file or directory"
    assert run("rm", "-f", "m:nope.txt").exit_code == 0
    root = run("rm", "-r", "m:")
    assert root.exit_code == 1 and "root of a mount" in one_error_line(root.stderr)
    readonly = run("rm", "ro:kept.txt")
    assert readonly.exit_code == 1 and "readonly" in one_error_line(readonly.stderr)
    assert storage.node("ro:kept.txt").exists and storage.node("m:docs/a.txt").exists


def test_url_is_presigned_on_s3_and_signed_for_serve_elsewhere(run, storage, kind):
    if kind == "s3":
        url = run("url", "m:docs/a.txt", "--expires", "10m").stdout.strip()
        assert httpx.get(url, trust_env=False).content == b"alpha"
        return
    refused = run("url", "m:docs/a.txt")
    assert refused.exit_code == 2 and "GENRO_STORAGE_URL_SECRET" in one_error_line(refused.stderr)
    url = run("url", "m:docs/a.txt", "--secret", SECRET, "--base-url", "https://files.example/dl/").stdout.strip()
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://files.example/dl/m/docs/a.txt"
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert URLSigner(SECRET).verify("m", "docs/a.txt", query["expires"], query["signature"])
    assert 3600 <= int(query["expires"]) - time.time() <= 3600 + 360 + 5  # --expires defaults to 1h
    week = run("url", "m:docs/a.txt", "--expires", "7d", env={"GENRO_STORAGE_URL_SECRET": SECRET}).stdout
    expires = int(parse_qs(urlsplit(week.strip()).query)["expires"][0])
    assert 7 * 86400 <= expires - time.time() <= 7 * 86400 + 300 + 5


def test_url_refuses_missing_files_and_bad_values(run):
    missing = run("url", "m:nope.txt", "--secret", SECRET)
    assert missing.exit_code == 1 and "m:nope.txt" in one_error_line(missing.stderr)
    for args, word in [
        (["--expires", "0"], "--expires"),
        (["--expires", "soon"], "--expires"),
        (["--secret", "short"], "--secret"),
        (["--secret", SECRET, "--base-url", "files.example"], "--base-url"),
    ]:
        result = run("url", "m:docs/a.txt", *args)
        assert result.exit_code == 2 and word in one_error_line(result.stderr), args


@pytest.mark.parametrize(
    "args, message",
    [
        (["ls", "docs"], "'docs' is not MOUNT:PATH"),
        (["cat", "nope:x"], "unknown mount 'nope' in 'nope:x' (mounts: disk, m, mem, ro)"),
        (["cp", "m:docs", "m:../out"], "'..' segment refused"),
        (["cp", "m:docs", "mem:x", "--workers", "0"], "--workers"),
        (["cp", "m:docs", "mem:x", "--skip", "newer"], "--skip"),
        (["cp", "m:docs", "mem:x", "--include", "/"], "include pattern '/' is empty"),
        (["mv", "m:docs", "mem:x", "--move"], "--move"),
        (["rm"], "Missing argument"),
        (["info", "m:", "extra"], "unexpected extra argument"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_status_2(run, args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in one_error_line(result.stderr)


def test_every_command_has_help_without_any_configuration():
    runner = CliRunner()
    top = runner.invoke(main, ["--help"], env={name: None for name in ENV_NAMES})
    assert top.exit_code == 0 and "GENRO_STORAGE_CONFIG" in top.stdout and "Exit status" in top.stdout
    for command in ("ls", "info", "cat", "cp", "mv", "rm", "url", "serve"):
        result = runner.invoke(main, [command, "--help"], env={name: None for name in ENV_NAMES})
        assert result.exit_code == 0 and result.stdout.startswith("Usage: genro-storage ")
        assert command in result.stdout.splitlines()[0]
    assert "--skip" in runner.invoke(main, ["cp", "--help"]).stdout
    url_help = runner.invoke(main, ["url", "--help"]).stdout
    assert "GENRO_STORAGE_URL_SECRET" in url_help and "--base-url" in url_help and "presign" in url_help
    serve_help = runner.invoke(main, ["serve", "--help"]).stdout
    for option in ("--bind", "--workers", "--threads", "--mount", "--listing", "--require-signature"):
        assert option in serve_help


# -- configuration ----------------------------------------------------------------------------


@pytest.fixture
def disk(tmp_path) -> Path:
    root = tmp_path / "disk-root"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "a.txt").write_bytes(b"alpha")
    return root


def clean_env(**values: str) -> dict:
    return {**{name: None for name in ENV_NAMES}, **values}


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".toml"])
def test_mounts_come_from_a_config_file_in_each_format(tmp_path, disk, suffix):
    path = tmp_path / f"mounts{suffix}"
    if suffix == ".toml":
        path.write_text(f'[mounts.disk]\ntype = "local"\npath = "{disk}"\n')
    else:
        mounts = [{"name": "disk", "type": "local", "path": str(disk)}]
        path.write_text(yaml.safe_dump(mounts) if suffix == ".yaml" else json.dumps(mounts))
    result = CliRunner().invoke(main, ["--config", str(path), "ls", "disk:docs"], env=clean_env())
    assert result.exit_code == 0 and result.stdout == "a.txt\n"
    from_env = CliRunner().invoke(main, ["cat", "disk:docs/a.txt"], env=clean_env(GENRO_STORAGE_CONFIG=str(path)))
    assert from_env.stdout_bytes == b"alpha"


def test_every_config_problem_is_printed_on_its_own_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(
            [
                {"name": "a", "path": "/srv"},
                {"name": "b", "type": "local", "path": "/srv", "permissions": "all"},
                {"name": "c", "type": "no-such-type"},
            ]
        )
    )
    result = CliRunner().invoke(main, ["--config", str(path), "ls"], env=clean_env())
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 3 and all(line.startswith(f"Error: {path}: mount ") for line in lines)
    assert "mount 'a', key 'type'" in lines[0]
    assert "mount 'b', key 'permissions'" in lines[1]
    assert "mount 'c', key 'type': unknown backend type 'no-such-type'" in lines[2]
    with_argument = CliRunner().invoke(main, ["--config", str(path), "cat", "a:x"], env=clean_env())
    assert with_argument.exit_code == 2 and with_argument.stderr.splitlines() == lines


def test_missing_and_unreadable_configurations(tmp_path):
    result = CliRunner().invoke(main, ["ls"], env=clean_env())
    assert result.exit_code == 2 and "pass --config FILE or set GENRO_STORAGE_CONFIG" in one_error_line(result.stderr)
    missing = str(tmp_path / "nowhere.yaml")
    result = CliRunner().invoke(main, ["ls"], env=clean_env(GENRO_STORAGE_CONFIG=missing))
    assert result.exit_code == 2 and one_error_line(result.stderr) == f"Error: config file not found: {missing!r}"
    broken = tmp_path / "broken.yaml"
    broken.write_text("- name: a\n  type: [local\n")
    result = CliRunner().invoke(main, ["--config", str(broken), "ls"], env=clean_env())
    assert result.exit_code == 2 and "invalid YAML" in one_error_line(result.stderr)


def test_serve_checks_its_arguments_before_starting(tmp_path, disk):
    path = tmp_path / "mounts.yaml"
    path.write_text(yaml.safe_dump([{"name": "disk", "type": "local", "path": str(disk)}]))
    for args, word in [
        (["--bind", "localhost"], "--bind"),
        (["--bind", "127.0.0.1:99999"], "--bind"),
        (["--workers", "0"], "--workers"),
        (["--mount", "elsewhere"], "unknown mount 'elsewhere' (mounts: disk)"),
        (["--require-signature"], "--require-signature"),
        (["--secret", "short"], "--secret"),
    ]:
        result = CliRunner().invoke(main, ["--config", str(path), "serve", *args], env=clean_env())
        assert result.exit_code == 2 and word in one_error_line(result.stderr), args


# -- the installed script in subprocesses -----------------------------------------------------


@pytest.fixture
def config(tmp_path, disk, s3_server) -> Path:
    """A config file with ``disk`` (local, seeded), ``mem`` (memory) and ``s3`` (a fresh prefix)."""
    mounts = [
        {"name": "disk", "type": "local", "path": str(disk)},
        {"name": "mem", "type": "memory"},
        mount_config("s3", "s3", tmp_path, s3_server),
    ]
    path = tmp_path / "mounts.yaml"
    path.write_text(yaml.safe_dump(mounts))
    return path


@pytest.fixture
def script(config):
    """Run the installed ``genro-storage --config CONFIG ARGS`` and return the finished process."""
    assert SCRIPT.exists(), f"{SCRIPT} is missing: run .venv/bin/python -m pip install -e '.[all,dev]'"

    def call(*args: str, env: dict | None = None, config_file: Path | None = config) -> subprocess.CompletedProcess:
        base = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
        argv = [str(SCRIPT), *(["--config", str(config_file)] if config_file else []), *args]
        return subprocess.run(argv, capture_output=True, env={**base, **(env or {})}, timeout=120)

    return call


def failure(process: subprocess.CompletedProcess) -> str:
    return one_error_line(process.stderr.decode())


@pytest.mark.parametrize("mount", ["disk", "s3"])
def test_every_command_in_a_real_process(script, config, mount, tmp_path):
    storage = StorageManager(str(config))
    blob = payload(200_000) + b"\x00\r\n\xff"
    storage.node(f"{mount}:media/clip.bin").write_bytes(blob)
    storage.node(f"{mount}:media/notes.txt").write_bytes(b"notes")

    assert script("ls", f"{mount}:media").stdout == b"clip.bin\nnotes.txt\n"
    listed = json.loads(script("ls", "--json", "-R", f"{mount}:").stdout)
    assert {r["path"]: r["size"] for r in listed if r["path"].startswith("media/")} == {
        "media/clip.bin": len(blob),
        "media/notes.txt": 5,
    }
    assert json.loads(script("info", "--json", f"{mount}:media/clip.bin").stdout)["size"] == len(blob)
    assert script("cat", f"{mount}:media/clip.bin").stdout == blob

    other = "s3" if mount == "disk" else "disk"
    copied = script("cp", f"{mount}:media", f"{other}:copied", "--skip", "hash")
    assert copied.returncode == 0 and b"copied 2 files" in copied.stdout
    assert storage.node(f"{other}:copied/clip.bin").read_bytes() == blob
    moved = script("mv", f"{other}:copied/notes.txt", f"{mount}:moved/")
    assert moved.returncode == 0 and b"moved 1 file" in moved.stdout
    assert storage.node(f"{mount}:moved/notes.txt").read_bytes() == b"notes"
    assert not storage.node(f"{other}:copied/notes.txt").exists

    url = script("url", f"{mount}:media/notes.txt", env={"GENRO_STORAGE_URL_SECRET": SECRET}).stdout.decode().strip()
    assert url.startswith("http://127.0.0.1:")
    if mount == "s3":
        assert httpx.get(url, trust_env=False).content == b"notes"
    else:
        assert url.startswith("http://127.0.0.1:8000/disk/media/notes.txt?expires=")

    refused = script("rm", f"{mount}:media")
    assert refused.returncode == 1 and "pass -r" in failure(refused)
    assert script("rm", "-r", f"{mount}:media").returncode == 0
    assert not storage.node(f"{mount}:media/clip.bin").exists


def test_memory_mounts_live_as_long_as_one_process(script, disk):
    copied = script("cp", "disk:docs/a.txt", "mem:a.txt")
    assert copied.returncode == 0 and copied.stdout.startswith(b"disk:docs/a.txt -> mem:a.txt: copied 1 file")
    listed = script("ls", "mem:")
    assert listed.returncode == 0 and listed.stdout == b""
    assert json.loads(script("info", "--json", "mem:").stdout)["type"] == "directory"
    gone = script("cat", "mem:a.txt")
    assert gone.returncode == 1 and failure(gone) == "Error: mem:a.txt: No such file or directory"
    assert script("url", "mem:a.txt", env={"GENRO_STORAGE_URL_SECRET": SECRET}).returncode == 1
    assert script("rm", "mem:a.txt").returncode == 1 and script("rm", "-f", "mem:a.txt").returncode == 0
    moved = script("mv", "disk:docs/a.txt", "mem:a.txt")
    assert moved.returncode == 0 and b"moved 1 file" in moved.stdout
    assert not (disk / "docs" / "a.txt").exists()  # the only copy lived in that process


def test_cat_stops_quietly_when_the_reader_goes_away(config, disk):
    (disk / "big.bin").write_bytes(payload(4_000_000))
    process = subprocess.Popen(
        [str(SCRIPT), "--config", str(config), "cat", "disk:big.bin"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout.read(10) == (disk / "big.bin").read_bytes()[:10]
    process.stdout.close()  # as `| head -c 10` does
    assert process.wait(timeout=60) == 1
    assert process.stderr.read() == b""
    process.stderr.close()


def test_exit_statuses_of_a_real_process(script, tmp_path):
    assert script("ls", "disk:").returncode == 0
    assert script("ls", "nope:").returncode == 2 and "unknown mount 'nope'" in failure(script("ls", "nope:"))
    assert script("cat", "disk").returncode == 2
    assert script("cp", "disk:docs", "s3:x", "--workers", "none").returncode == 2
    missing = script("info", "disk:docs/missing.txt")
    assert missing.returncode == 1 and failure(missing) == "Error: disk:docs/missing.txt: No such file or directory"
    assert script("frobnicate").returncode == 2
    no_config = script("ls", config_file=None)
    assert no_config.returncode == 2 and "GENRO_STORAGE_CONFIG" in failure(no_config)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "x"}, {"type": "local"}]))
    problems = script("ls", config_file=bad)
    assert problems.returncode == 2 and problems.stdout == b""
    assert len(problems.stderr.decode().splitlines()) == 2 and b"Traceback" not in problems.stderr


def test_python_m_runs_the_same_script(config):
    result = subprocess.run(
        [sys.executable, "-m", "genro_storage.cli", "--config", str(config), "ls", "disk:docs"],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout == b"a.txt\n"
    helped = subprocess.run([sys.executable, "-m", "genro_storage.cli", "--help"], capture_output=True, timeout=60)
    assert helped.stdout.startswith(b"Usage: genro-storage ")


def test_serve_without_gunicorn_names_the_extra(config):
    # The interpreter refuses `import gunicorn`, as where the package is not installed.
    code = "import sys; sys.modules['gunicorn'] = None; from genro_storage.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", code, "--config", str(config), "serve"], capture_output=True, timeout=60
    )
    assert result.returncode == 1
    assert failure(result) == "Error: genro-storage serve needs gunicorn: pip install 'genro-storage[serve]'"


# -- serve: gunicorn in a real process, fetched over a real socket ---------------------------


@pytest.fixture
def start_serve(config, tmp_path):
    """Start ``genro-storage serve ARGS`` on a free port in its own process group; return
    its base URL once it listens. Every server started is stopped at teardown."""
    started: list[subprocess.Popen] = []

    def start(*args: str) -> str:
        log = tmp_path / f"serve-{len(started)}.log"
        env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
        with open(log, "wb") as err, open(tmp_path / f"serve-{len(started)}.out", "wb") as out:
            process = subprocess.Popen(
                [str(SCRIPT), "--config", str(config), "serve", "--bind", "127.0.0.1:0", "--workers", "1", *args],
                stdout=out,
                stderr=err,
                env={**env, "GENRO_STORAGE_URL_SECRET": SECRET},
                start_new_session=True,
            )
        started.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = re.search(r"serving .* at (http://127\.0\.0\.1:\d+/)", log.read_text())
            if found and "Booting worker" in log.read_text():
                return found.group(1)
            assert process.poll() is None, log.read_text()
            time.sleep(0.1)
        raise AssertionError(f"serve did not start: {log.read_text()}")

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


@pytest.fixture
def http():
    with httpx.Client(trust_env=False, timeout=30) as client:
        yield client


def test_serve_answers_ranges_from_local_and_s3(start_serve, config, http):
    storage = StorageManager(str(config))
    video = payload(1_500_000)
    for mount in ("disk", "s3"):
        storage.node(f"{mount}:media/video.webm").write_bytes(video)
    base = start_serve("--listing", "--threads", "4")
    for mount in ("disk", "s3"):
        whole = http.get(f"{base}{mount}/media/video.webm")
        assert whole.status_code == 200 and whole.content == video
        part = http.get(f"{base}{mount}/media/video.webm", headers={"Range": "bytes=1000000-"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 1000000-{len(video) - 1}/{len(video)}"
        assert part.content == video[1_000_000:]
        fresh = http.get(f"{base}{mount}/media/video.webm", headers={"If-None-Match": whole.headers["etag"]})
        assert fresh.status_code == 304
    listing = http.get(f"{base}disk/media/", headers={"Accept": "application/json"})
    assert listing.status_code == 200 and [e["name"] for e in listing.json()["entries"]] == ["video.webm"]
    assert http.post(f"{base}disk/media/video.webm").status_code == 405
    assert http.get(f"{base}nope/x").status_code == 404


def test_serve_requires_signed_urls_from_the_url_command(start_serve, script, config, http):
    storage = StorageManager(str(config))
    storage.node("disk:private/report.pdf").write_bytes(b"%PDF-1.7 secret pages")
    base = start_serve("--mount", "disk", "--require-signature")
    env = {"GENRO_STORAGE_URL_SECRET": SECRET, "GENRO_STORAGE_BASE_URL": base}
    signed = script("url", "disk:private/report.pdf", "--expires", "5m", env=env).stdout.decode().strip()
    assert signed.startswith(f"{base}disk/private/report.pdf?expires=")
    answer = http.get(signed, headers={"Range": "bytes=0-7"})
    assert answer.status_code == 206 and answer.content == b"%PDF-1.7"
    assert http.get(signed).content == b"%PDF-1.7 secret pages"
    assert http.get(f"{base}disk/private/report.pdf").status_code == 403
    tampered = signed[:-2] + ("AA" if not signed.endswith("AA") else "BB")
    assert http.get(tampered).status_code == 403
    other_file = signed.replace("report.pdf", "other.pdf")
    assert http.get(other_file).status_code == 403
    assert http.get(f"{base}s3/anything").status_code == 404  # not in --mount
