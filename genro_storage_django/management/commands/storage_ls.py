"""``manage.py storage_ls MOUNT:PATH``: list a folder (or show a file)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from genro_storage.console import listing_lines, listing_records, to_json

from ..base import StorageCommand


class Command(StorageCommand):
    help = "List a folder of a mount (or show a file)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("target", metavar="MOUNT:PATH", help="a folder or file (MOUNT: for the mount's root)")
        parser.add_argument("-l", "--long", action="store_true", help="show size and modification time")
        parser.add_argument("-R", "--recursive", action="store_true", help="every file below the folder")
        parser.add_argument("--json", action="store_true", help="the entries as JSON")

    def handle(self, *args: Any, target: str, long: bool, recursive: bool, json: bool, **options: Any) -> None:
        node = self.node(target)
        with self.failures():
            records = list(listing_records(node, recursive=recursive))
        if json:
            self.stdout.write(to_json(records))
            return
        for line in listing_lines(records, long=long, relative_to=node.path):
            self.stdout.write(line)
