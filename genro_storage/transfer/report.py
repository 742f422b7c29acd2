"""What a transfer tells its caller: progress while it runs, a report when it ends.

The engine only counts; front ends format (a progress bar, a summary line), the way
``collectstatic`` keeps its work apart from its printing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..node import StorageNode

__all__ = ["TransferProgress", "TransferReport", "ProgressCounter", "PROGRESS_INTERVAL"]


@dataclass
class TransferProgress:
    """What a progress callback receives: counts so far and the totals planned."""

    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    current: str = ""


@dataclass
class TransferReport:
    """The outcome of a copy or move: what was copied, skipped and failed, bytes and time."""

    source: str
    dest: StorageNode
    moved: bool = False
    dry_run: bool = False
    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, BaseException]] = field(default_factory=list)
    bytes: int = 0
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    def __str__(self) -> str:
        if self.dry_run:
            verb = "would move" if self.moved else "would copy"
        else:
            verb = "moved" if self.moved else "copied"
        mb = self.bytes / 1e6
        rate = ""
        if self.elapsed > 0 and self.bytes >= 1e6 and not self.dry_run:  # a rate over less is noise
            rate = f", {mb / self.elapsed:.1f} MB/s"
        files = "file" if len(self.copied) == 1 else "files"
        text = (
            f"{self.source} -> {self.dest.fullpath}: {verb} {len(self.copied)} {files} ({mb:.2f} MB), "
            f"skipped {len(self.skipped)}, failed {len(self.failed)} in {self.elapsed:.2f}s{rate}"
        )
        for path, exc in self.failed[:10]:
            text += f"\n  failed {path}: {exc}"
        if len(self.failed) > 10:
            text += f"\n  ... and {len(self.failed) - 10} more"
        return text


#: Least seconds between two progress calls made while files are still being copied (a
#: file finishing is always reported, and so are the final totals).
PROGRESS_INTERVAL = 0.1


class ProgressCounter:
    """The counts a progress callback sees, fed from every worker (and from the clients'
    own threads, chunk by chunk), delivered one call at a time, never going backwards."""

    def __init__(self, callback: Callable[[TransferProgress], Any] | None, files_total: int, bytes_total: int):
        self.callback = callback
        self.files_total = files_total
        self.bytes_total = bytes_total
        self.files = 0
        self.bytes = 0
        self.counting = threading.Lock()  # guards the counts
        self.calling = threading.Lock()  # held during a call: calls never overlap
        self.delivered: tuple[int, int] | None = None
        self.last_call = 0.0

    def chunks(self, item: Any) -> Callable[[int], None] | None:
        """A callable receiving the bytes of ``item`` as they move (None: nobody listens)."""
        if self.callback is None:
            return None

        def moved(count: int) -> None:
            with self.counting:
                count = min(count, item.size - item.sent)  # a client rewinding a retry, a file that grew
                if count <= 0:
                    return
                item.sent += count
                self.bytes += count
            if time.monotonic() - self.last_call >= PROGRESS_INTERVAL:
                self.deliver(item.rel, wait=False)  # busy delivering: a later call shows these bytes

        return moved

    def finished(self, item: Any, copied: bool) -> None:
        """``item`` is done: copied or skipped (all its bytes count), or failed."""
        with self.counting:
            self.files += 1
            if copied:
                self.bytes += item.size - item.sent
                item.sent = item.size
        self.deliver(item.rel, wait=True)

    def deliver(self, current: str = "", wait: bool = True) -> None:
        """Call back with the counts as they are now, unless that was the last call."""
        if self.callback is None or not self.calling.acquire(blocking=wait):
            return
        try:
            with self.counting:
                counts = (self.files, self.bytes)
            if counts == self.delivered:
                return
            self.delivered = counts
            self.last_call = time.monotonic()
            self.callback(TransferProgress(counts[0], self.files_total, counts[1], self.bytes_total, current))
        finally:
            self.calling.release()
