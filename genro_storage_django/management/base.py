"""What the storage commands share: ``MOUNT:PATH`` arguments and failures as one line.

Each command parses its arguments, makes one call to the core (:mod:`genro_storage.console`,
:mod:`genro_storage.migrate`) and prints; a bad argument or a failed operation is a
``CommandError``: one line, exit status 1 (``manage.py``), raised (``call_command``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.core.management.base import BaseCommand, CommandError

from genro_storage import StorageError, StorageNode
from genro_storage.console import parse_node, whole_number

from .. import storage_manager

__all__ = ["StorageCommand", "positive_int"]


#: argparse type of a count option: a whole number of at least 1.
positive_int = whole_number(1)


class StorageCommand(BaseCommand):
    """A command on the mounts of ``GENRO_STORAGE``."""

    # The storage configuration's own checks run first (a bad mount fails there, with its
    # check id); URLs and the rest of the project are not imported, as for collectstatic.
    requires_system_checks = ["genro_storage"]

    @contextmanager
    def failures(self) -> Iterator[None]:
        """A failed operation or a bad value: ``CommandError`` with the error's one line."""
        try:
            yield
        except (StorageError, OSError, ValueError, TypeError, ImproperlyConfigured, SuspiciousFileOperation) as exc:
            raise CommandError(str(exc)) from None

    def node(self, text: str) -> StorageNode:
        """The node ``text`` (``MOUNT:PATH``) names."""
        with self.failures():
            return parse_node(storage_manager(), text)

    def progress_stream(self) -> IO[str]:
        """Where a progress bar draws: the command's stderr itself (its Django wrapper would
        end every write of the bar with a newline)."""
        return getattr(self.stderr, "_out", self.stderr)
