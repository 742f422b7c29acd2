"""``manage.py storage_info MOUNT:PATH``: a file's or folder's metadata."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from genro_storage.console import info_lines, info_record, to_json

from ..base import StorageCommand


class Command(StorageCommand):
    help = "Show the metadata of a file or folder of a mount."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("target", metavar="MOUNT:PATH", help="a file or folder")
        parser.add_argument("--json", action="store_true", help="as JSON")

    def handle(self, *args: Any, target: str, json: bool, **options: Any) -> None:
        node = self.node(target)
        with self.failures():
            record = info_record(node)
        if json:
            self.stdout.write(to_json(record))
            return
        for line in info_lines(record):
            self.stdout.write(line)
