"""genro_storage.console, the pieces every command line shares: the copy options for
argparse and click, MOUNT:PATH parsing, the progress bar, run_transfer, listings, info and
JSON, on local, memory and S3 (moto over loopback) mounts."""

from __future__ import annotations

import argparse
import io
import json
import re
import time

import click
import pytest
from click.testing import CliRunner
from helpers import mount_config, payload, server_for

from genro_storage import StorageManager, StorageNotFoundError, TransferOptions
from genro_storage.console import (
    COPY_OPTIONS,
    ProgressBar,
    copy_options,
    info_lines,
    info_record,
    listing_lines,
    listing_records,
    parse_node,
    run_transfer,
    to_json,
    transfer_options,
)
from genro_storage.transfer import TransferProgress

KINDS = ["local", "memory", "s3"]
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


@pytest.fixture
def storage(kind, tmp_path, request) -> StorageManager:
    """Mount ``src`` of the parametrised backend holding a small tree, and two empty
    destinations: ``mem`` (memory) and ``disk`` (local)."""
    manager = StorageManager(
        [
            mount_config(kind, "src", tmp_path, server_for(kind, request)),
            {"name": "mem", "type": "memory"},
            {"name": "disk", "type": "local", "path": str(tmp_path / "disk")},
        ]
    )
    manager.node("src:top.txt").write_bytes(b"top level\n")
    manager.node("src:docs/a.txt").write_bytes(b"alpha")
    manager.node("src:docs/deep/b.bin").write_bytes(payload(3000))
    manager.node("src:docs/deep/c.log").write_bytes(b"log line\n")
    return manager


def argparse_values(argv: list[str], options=COPY_OPTIONS) -> dict:
    parser = argparse.ArgumentParser(prog="storage_copy")
    for option in options:
        option.add_to(parser)
    return vars(parser.parse_args(argv))


def click_values(argv: list[str], options=COPY_OPTIONS) -> tuple[int, dict, str]:
    seen: dict = {}

    @click.command()
    def command(**values):
        seen.update(values)

    for option in reversed(options):
        command = option.click_option()(command)
    result = CliRunner().invoke(command, argv)
    return result.exit_code, seen, result.output


ALL_FLAGS = ["--skip", "size", "--workers", "3", "--include", "*.txt", "--include", "deep/**"]
ALL_FLAGS += ["--exclude", "*.log", "--dry-run", "--on-error", "continue", "--move"]
EXPECTED = TransferOptions(
    skip="size", workers=3, include=("*.txt", "deep/**"), exclude=("*.log",), dry_run=True, on_error="continue"
)


# -- the copy options -------------------------------------------------------------------------


def test_argparse_and_click_read_the_same_options_into_the_same_transfer_options():
    from_argparse = argparse_values(ALL_FLAGS)
    code, from_click, output = click_values(ALL_FLAGS)
    assert code == 0, output
    assert from_argparse["move"] is True and from_click["move"] is True
    assert transfer_options(from_argparse) == EXPECTED
    assert transfer_options(from_click) == EXPECTED


def test_no_flags_give_the_default_transfer_options_on_both_parsers():
    code, from_click, _ = click_values([])
    assert code == 0
    assert transfer_options(argparse_values([])) == TransferOptions()
    assert transfer_options(from_click) == TransferOptions()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--workers", "0"], "0"),
        (["--workers", "many"], "many"),
        (["--skip", "newer"], "newer"),
        (["--on-error", "ignore"], "ignore"),
    ],
)
def test_both_parsers_refuse_a_bad_value_naming_it(argv, words, capsys):
    with pytest.raises(SystemExit) as exited:
        argparse_values(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert argv[0] in err and words in err
    code, _, output = click_values(argv)
    assert code == 2
    assert argv[0] in output and words in output


def test_copy_options_can_leave_out_move_and_the_filters():
    names = [option.flag for option in copy_options(move=False)]
    assert "--move" not in names and "--include" in names
    assert names == [option.flag for option in COPY_OPTIONS if option.flag != "--move"]
    assert not {"--include", "--exclude", "--move"} & {
        option.flag for option in copy_options(move=False, filters=False)
    }
    code, _, output = click_values(["--move"], copy_options(move=False))
    assert code == 2 and "--move" in output


def test_transfer_options_ignores_what_is_not_a_transfer_option_and_applies_overrides():
    values = {"move": True, "skip": None, "include": (), "exclude": [], "workers": None, "verbosity": 3}
    assert transfer_options(values) == TransferOptions()
    assert transfer_options({"skip": "hash"}, dry_run=True) == TransferOptions(skip="hash", dry_run=True)
    with pytest.raises(ValueError, match="include pattern '/' is empty"):
        transfer_options({"include": ["/"]})


# -- MOUNT:PATH -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        ("docs/a.txt", "'docs/a.txt' is not MOUNT:PATH"),
        (":docs", "':docs' is not MOUNT:PATH"),
        ("nope:docs", "unknown mount 'nope' in 'nope:docs' (mounts: disk, mem, src)"),
        ("src:../etc/passwd", "'src:../etc/passwd': '..' segment refused"),
        ("src:a//b", "'src:a//b': empty path segment"),
    ],
)
def test_parse_node_refuses_bad_input_in_one_line(storage, text, message):
    with pytest.raises(ValueError) as refused:
        parse_node(storage, text)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_parse_node_gives_the_node(storage):
    node = parse_node(storage, "src:docs/")
    assert (node.mount_name, node.path, node.isdir) == ("src", "docs", True)
    assert parse_node(storage, "src:").path == ""


# -- the progress bar -------------------------------------------------------------------------


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as stderr does in an interactive shell."""

    def isatty(self) -> bool:
        return True


def test_the_progress_bar_draws_only_on_a_terminal_unless_told():
    step = TransferProgress(files_done=1, files_total=2, bytes_done=512, bytes_total=1024)
    quiet = io.StringIO()
    with ProgressBar(quiet) as bar:
        bar(step)
    assert not bar.enabled and quiet.getvalue() == ""
    for stream, enabled in ((Terminal(), None), (io.StringIO(), True)):
        with ProgressBar(stream, enabled=enabled, label="copying") as bar:
            bar(step)
            time.sleep(0.2)  # tqdm redraws at most every 0.1 s
            bar(TransferProgress(files_done=2, files_total=2, bytes_done=1024, bytes_total=1024))
        drawn = stream.getvalue()
        assert bar.enabled
        assert drawn.startswith("\rcopying:") and "2/2 files" in drawn and "100%" in drawn


# -- run_transfer -----------------------------------------------------------------------------


def test_run_transfer_copies_a_tree_with_the_options_and_draws_progress(storage):
    stream = io.StringIO()
    values = argparse_values(["--exclude", "*.log"])
    report = run_transfer(storage.node("src:docs"), storage.node("mem:copy"), values, stream=stream, progress=True)
    assert report.ok and sorted(report.copied) == ["a.txt", "deep/b.bin"]
    assert storage.node("mem:copy/deep/b.bin").read_bytes() == storage.node("src:docs/deep/b.bin").read_bytes()
    assert not storage.node("mem:copy/deep/c.log").exists
    assert stream.getvalue().startswith("\rcopying:")  # tqdm's first frame; later ones at most every 0.1 s
    summary = str(report)
    assert summary.startswith("src:docs -> mem:copy: copied 2 files") and "failed 0" in summary


def test_run_transfer_moves_when_asked(storage):
    stream = io.StringIO()
    values = {**argparse_values([]), "move": True}
    report = run_transfer(storage.node("src:docs"), storage.node("disk:moved"), values, stream=stream, progress=True)
    assert report.ok and report.moved and len(report.copied) == 3
    assert storage.node("disk:moved/deep/c.log").read_bytes() == b"log line\n"
    assert not storage.node("src:docs").exists and storage.node("src:top.txt").exists
    assert stream.getvalue().startswith("\rmoving:")


def test_run_transfer_skips_and_dry_runs(storage):
    src, dest = storage.node("src:docs"), storage.node("mem:copy")
    run_transfer(src, dest, {"include": ["a.txt"]}, progress=False)
    dry = run_transfer(src, dest, argparse_values(["--skip", "exists", "--dry-run"]), progress=False)
    assert dry.dry_run and dry.skipped == ["a.txt"] and sorted(dry.copied) == ["deep/b.bin", "deep/c.log"]
    assert str(dry).startswith("src:docs -> mem:copy: would copy 2 files")
    assert not storage.node("mem:copy/deep").exists


def test_run_transfer_collects_failures_with_on_error_continue(storage):
    # A file where the source has a folder: that part cannot be copied, the rest is.
    storage.node("mem:copy/deep").write_bytes(b"in the way")
    values = argparse_values(["--on-error", "continue"])
    report = run_transfer(storage.node("src:docs"), storage.node("mem:copy"), values, progress=False)
    assert not report.ok
    assert sorted(path for path, _ in report.failed) == ["deep/b.bin", "deep/c.log"]
    assert report.copied == ["a.txt"] and storage.node("mem:copy/a.txt").read_bytes() == b"alpha"
    assert "failed 2" in str(report) and "\n  failed deep/b.bin" in str(report)


def test_run_transfer_raises_the_first_failure_by_default(storage):
    with pytest.raises(StorageNotFoundError):
        run_transfer(storage.node("src:missing"), storage.node("mem:x"), {}, progress=False)


# -- listings ---------------------------------------------------------------------------------


def test_listing_records_of_a_folder(storage):
    records = list(listing_records(storage.node("src:docs")))
    assert [(r["path"], r["name"], r["type"]) for r in records] == [
        ("docs/a.txt", "a.txt", "file"),
        ("docs/deep", "deep", "directory"),
    ]
    assert records[0]["size"] == 5 and records[1]["size"] is None
    assert ISO_UTC.fullmatch(records[0]["mtime"])


def test_listing_records_recursive_from_one_walk(storage):
    has_folders = storage.get_backend("src").has_folders
    if has_folders:
        storage.node("src:docs/empty").mkdir()
    records = list(listing_records(storage.node("src:"), recursive=True))
    files = [r["path"] for r in records if r["type"] == "file"]
    assert files == ["docs/a.txt", "docs/deep/b.bin", "docs/deep/c.log", "top.txt"]
    assert {r["size"] for r in records if r["path"] == "docs/deep/b.bin"} == {3000}
    if has_folders:
        assert ("docs/empty", "directory") in [(r["path"], r["type"]) for r in records]


def test_listing_records_of_a_file_is_the_file(storage):
    (record,) = listing_records(storage.node("src:docs/a.txt"), recursive=True)
    assert (record["path"], record["type"], record["size"]) == ("docs/a.txt", "file", 5)


def test_listing_records_of_a_missing_path_raises(storage):
    with pytest.raises(FileNotFoundError):
        list(listing_records(storage.node("src:nothing/here")))


def test_listing_lines_short_and_long(storage):
    records = list(listing_records(storage.node("src:docs")))
    assert list(listing_lines(records, relative_to="docs")) == ["a.txt", "deep/"]
    assert list(listing_lines(records)) == ["docs/a.txt", "docs/deep/"]
    long = list(listing_lines(records, long=True, relative_to="docs"))
    size, mtime, name = long[0].split()
    assert (size, name) == ("5", "a.txt") and ISO_UTC.fullmatch(mtime)
    assert long[1].split()[0] == "-" and long[1].endswith("deep/")
    assert len({line.index(line.split()[-1]) for line in long}) == 1  # names in one column


# -- info and JSON ----------------------------------------------------------------------------


def test_info_record_of_a_file(storage):
    node = storage.node("src:docs/a.txt")
    record = info_record(node)
    assert record["node"] == "src:docs/a.txt" and record["mount"] == "src" and record["path"] == "docs/a.txt"
    assert record["type"] == "file" and record["size"] == 5 and record["mimetype"] == "text/plain"
    assert record["etag"] == node.etag and ISO_UTC.fullmatch(record["mtime"])
    assert record["capabilities"] == sorted(node.capabilities)
    json.loads(to_json(record))


def test_info_record_of_a_folder_has_no_size(storage):
    record = info_record(storage.node("src:docs"))
    assert record["type"] == "directory" and "size" not in record and "etag" not in record


def test_info_lines_align_values_and_show_lists_and_missing_values():
    record = {"node": "m:x", "mtime": None, "capabilities": ["rename", "presign"]}
    lines = list(info_lines(record))
    assert lines == ["node:         m:x", "mtime:        -", "capabilities: rename, presign"]


def test_to_json_keeps_non_ascii_and_indents():
    text = to_json({"name": "résumé ✓.pdf", "size": 3})
    assert "résumé ✓.pdf" in text and "\n  " in text
    assert json.loads(text) == {"name": "résumé ✓.pdf", "size": 3}


def test_listing_lines_never_print_control_characters():
    from genro_storage.console import listing_lines

    records = [{"path": "a\nb\rc.txt", "type": "file", "size": 1, "mtime": None}]
    assert list(listing_lines(records)) == ["a?b?c.txt"]
