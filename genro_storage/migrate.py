"""Move many files to new places and prove every copy: the core of ``storage_migrate``.

A migration is a stream of :class:`FileMove` (a source node, the target it should be
copied to, and the caller's tag, such as a database row). :class:`Migration` settles them
a round at a time: it looks up both sides, reuses a target that already holds the same
bytes (so a re-run after an interruption copies nothing twice), gives a free name to a
move whose target holds a different file, copies the rest on worker threads with the
transfer engine's fastest path, and verifies each copy (size and MD5) before the round
is handed back. The caller then points its references at the copies and, if it wants,
calls :meth:`Migration.delete_sources`. Nothing here ever deletes or replaces a file on
the target side, so a reference is never left pointing at nothing.

Metadata comes from the cheapest place: one listing of a folder where that costs less
than a request per file (object stores list a thousand entries per request, with their
MD5), otherwise one ``info()`` per file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from .transfer import copy_file, same_file
from .transfer.engine import run_in_threads

if TYPE_CHECKING:
    from .node import StorageNode

__all__ = ["FileMove", "Migration", "MigrationProgress", "MigrationReport", "COPIED", "REUSED", "MISSING", "FAILED"]

#: Outcomes of a move: copied and verified; the target already held the same bytes; no
#: source file; failed (``move.error`` says why). A dry run settles moves as COPIED or
#: REUSED without writing anything.
COPIED, REUSED, MISSING, FAILED = "copied", "reused", "missing", "failed"

#: Moves looked up, copied and verified together (by default). One listing of a folder
#: serves every move of the round that lies in it, so larger rounds list less; the memory
#: held grows with the round, never with the whole migration.
ROUND_SIZE = 10000
#: Entries a listing returns for the cost of one metadata request (S3 lists 1,000 per
#: request; a local emulator about 8 for the time of one HEAD): a folder is listed when
#: that reads fewer than this many entries per file wanted, else each file is asked.
ENTRIES_PER_REQUEST = 8
#: Rounds' worth of entries a folder may hold and still be listed: a listing is held in
#: memory whole, so a larger folder is asked file by file and memory stays bounded by the
#: round, whatever the folder's size.
LISTED_ROUNDS = 2
#: Free names tried (``name_1.ext``, ``name_2.ext``...) before a move fails.
FREE_NAMES = 100


@dataclass(eq=False, slots=True)
class FileMove:
    """One file to migrate, and (once its round is settled) what became of it.

    ``rename``: when the target holds a different file, copy to a free name beside it
    (the caller records the new name); otherwise the move fails.
    """

    source: StorageNode
    target: StorageNode
    tag: Any = None
    rename: bool = True
    outcome: str = ""
    copy: StorageNode | None = None  # the verified copy: the target, or a free name beside it
    size: int = 0
    error: BaseException | None = None
    _src: dict[str, Any] | None = field(default=None, init=False, repr=False)
    _src_md5: str | None = field(default=None, init=False, repr=False)
    _leader: FileMove | None = field(default=None, init=False, repr=False)  # the same file's move, same round


@dataclass
class MigrationProgress:
    """What a progress callback receives: moves settled so far, of ``total`` (None if unknown)."""

    done: int
    total: int | None
    copied: int
    reused: int
    failed: int


@dataclass
class MigrationReport:
    """Counts of a migration run, kept as its rounds settle."""

    dry_run: bool = False
    copied: int = 0
    reused: int = 0
    missing: list[str] = field(default_factory=list)
    failed: list[tuple[str, BaseException]] = field(default_factory=list)
    deleted: int = 0
    bytes: int = 0
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def settled(self) -> int:
        return self.copied + self.reused + len(self.missing) + len(self.failed)

    def __str__(self) -> str:
        verb = "would copy" if self.dry_run else "copied"
        files = "file" if self.copied == 1 else "files"
        reuse = "would reuse" if self.dry_run else "reused"
        done = self.copied + self.reused
        rate = f", {done / self.elapsed:.0f} files/s" if self.elapsed > 0 and done else ""
        text = (
            f"{verb} {self.copied} {files} ({self.bytes / 1e6:.2f} MB), {reuse} {self.reused}, "
            f"missing {len(self.missing)}, failed {len(self.failed)}, sources deleted {self.deleted} "
            f"in {self.elapsed:.2f}s{rate}"
        )
        for path in self.missing[:10]:
            text += f"\n  missing {path}"
        for path, exc in self.failed[:10]:
            text += f"\n  failed {path}: {exc}"
        hidden = max(0, len(self.missing) - 10) + max(0, len(self.failed) - 10)
        if hidden:
            text += f"\n  ... and {hidden} more"
        return text


class MigrationError(OSError):
    """A copy that does not hold what its source does (it is kept, and never referenced)."""


def _brief(info: dict[str, Any]) -> dict[str, Any]:
    """What a migration compares of a file's metadata (a listing of many files keeps no more)."""
    return {"type": info["type"], "size": info.get("size"), "md5": info.get("md5")}


def _info_or_none(node: StorageNode) -> dict[str, Any] | None:
    try:
        return _brief(node.info())
    except (FileNotFoundError, NotADirectoryError):
        return None


def _same(info_a: dict[str, Any], md5_a: Callable[[], str], info_b: dict[str, Any], md5_b: Callable[[], str]) -> bool:
    """Whether two files hold the same bytes: sizes first, then MD5 (the service's, or read)."""
    if info_a["type"] != "file" or info_b["type"] != "file" or info_a["size"] != info_b["size"]:
        return False
    return (info_a.get("md5") or md5_a()) == (info_b.get("md5") or md5_b())


def _folder_key(node: StorageNode) -> tuple[str, str]:
    return node.mount_name, node.path.rpartition("/")[0]


class _Workers:
    """``size`` threads calling a function on each item of a list (the transfer engine's
    :func:`~genro_storage.transfer.engine.run_in_threads`). Once :attr:`stopped` is set no
    item starts; the calls under way finish."""

    def __init__(self, size: int):
        self.size = size
        self.stopped = threading.Event()

    def each(self, function: Callable[[Any], Any], items: list[Any]) -> None:
        run_in_threads(function, items, self.size, cancel=self.stopped)
        if self.stopped.is_set():
            raise InterruptedError("the migration was stopped")

    def map(self, function: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """``[function(item) for item in items]``, from the threads."""
        results: list[Any] = [None] * len(items)

        def one(pair: tuple[int, Any]) -> None:
            results[pair[0]] = function(pair[1])

        self.each(one, list(enumerate(items)))
        return results


class _Lookup:
    """``info()`` of many nodes at once: one listing per folder where that is cheaper than a
    request per node (remembering how large each folder was), else a request per node.

    A listing taken with ``keep`` (the verification of a round's copies) also answers the
    next lookup in that folder (the next round's targets), so a folder that fills up
    round after round is listed once per round, not twice.
    """

    def __init__(self, workers: _Workers, most: int):
        self.workers = workers
        self.most = most  # entries of the largest folder worth listing
        self.folder_sizes: dict[tuple[str, str], int] = {}
        self.kept: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}

    def infos(self, nodes: list[StorageNode], keep: bool = False) -> list[dict[str, Any] | None]:
        found: list[dict[str, Any] | None] = [None] * len(nodes)
        folders: dict[tuple[str, str], list[int]] = {}
        for index, node in enumerate(nodes):
            folders.setdefault(_folder_key(node), []).append(index)
        kept, listed, asked = [], [], []
        if keep:
            self.kept = {}  # only the latest round's listings: they answer the next round
        for key, indexes in folders.items():
            if not keep and key in self.kept:
                kept.append((indexes, self.kept.pop(key)))
            elif self.folder_sizes.get(key, 0) <= min(ENTRIES_PER_REQUEST * len(indexes), self.most):
                listed.append(indexes)
            else:
                asked.extend(indexes)
        listings = self.workers.map(lambda indexes: self._list(nodes[indexes[0]], keep), listed)
        for indexes, entries in [*kept, *zip(listed, listings, strict=True)]:
            for index in indexes:
                found[index] = entries.get(nodes[index].basename)
        for index, info in zip(asked, self.workers.map(lambda index: _info_or_none(nodes[index]), asked), strict=True):
            found[index] = info
        return found

    def _list(self, node: StorageNode, keep: bool) -> dict[str, dict[str, Any]]:
        try:
            entries = {child.basename: _brief(info) for child, info in node.parent.entries()}
        except (FileNotFoundError, NotADirectoryError):
            entries = {}
        key = _folder_key(node)
        self.folder_sizes[key] = len(entries)
        if keep:
            self.kept[key] = entries
        return entries


class Migration:
    """Settles :class:`FileMove` streams a round at a time (see the module's docstring).

    ``workers`` threads look up, copy and hash; ``dry_run`` looks everything up and
    writes nothing; ``progress(MigrationProgress)`` is called as moves settle (one call
    at a time).
    """

    def __init__(
        self,
        *,
        workers: int = 8,
        dry_run: bool = False,
        progress: Callable[[MigrationProgress], Any] | None = None,
        round_size: int = ROUND_SIZE,
    ):
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a whole number of at least 1, not {workers!r}")
        if isinstance(round_size, bool) or not isinstance(round_size, int) or round_size < 1:
            raise ValueError(f"round_size must be a whole number of at least 1, not {round_size!r}")
        self.workers = workers
        self.dry_run = dry_run
        self.progress = progress
        self.round_size = round_size
        self.report = MigrationReport(dry_run=dry_run)
        self.total: int | None = None
        self._lock = threading.Lock()
        self._steps = 0  # copies done in the round not yet settled
        self._workers: _Workers | None = None

    def run(self, moves: Iterable[FileMove], total: int | None = None) -> Iterator[list[FileMove]]:
        """Settle ``moves`` (read lazily, ``round_size`` at a time), yielding each round's
        moves once every one has its outcome. ``total`` is shown by the progress."""
        self.total = total
        started = time.perf_counter() - self.report.elapsed
        stream = iter(moves)
        workers = self._workers = _Workers(self.workers)
        lookup = _Lookup(workers, LISTED_ROUNDS * self.round_size)
        try:
            while batch := list(islice(stream, self.round_size)):
                self._settle(batch, workers, lookup)
                self.report.elapsed = time.perf_counter() - started
                yield batch
        finally:
            # Interrupted (Ctrl-C, the caller stopping): no other file starts; the copies
            # under way finish, each landing whole or not at all.
            workers.stopped.set()
            self._workers = None
        self.report.elapsed = time.perf_counter() - started

    def delete_sources(self, moves: Iterable[FileMove]) -> int:
        """Delete the sources of moves whose copies were verified (COPIED or REUSED), once
        the caller's references point at the copies (between two rounds of :meth:`run`).
        A source that cannot be deleted is a failure of the report (its copy stays
        referenced). Returns how many files were deleted."""
        chosen = [move for move in moves if move.outcome in (COPIED, REUSED) and move.copy is not None]
        if self.dry_run or not chosen:
            return 0

        def delete(move: FileMove) -> bool:
            try:
                if same_file(move.source, move.copy):  # type: ignore[arg-type]
                    return False  # two mounts over one storage: the "source" is the copy
                return move.source.delete()
            except Exception as exc:
                with self._lock:
                    self.report.failed.append((f"deleting {move.source.fullpath}", exc))
                return False

        workers = self._workers or _Workers(self.workers)
        deleted = sum(workers.map(delete, chosen))
        with self._lock:
            self.report.deleted += deleted
        return deleted

    # -- one round -----------------------------------------------------------------------

    def _settle(self, moves: list[FileMove], workers: _Workers, lookup: _Lookup) -> None:
        for move, info in zip(moves, lookup.infos([move.source for move in moves]), strict=True):
            move._src = info
        copies = self._plan(moves, workers, lookup)
        if not self.dry_run:
            workers.each(self._copy, copies)
            self._verify([move for move in copies if not move.outcome], workers, lookup)
        for move in moves:
            if move._leader is not None:
                leader = move._leader
                move.outcome = REUSED if leader.outcome == COPIED else leader.outcome
                move.copy, move.size, move.error = leader.copy, leader.size, leader.error
            self._count(move)
        self._tell()

    def _plan(self, moves: list[FileMove], workers: _Workers, lookup: _Lookup) -> list[FileMove]:
        """Decide each move: missing, reuse, copy to the target, or to a free name beside it.
        Returns the moves that need a copy."""
        targets = lookup.infos([move.target for move in moves])
        # A target of the source's size is compared by MD5: read (where no listing gave
        # them) in parallel, before the decisions, which are made in order.
        target_md5: dict[int, str] = {}

        def hash_both(index: int) -> None:
            try:
                self._source_md5(moves[index])
                target_md5[index] = targets[index].get("md5") or moves[index].target.md5hash  # type: ignore[union-attr]
            except OSError:
                pass  # gone meanwhile: the decision below asks again and fails the move

        same_size = [
            index
            for index, (move, target) in enumerate(zip(moves, targets, strict=True))
            if move._src and target and target["type"] == "file" and target["size"] == move._src["size"]
        ]
        workers.each(hash_both, same_size)
        claimed: dict[str, FileMove] = {}  # target -> the move writing or reusing it this round
        copies = []
        for index, (move, target) in enumerate(zip(moves, targets, strict=True)):
            try:
                if self._decide(move, target, target_md5.get(index), claimed):
                    copies.append(move)
            except Exception as exc:
                move.outcome, move.error, move.copy = FAILED, exc, None
        return copies

    def _decide(
        self, move: FileMove, info: dict[str, Any] | None, md5: str | None, claimed: dict[str, FileMove]
    ) -> bool:
        """Settle ``move`` against its target's ``info`` (MD5 ``md5`` if known): True when it
        needs a copy (to ``move.copy``)."""
        src = move._src
        if src is None or src["type"] != "file":
            move.outcome = MISSING
            return False
        move.size = src["size"]
        node = move.target
        for attempt in range(FREE_NAMES + 1):
            holder = claimed.get(node.fullpath)
            if holder is not None:
                if holder.source.fullpath == move.source.fullpath:
                    move._leader = holder  # the same file twice: one copy serves both
                    return False
            elif info is None:
                claimed[node.fullpath] = move
                move.copy = node
                if self.dry_run:
                    move.outcome = COPIED
                return True
            elif _same(src, lambda: self._source_md5(move), info, lambda n=node, known=md5: known or n.md5hash):
                claimed[node.fullpath] = move
                move.copy, move.outcome = node, REUSED
                return False
            if not move.rename or attempt == FREE_NAMES:
                reason = "a different file already has this name" if attempt == 0 else "no free name left"
                raise FileExistsError(17, reason, node.fullpath)
            node = move.target.parent.child(f"{move.target.stem}_{attempt + 1}{move.target.suffix}")
            info, md5 = _info_or_none(node), None
        return False

    def _source_md5(self, move: FileMove) -> str:
        if move._src_md5 is None:
            move._src_md5 = (move._src or {}).get("md5") or move.source.md5hash
        return move._src_md5

    def _copy(self, move: FileMove) -> None:
        assert move.copy is not None
        try:
            copy_file(move.source, move.copy)
        except Exception as exc:
            move.outcome, move.error, move.copy = FAILED, exc, None
        self._tell(step=True)

    def _verify(self, moves: list[FileMove], workers: _Workers, lookup: _Lookup) -> None:
        """Each copy against its source: the copy exists, has the size and the MD5."""
        infos = lookup.infos([move.copy for move in moves], keep=True)  # type: ignore[misc]

        def check(pair: tuple[FileMove, dict[str, Any] | None]) -> None:
            move, info = pair
            assert move.copy is not None and move._src is not None
            try:
                if info is None:
                    raise MigrationError(2, "the copy is not there", move.copy.fullpath)
                if not _same(move._src, lambda: self._source_md5(move), info, lambda: move.copy.md5hash):
                    raise MigrationError(5, "the copy differs from its source (kept, not used)", move.copy.fullpath)
                move.outcome = COPIED
            except Exception as exc:
                move.outcome, move.error, move.copy = FAILED, exc, None

        workers.each(check, list(zip(moves, infos, strict=True)))

    # -- counting ------------------------------------------------------------------------

    def _count(self, move: FileMove) -> None:
        report = self.report
        if move.outcome == COPIED and move._leader is None:
            report.copied += 1
            report.bytes += move.size
        elif move.outcome in (COPIED, REUSED):
            report.reused += 1
        elif move.outcome == MISSING:
            report.missing.append(move.source.fullpath)
        else:
            report.failed.append((move.source.fullpath, move.error or RuntimeError("not settled")))

    def _tell(self, step: bool = False) -> None:
        """Call the progress back; ``step``: one more copy is done (before its round settles)."""
        if self.progress is None:
            return
        with self._lock:
            report = self.report
            self._steps = self._steps + 1 if step else 0
            done = report.settled + self._steps
            self.progress(MigrationProgress(done, self.total, report.copied, report.reused, len(report.failed)))
