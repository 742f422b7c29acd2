"""``manage.py storage_copy SRC DEST``: copy (or ``--move``) a file or folder between mounts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from genro_storage.console import copy_options, run_transfer

from ..base import StorageCommand


class Command(StorageCommand):
    help = "Copy a file or folder to another place, on any mount (a DEST ending in '/': into that folder)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", metavar="SRC", help="MOUNT:PATH of a file or folder")
        parser.add_argument("dest", metavar="DEST", help="MOUNT:PATH to copy it to")
        for option in copy_options():
            option.add_to(parser)

    def handle(self, *args: Any, source: str, dest: str, **values: Any) -> None:
        src, target = self.node(source), self.node(dest)
        if dest.endswith("/") and src.basename:
            target = target.child(src.basename)
        with self.failures():
            report = run_transfer(src, target, values, stream=self.progress_stream())
        self.stdout.write(str(report))
        if not report.ok:
            files = len(report.copied) + len(report.skipped) + len(report.failed)
            raise CommandError(f"{len(report.failed)} of {files} files failed (listed above)")
