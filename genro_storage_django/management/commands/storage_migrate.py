"""``manage.py storage_migrate app_label.Model.field --to MOUNT``: move a field's files to
another mount while the site keeps serving them.

Every file the field's rows name is copied to ``MOUNT`` (a copy already there with the
same bytes is reused; a different file of that name makes the copy take a free name),
verified (size and MD5), and only then is its row pointed at it, a batch of rows per
transaction, each row only if it still names the old file. Interrupted at any point, a
row names a file that exists; run again, it finishes without copying anything twice.
``--delete-source`` deletes each old file once no row names it, of the field or of any other
file field on a mount.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.management.base import CommandError, CommandParser

from genro_storage.migrate import COPIED, REUSED, FileMove, Migration, MigrationProgress

from ... import storage_manager
from ..base import StorageCommand, positive_int
from ..fieldrows import FieldRows, resolve_field

#: Batches of rows whose files are looked up, copied and verified together (one listing
#: of a folder serves them all), before each batch's rows are rewritten in a transaction.
ROUND_BATCHES = 20


class Command(StorageCommand):
    help = "Copy every file of a file field to another mount, verify it, and point the rows at the copies."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "label",
            metavar="app_label.Model.field",
            help="a MountFileField, MountImageField or FileField on GenroStorage",
        )
        parser.add_argument("--to", required=True, metavar="MOUNT", help="the mount the files go to")
        parser.add_argument("--dry-run", action="store_true", help="say what would be copied; change nothing")
        parser.add_argument(
            "--delete-source", action="store_true", help="delete each old file once no row of any file field names it"
        )
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=500,
            metavar="N",
            help=f"rows rewritten per transaction; files are copied {ROUND_BATCHES} batches at a time (default 500)",
        )
        parser.add_argument("--workers", type=positive_int, default=8, metavar="N", help="files copied at once")

    def handle(self, *args: Any, label: str, to: str, **options: Any) -> None:
        rows = self._rows(label, to, options)
        dry_run = options["dry_run"]
        total = rows.count()
        batch = options["batch_size"]
        migration = Migration(workers=options["workers"], dry_run=dry_run, round_size=ROUND_BATCHES * batch)
        rewritten = changed = 0
        with _Bar(self.progress_stream(), total, rows) as progress:
            migration.progress = progress
            for settled in self._rounds(migration, rows, total):
                if dry_run:
                    rewritten += rows.mount_bound * sum(move.outcome in (COPIED, REUSED) for move in settled)
                    continue
                for start in range(0, len(settled), batch):
                    done = rows.rewrite(settled[start : start + batch])
                    rewritten, changed = rewritten + len(done.rows), changed + done.changed
                    migration.report.failed.extend(done.refused)
                    if options["delete_source"]:
                        migration.delete_sources(rows.unreferenced(done.rows))
        report = migration.report
        report.failed[:0] = rows.unreadable
        self.stdout.write(f"{rows.label} -> {to}: {report}")
        verb = "would be rewritten" if dry_run else "rewritten"
        self.stdout.write(
            f"rows: {rewritten} {verb}, {rows.already} already on {to}, {changed} changed meanwhile (left as they are)"
        )
        for unread, exc in rows.unchecked.items():
            self.stderr.write(f"sources kept: {unread} could not be read to check they are unused ({exc})")
        if not rows.mount_bound and not dry_run:
            self.stdout.write(f"{rows.label} names no mount: its files are on {to!r} too; switch its storage there")
        if not report.ok:
            failed = len(report.failed)
            files = "file" if failed == 1 else "files"
            raise CommandError(f"{failed} {files} failed (listed above): their rows keep their old files")

    def _rounds(self, migration: Migration, rows: FieldRows, total: int) -> Iterator[list[FileMove]]:
        """The migration's rounds; a failure to read or write a mount stops it in one line."""
        with self.failures():
            yield from migration.run(rows.moves(), total=total)

    def _rows(self, label: str, to: str, options: dict[str, Any]) -> FieldRows:
        """The field's rows, once the arguments are known to be right."""
        storage = storage_manager()
        with self.failures():
            field = resolve_field(label)
            if to not in storage.mounts:
                raise ValueError(f"unknown mount {to!r} for --to (mounts: {', '.join(sorted(storage.mounts))})")
            rows = FieldRows(field, to, storage, page=options["batch_size"])
            if not options["dry_run"]:
                storage.get_mount(to).require_write("")
            if options["delete_source"]:
                if not rows.mount_bound:
                    raise ValueError(
                        f"--delete-source needs a mount-bound field: {label}'s rows name no mount, so its files "
                        f"stay where they are until its storage is switched to {to!r}"
                    )
                storage.get_mount(field.storage.mount_name).require_delete("")
        return rows


class _Bar:
    """A bar of rows done on a terminal (tqdm), as a migration's progress callback;
    nothing elsewhere."""

    def __init__(self, stream: Any, total: int, rows: FieldRows):
        self.stream, self.total, self.rows = stream, total, rows
        self.bar: Any = None

    def __call__(self, progress: MigrationProgress) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="file", desc="migrating", file=self.stream, leave=False)
        self.bar.set_postfix_str(f"copied {progress.copied}, reused {progress.reused}, failed {progress.failed}", False)
        self.bar.update(progress.done + self.rows.already + len(self.rows.unreadable) - self.bar.n)

    def __enter__(self) -> _Bar | None:
        isatty = getattr(self.stream, "isatty", None)
        return self if isatty and isatty() else None

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.close()
