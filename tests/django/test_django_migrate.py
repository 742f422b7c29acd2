"""``manage.py storage_migrate``: a field's files move to another mount while every row
keeps naming a file that exists, through ``call_command`` on local, memory and S3 mounts,
and through a real ``manage.py`` process killed part-way and run again."""

from __future__ import annotations

import base64
import io
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test.utils import override_settings
from helpers import mount_config, server_for, snapshot
from testapp.models import Document, Located, Picture, Plain

from genro_storage import StorageManager
from genro_storage.migrate import Migration
from genro_storage_django import storage_manager
from genro_storage_django.management.fieldrows import FieldRows, resolve_field

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIELD = "testapp.Document.file"
# A 1x1 PNG, so that MountImageField's dimensions can be read.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture(params=[("local", "s3"), ("s3", "local"), ("memory", "memory"), ("local", "local")], ids="-to-".join)
def storage(request, tmp_path):
    """Mount ``a`` (the fields' mount) of one kind and ``b`` (where files go) of another."""
    source, target = request.param
    config = [
        mount_config(source, "a", tmp_path, server_for(source, request)),
        mount_config(target, "b", tmp_path, server_for(target, request)),
    ]
    with override_settings(GENRO_STORAGE={"MOUNTS": config, "DEFAULT_MOUNT": "a"}):
        yield storage_manager()


def documents(storage, count: int) -> list[Document]:
    """``count`` rows, each with its own file on ``a`` (every other one named without its mount)."""
    rows = []
    for index in range(count):
        storage.node(f"a:docs/f{index}.txt").write_bytes(f"content {index}".encode())
        name = f"a:docs/f{index}.txt" if index % 2 else f"docs/f{index}.txt"
        rows.append(Document.objects.create(title=str(index), file=name))
    return rows


def migrate(*args: str, stderr: io.StringIO | None = None) -> str:
    out = io.StringIO()
    call_command("storage_migrate", *args, stdout=out, stderr=stderr or io.StringIO())
    return out.getvalue()


def values() -> dict[int, str]:
    return dict(Document.objects.values_list("pk", "file"))


@pytest.mark.django_db
def test_every_row_ends_on_a_verified_copy_and_a_second_run_copies_nothing(storage):
    rows = documents(storage, 12)
    twin = Document.objects.create(file="a:docs/f3.txt")  # two rows, one file
    Document.objects.create(file="")  # no file: nothing to do
    storage.node("b:docs/there.txt").write_bytes(b"already moved")
    Document.objects.create(file="b:docs/there.txt")

    output = migrate(FIELD, "--to", "b", "--batch-size", "5")
    assert "testapp.Document.file -> b: copied 12 files" in output and "reused 1" in output
    assert "rows: 13 rewritten, 1 already on b, 0 changed meanwhile" in output
    for row in rows + [twin]:
        row.refresh_from_db()
        assert row.file.name.startswith("b:docs/f") and row.file.mount == "b"
    assert {row.file.read() for row in rows} == {f"content {index}".encode() for index in range(12)}
    twin.refresh_from_db()
    assert twin.file.name == "b:docs/f3.txt"
    assert storage.node("a:docs/f0.txt").exists  # sources stay without --delete-source

    again = migrate(FIELD, "--to", "b")
    assert "copied 0 files" in again and "reused 0" in again and "rows: 0 rewritten, 14 already on b" in again


@pytest.mark.django_db
def test_dry_run_changes_nothing(storage):
    documents(storage, 6)
    before = (values(), snapshot(storage, "a"), snapshot(storage, "b"))
    output = migrate(FIELD, "--to", "b", "--dry-run", "--delete-source")
    assert "would copy 6 files" in output and "rows: 6 would be rewritten" in output
    assert (values(), snapshot(storage, "a"), snapshot(storage, "b")) == before


@pytest.mark.django_db
def test_delete_source_removes_each_old_file_no_row_names(storage):
    rows = documents(storage, 6)
    Document.objects.create(file="a:docs/f2.txt")  # shares f2 with a row named without its mount
    output = migrate(FIELD, "--to", "b", "--delete-source", "--batch-size", "2")
    assert "sources deleted 6" in output and "rows: 7 rewritten" in output
    assert [path for path in snapshot(storage, "a") if not path.endswith("/")] == []
    for row in rows:
        row.refresh_from_db()
        assert row.file.read() == f"content {row.title}".encode()


@pytest.mark.django_db
def test_delete_source_keeps_a_file_another_field_still_names(storage):
    documents(storage, 7)
    # Other fields naming f0..f4 however they spell them; f5 and f6 are named by no one else.
    Plain.objects.create(normal="docs//f0.txt")
    Plain.objects.create(normal="./docs/f1.txt")
    Plain.objects.create(normal="docs\\f2.txt")
    Located.objects.create(file="f3.txt")  # its storage's location is docs/
    Picture.objects.create(image="a:docs/f4.txt")
    Plain.objects.create(normal="other/f5.txt")  # the same file name, another file
    output = migrate(FIELD, "--to", "b", "--delete-source")
    assert "sources deleted 2" in output and "rows: 7 rewritten" in output
    for index in range(5):
        assert storage.node(f"a:docs/f{index}.txt").read_bytes() == f"content {index}".encode()
    assert not storage.node("a:docs/f5.txt").exists and not storage.node("a:docs/f6.txt").exists
    assert all(row.file.name.startswith("b:") for row in Document.objects.all())


@pytest.mark.django_db
def test_delete_source_keeps_every_file_when_a_field_cannot_be_read(storage):
    from django.db import connection

    documents(storage, 2)
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute(f"DROP TABLE {Plain._meta.db_table}")
        cursor.execute(f"DROP TABLE {Located._meta.db_table}")
    err = io.StringIO()
    output = migrate(FIELD, "--to", "b", "--delete-source", stderr=err)
    assert "sources deleted 0" in output and "rows: 2 rewritten" in output
    assert "sources kept: testapp.Plain.normal could not be read" in err.getvalue()
    assert "sources kept: testapp.Located.file could not be read" in err.getvalue()
    assert storage.node("a:docs/f0.txt").exists and storage.node("a:docs/f1.txt").exists


@pytest.mark.django_db
def test_an_identical_copy_is_reused_a_different_file_makes_a_free_name(storage):
    rows = documents(storage, 3)
    storage.node("b:docs/f0.txt").write_bytes(b"content 0")  # the same bytes: reused
    storage.node("b:docs/f1.txt").write_bytes(b"someone else's")  # another file: left alone
    output = migrate(FIELD, "--to", "b")
    assert "copied 2 files" in output and "reused 1" in output
    names = {row.title: row.file.name for row in Document.objects.all()}
    assert names == {"0": "b:docs/f0.txt", "1": "b:docs/f1_1.txt", "2": "b:docs/f2.txt"}
    assert storage.node("b:docs/f1.txt").read_bytes() == b"someone else's"
    assert storage.node("b:docs/f1_1.txt").read_bytes() == b"content 1"

    # Interrupted before its row was rewritten, a re-run finds the free name's copy again.
    Document.objects.filter(pk=rows[1].pk).update(file="a:docs/f1.txt")
    again = migrate(FIELD, "--to", "b")
    assert "copied 0 files" in again and "reused 1" in again
    assert Document.objects.get(pk=rows[1].pk).file.name == "b:docs/f1_1.txt"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.django_db
def test_a_progress_bar_on_a_terminal_only(storage):
    documents(storage, 30)
    terminal, pipe = Terminal(), io.StringIO()
    call_command("storage_migrate", FIELD, "--to", "b", "--batch-size", "1", stdout=io.StringIO(), stderr=terminal)
    assert "migrating:" in terminal.getvalue() and "/30 [" in terminal.getvalue()  # tqdm: done/total
    Document.objects.update(file="a:docs/f0.txt")
    call_command("storage_migrate", FIELD, "--to", "b", stdout=io.StringIO(), stderr=pipe)
    assert pipe.getvalue() == ""


@pytest.mark.django_db
def test_a_missing_file_is_reported_and_its_row_left_alone(storage):
    documents(storage, 2)
    lost = Document.objects.create(file="a:docs/lost.txt")
    output = migrate(FIELD, "--to", "b")
    assert "missing 1" in output and "missing a:docs/lost.txt" in output and "rows: 2 rewritten" in output
    assert Document.objects.get(pk=lost.pk).file.name == "a:docs/lost.txt"


@pytest.mark.django_db
def test_a_row_edited_meanwhile_keeps_its_edit_and_its_file(storage):
    rows = documents(storage, 4)
    shared = Document.objects.create(file="a:docs/f2.txt")  # f2's other row, named with the mount
    field_rows = FieldRows(resolve_field(FIELD), "b", storage)
    migration = Migration(workers=2)
    (settled,) = list(migration.run(field_rows.moves()))
    storage.node("a:docs/new.txt").write_bytes(b"edited")
    Document.objects.filter(pk=rows[0].pk).update(file="a:docs/new.txt")  # an edit in the site
    Document.objects.filter(pk=shared.pk).update(file="docs/f2.txt")  # the same file, renamed
    done = field_rows.rewrite(settled)
    assert done.changed == 2 and len(done.rows) == 3
    assert Document.objects.get(pk=rows[0].pk).file.name == "a:docs/new.txt"
    assert Document.objects.get(pk=shared.pk).file.name == "docs/f2.txt"
    migration.delete_sources(field_rows.unreferenced(done.rows))
    assert storage.node("a:docs/f2.txt").exists  # a row still names it
    assert storage.node("a:docs/f0.txt").exists  # its row was never rewritten: deletion was not asked
    assert not storage.node("a:docs/f1.txt").exists and not storage.node("a:docs/f3.txt").exists


@pytest.mark.django_db
def test_small_rounds_in_a_growing_folder_ask_file_by_file_and_still_verify(storage):
    documents(storage, 25)
    storage.node("b:docs/f7.txt").write_bytes(b"content 7")  # reused, in a later round
    storage.node("b:docs/f20.txt").write_bytes(b"not content 20")  # a free name, in a later round
    field_rows = FieldRows(resolve_field(FIELD), "b", storage)
    migration = Migration(workers=3, round_size=2)  # the folder soon outgrows a listing of two rounds
    settled = [move for moves in migration.run(field_rows.moves()) for move in moves]
    assert [move.outcome for move in settled].count("copied") == 24
    assert {move.source.path: move.copy.path for move in settled if move.outcome == "reused"} == {
        "docs/f7.txt": "docs/f7.txt"
    }
    assert {m.source.path: m.copy.path for m in settled if m.copy.path.endswith("_1.txt")} == {
        "docs/f20.txt": "docs/f20_1.txt"
    }
    for move in settled:
        assert move.copy.read_bytes() == move.source.read_bytes()


@pytest.mark.django_db
def test_a_copy_that_fails_keeps_its_row_on_the_old_file(tmp_path):
    mounts = [mount_config("local", "a", tmp_path, None), mount_config("local", "b", tmp_path, None)]
    with override_settings(GENRO_STORAGE={"MOUNTS": mounts, "DEFAULT_MOUNT": "a"}):
        storage = storage_manager()
        rows = documents(storage, 3)
        storage.node("b:docs").write_bytes(b"a file where the folder should be")  # no disk can copy below it
        out = io.StringIO()
        with pytest.raises(CommandError, match="3 files failed"):
            call_command("storage_migrate", FIELD, "--to", "b", stdout=out, stderr=io.StringIO())
        assert "failed 3" in out.getvalue() and "failed a:docs/f0.txt" in out.getvalue()
        assert values() == {row.pk: row.file.name for row in rows}


@pytest.mark.django_db
def test_a_free_name_longer_than_the_column_fails_its_row(storage):
    name = "docs/" + "n" * 88 + ".txt"  # 'a:' + 97 characters: the column's 100, and no room for '_1'
    storage.node(f"a:{name}").write_bytes(b"mine")
    storage.node(f"b:{name}").write_bytes(b"another")
    row = Document.objects.create(file=f"a:{name}")
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 file failed"):
        call_command("storage_migrate", FIELD, "--to", "b", stdout=out, stderr=io.StringIO())
    assert "max_length 100" in out.getvalue()
    assert Document.objects.get(pk=row.pk).file.name == f"a:{name}"


@pytest.mark.django_db
def test_an_image_field_moves_with_its_dimensions(storage):
    storage.node("a:pictures/dot.png").write_bytes(PNG)
    picture = Picture.objects.create(image="a:pictures/dot.png", width=1, height=1)
    assert "copied 1 file" in migrate("testapp.Picture.image", "--to", "b")
    picture.refresh_from_db()
    assert picture.image.name == "b:pictures/dot.png" and picture.image.read() == PNG
    assert (picture.width, picture.height) == (1, 1)


@pytest.mark.django_db
def test_a_plain_file_field_is_copied_under_the_same_names(storage):
    storage.node("a:tests/x.txt").write_bytes(b"plain")
    storage.node("a:tests/y.txt").write_bytes(b"why")
    rows = [Plain.objects.create(normal="tests/x.txt"), Plain.objects.create(normal="tests/y.txt")]
    output = migrate("testapp.Plain.normal", "--to", "b")
    assert "copied 2 files" in output and "switch its storage there" in output
    assert storage.node("b:tests/x.txt").read_bytes() == b"plain"
    assert [Plain.objects.get(pk=row.pk).normal.name for row in rows] == ["tests/x.txt", "tests/y.txt"]
    with pytest.raises(CommandError, match="--delete-source needs a mount-bound field"):
        migrate("testapp.Plain.normal", "--to", "b", "--delete-source")
    storage.node("b:tests/y.txt").write_bytes(b"different")  # its rows cannot take another name
    with pytest.raises(CommandError, match="1 file failed"):
        migrate("testapp.Plain.normal", "--to", "b")
    assert storage.node("a:tests/y.txt").read_bytes() == b"why"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("testapp.Document", "--to", "b"), "is not app_label.Model.field"),
        (("testapp.Nope.file", "--to", "b"), "Nope"),
        (("nowhere.Document.file", "--to", "b"), "nowhere"),
        (("testapp.Document.nope", "--to", "b"), "Document has no field 'nope'"),
        (("testapp.Document.title", "--to", "b"), "is a CharField, not a file field"),
        ((FIELD, "--to", "zz"), "unknown mount 'zz' for --to"),
        ((FIELD, "--to", "b", "--batch-size", "0"), "must be at least 1"),
        ((FIELD, "--to", "b", "--workers", "none"), "expected a whole number"),
        ((FIELD,), "--to"),
        ((FIELD, "--to", "ro"), "readonly"),
        ((FIELD, "--to", "b", "--delete-source"), "deleting needs permissions 'delete'"),
    ],
)
@pytest.mark.django_db
def test_bad_input_is_one_command_error(tmp_path, args, message):
    mounts = [
        {"name": "a", "type": "local", "path": str(tmp_path / "a"), "permissions": "readwrite"},
        {"name": "b", "type": "memory"},
        {"name": "ro", "type": "memory", "permissions": "readonly"},
    ]
    with override_settings(GENRO_STORAGE={"MOUNTS": mounts, "DEFAULT_MOUNT": "a"}):
        storage_manager().node("a:docs/f.txt").write_bytes(b"f")
        Document.objects.create(file="a:docs/f.txt")
        with pytest.raises(CommandError) as raised:
            migrate(*args)
        assert message in str(raised.value) and "\n" not in str(raised.value)
        assert values() == {Document.objects.get().pk: "a:docs/f.txt"}


# -- a real process, killed part-way ---------------------------------------------------------


class Site:
    """tests/django/manage.py on an SQLite file and mounts ``a`` (local) and ``b``, with the
    rows written straight into its database, and a watcher that checks, for as long as it
    runs, that every row names a file that exists."""

    def __init__(self, tmp_path: Path, target: dict, count: int):
        self.settings = {"MOUNTS": [mount_config("local", "a", tmp_path, None), target], "DEFAULT_MOUNT": "a"}
        self.db = tmp_path / "site.sqlite3"
        self.storage = StorageManager()
        self.storage.configure(self.settings["MOUNTS"])
        self.env = {
            **os.environ,
            "GENRO_TEST_STORAGE": json.dumps(self.settings),
            "GENRO_TEST_DB": str(self.db),
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        created = self.manage("migrate", "--run-syncdb", "--skip-checks", "-v0")
        assert created.returncode == 0, created.stderr
        for index in range(count):
            self.storage.node(f"a:docs/f{index:04d}.txt").write_bytes(f"file {index}".encode())
        with sqlite3.connect(self.db) as db:
            db.executemany(
                "INSERT INTO testapp_document (title, file) VALUES (?, ?)",
                [(str(index), f"a:docs/f{index:04d}.txt") for index in range(count)],
            )
        self.violations: list[str] = []
        self.passes = 0
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, str(HERE / "manage.py"), *args]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=300)

    def start_migrate(self, *args: str) -> subprocess.Popen:
        command = [sys.executable, str(HERE / "manage.py"), "storage_migrate", FIELD, "--to", "b", *args]
        return subprocess.Popen(command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def rows(self) -> dict[int, str]:
        with sqlite3.connect(self.db, timeout=30) as db:
            return dict(db.execute("SELECT id, file FROM testapp_document"))

    def files(self, mount: str) -> set[str]:
        return {rel for rel, info in self.storage.node(mount, "docs").walk_files() if info["type"] == "file"}

    def _watch(self) -> None:
        # Rows first, then the files: a row read before its file was listed names an older
        # state, so a row whose file is not listed is read again and its file asked again.
        while not self._stop.is_set():
            rows = self.rows()
            present = {"a": self.files("a"), "b": self.files("b") if self.storage.node("b:docs").exists else set()}
            for pk, value in rows.items():
                mount, _, path = value.partition(":")
                if path.removeprefix("docs/") in present[mount]:
                    continue
                now = self.rows().get(pk)
                if now == value and not self.storage.node(value).exists:
                    self.violations.append(f"row {pk} names {value}, which does not exist")
            self.passes += 1

    def __enter__(self) -> Site:
        self._watcher.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._watcher.join(timeout=60)


def kill_when(proc: subprocess.Popen, ready, timeout: float = 120) -> None:
    """SIGKILL ``proc`` (ours) as soon as ``ready()`` holds."""
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            assert proc.poll() is None, f"finished before it could be killed: {proc.communicate()}"
            assert time.monotonic() < deadline, "never got there"
            time.sleep(0.02)
    finally:
        proc.kill()
        proc.communicate(timeout=30)


@pytest.mark.parametrize("target_kind", ["s3", "local"])
def test_killed_part_way_then_run_again(target_kind, tmp_path, request):
    count = 600
    target = mount_config(target_kind, "b", tmp_path, server_for(target_kind, request))
    with Site(tmp_path, target, count) as site:
        # Killed while copying (the first round's files are landing on b)...
        proc = site.start_migrate("--batch-size", "20", "--workers", "2")
        kill_when(proc, lambda: site.storage.node("b:docs").exists and len(site.files("b")) >= 100)
        # ... then while rows are being rewritten, in a later round.
        proc = site.start_migrate("--batch-size", "20", "--workers", "2")
        kill_when(proc, lambda: sum(v.startswith("b:") for v in site.rows().values()) >= 250)
        landed = len(site.files("b"))
        moved = sum(value.startswith("b:") for value in site.rows().values())
        assert 0 < moved < count
        finished = site.manage("storage_migrate", FIELD, "--to", "b", "--batch-size", "20")
        assert finished.returncode == 0, finished.stderr
    assert site.passes > 10 and site.violations == []
    # Nothing copied twice: what had landed is reused, only the rest is copied.
    assert f"copied {count - landed} files" in finished.stdout and f"reused {landed - moved}," in finished.stdout
    assert f"rows: {count - moved} rewritten, {moved} already on b" in finished.stdout
    rows = site.rows()
    assert all(value == f"b:docs/f{int(pk) - 1:04d}.txt" for pk, value in rows.items())
    assert all(site.storage.node(value).read_bytes() == f"file {int(pk) - 1}".encode() for pk, value in rows.items())


def test_killed_while_deleting_sources_then_run_again(tmp_path, request):
    count = 400
    target = mount_config("s3", "b", tmp_path, server_for("s3", request))
    with Site(tmp_path, target, count) as site:
        proc = site.start_migrate("--batch-size", "20", "--workers", "2", "--delete-source")
        kill_when(proc, lambda: len(site.files("a")) <= count - 60)
        finished = site.manage("storage_migrate", FIELD, "--to", "b", "--batch-size", "20", "--delete-source")
        assert finished.returncode == 0, finished.stderr
    assert site.passes > 5 and site.violations == []
    rows = site.rows()
    assert all(value.startswith("b:") for value in rows.values())
    assert all(site.storage.node(value).read_bytes() == f"file {int(pk) - 1}".encode() for pk, value in rows.items())
    # Only the sources of the batch whose rows were committed just before the kill remain.
    assert len(site.files("a")) <= 20
