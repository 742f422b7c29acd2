"""The transfer engine: copy or move files and folders between any two mounts.

A transfer runs in named steps: :func:`check` (options and permissions, before anything
is read), :func:`plan` (walk the source once, the destination once), then each planned
item on a thread pool (:func:`make_folder`, :func:`skip_item`, :func:`copy_item`), and
for a move :func:`remove_emptied_folders` at the end. Each file lands atomically (the
writers publish only on a clean close), a move deletes a source file only once its copy
is verified, and a re-run with ``skip='size'`` or ``'hash'`` resumes an interrupted
transfer without recopying. Nodes are reached through their public API only.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from ..backends.base import CHUNK_SIZE
from ..errors import (
    ErrorContext,
    StorageIsADirectoryError,
    StorageNotADirectoryError,
    StorageNotFoundError,
    StorageOSError,
    UnsupportedOperationError,
)
from .options import TransferOptions
from .report import ProgressCounter, TransferReport

if TYPE_CHECKING:
    from ..node import StorageNode

__all__ = ["transfer", "copy_file", "same_file", "check", "plan", "should_skip"]


@dataclass
class _Item:
    """One planned step: a file to copy (or skip), or an empty folder to recreate."""

    rel: str
    src: StorageNode
    dest: StorageNode
    size: int
    src_info: dict[str, Any]
    dest_info: dict[str, Any] | None
    conflict: Exception | None = None
    folder: bool = False  # an empty folder, recreated at the destination
    sent: int = 0  # bytes already reported to the progress callback


def _context(node: StorageNode) -> ErrorContext:
    return ErrorContext(node.mount_name, node.path)


def _md5(node: StorageNode, info: dict[str, Any] | None) -> str:
    if info and info.get("md5"):
        return info["md5"]
    return node.md5hash


def should_skip(rule: Any, item: _Item) -> bool:
    """Whether ``item``'s destination already holds what the copy would write."""
    if rule is None or item.dest_info is None:
        return False
    if callable(rule):
        return bool(rule(item.src, item.dest))
    if rule == "exists":
        return True
    if rule == "size":
        return item.dest_info["size"] == item.size
    if rule == "mtime":
        src_m, dest_m = item.src_info.get("mtime"), item.dest_info.get("mtime")
        return src_m is not None and dest_m is not None and dest_m >= src_m
    if rule == "hash":
        if item.dest_info["size"] != item.size:
            return False  # different sizes never hold the same bytes: no hashing needed
        return _md5(item.src, item.src_info) == _md5(item.dest, item.dest_info)
    raise ValueError(f"unknown skip rule {rule!r}")


# -- copying one file ------------------------------------------------------------------


class _DestWriter:
    """The destination's writer, as a download writes to it: a failure to write is the
    destination's (its mount and path), whatever the download's other failures are; the
    bytes written are reported to ``progress``."""

    __slots__ = ("writer", "progress")

    def __init__(self, writer: IO[bytes], progress: Callable[[int], None] | None):
        self.writer = writer  # a node's writer: its failures already name the destination
        self.progress = progress

    def write(self, data: Any) -> int:
        written = self.writer.write(data)
        if self.progress is not None:
            self.progress(written)
        return written


def copy_file(
    src: StorageNode,
    dest: StorageNode,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Copy one file by the fastest path the two backends offer.

    Within a backend, its own copy (server-side on S3). A local file to a store with its
    own upload, that upload (a bounded parallel multipart upload). From a store with its
    own download, one streamed GET (or ``workers`` parallel ranged GETs) into the
    destination's writer. Otherwise a chunked stream. Every destination writer publishes
    only on success, so a failure keeps whatever the destination held before. A failure
    names the side it happened on: the source that could not be read, the destination
    that could not be written. ``progress``, if given, receives byte counts as the data
    moves (a server-side copy may report only at its end).
    """
    src_backend, dest_backend = src.backend, dest.backend
    if src_backend is dest_backend:
        try:
            if progress is None:  # a custom backend's copy(src, dst) predating progress still works
                src_backend.copy(src.path, dest.path)
            else:
                src_backend.copy(src.path, dest.path, progress=progress)
        except FileNotFoundError:
            with _context(src):
                raise
        except Exception:
            with _context(dest):
                raise
        return
    if src_backend.supports("local_files") and dest_backend.supports("upload_file") and not dest_backend.path_is_data:
        with _context(src):
            local = src_backend.ospath(src.path)
        try:
            dest_backend.upload_file(local, dest.path, workers=workers, progress=progress)
        except OSError as exc:
            with _context(src if exc.filename == local else dest):  # reading the local file itself
                raise
        except Exception:
            with _context(dest):
                raise
        return
    if src_backend.supports("download_fileobj"):
        with dest.open("wb") as writer, _context(src):
            src_backend.download_fileobj(src.path, _DestWriter(writer, progress), workers=workers)
        return
    with src.open("rb") as reader, dest.open("wb") as writer:
        while chunk := reader.read(CHUNK_SIZE):
            writer.write(chunk)
            if progress is not None:
                progress(len(chunk))


# -- where nodes are stored ----------------------------------------------------------------


def _same_filesystem(fs_a: Any, fs_b: Any) -> bool:
    """Whether two fsspec filesystems reach the same storage (same class and options;
    a filesystem that is never shared, like each memory mount's store, only itself)."""
    if fs_a is fs_b:
        return True
    return type(fs_a) is type(fs_b) and type(fs_a).cachable and fs_a.storage_options == fs_b.storage_options


def _location(node: StorageNode) -> tuple[Any, str] | None:
    """Where ``node`` is stored: (its filesystem, None for the OS; its path there)."""
    backend = node.backend
    if backend.supports("local_files"):
        return None, os.path.realpath(backend.ospath(node.path)).replace(os.sep, "/")
    if backend.supports("fsspec"):
        fs = backend.fs
        return fs, fs._strip_protocol(backend.fspath(node.path)).strip("/")
    return None


def same_file(a: StorageNode, b: StorageNode) -> bool:
    """Whether two nodes on different mounts name the same stored object (overlapping roots)."""
    if a == b:
        return True
    if a.backend.supports("local_files") and b.backend.supports("local_files"):
        try:
            return os.path.samefile(a.backend.ospath(a.path), b.backend.ospath(b.path))
        except OSError:
            return False
    where_a, where_b = _location(a), _location(b)
    if where_a is None or where_b is None or where_a[0] is None or where_b[0] is None:
        return False
    return _same_filesystem(where_a[0], where_b[0]) and where_a[1] == where_b[1]


def _is_within(folder: StorageNode, node: StorageNode) -> bool:
    """Whether ``node`` is ``folder`` or lies below it, also through another mount whose
    root is inside (or around) ``folder``'s."""
    if folder.mount is node.mount:
        return not folder.path or node.path == folder.path or node.path.startswith(folder.path + "/")
    outer, inner = _location(folder), _location(node)
    if outer is None or inner is None:
        return False
    if (outer[0] is None) != (inner[0] is None) or (outer[0] is not None and not _same_filesystem(outer[0], inner[0])):
        return False
    base = outer[1].rstrip("/")
    return not base or inner[1] == base or inner[1].startswith(base + "/")


# -- the steps ---------------------------------------------------------------------------


def check(src: StorageNode, dest: StorageNode, options: TransferOptions, move: bool) -> None:
    """Refuse what cannot run, before anything is read: permissions (a dry run too, so it
    promises nothing the real run refuses), a move off base64."""
    dest.mount.require_write(dest.path)
    if move:
        src.mount.require_delete(src.path)
    if move and src.backend.path_is_data:
        raise UnsupportedOperationError("move (the data is the path; use copy_to)", mount=src.mount_name, path=src.path)


def _info_or_none(node: StorageNode) -> dict[str, Any] | None:
    try:
        return node.info()
    except FileNotFoundError:
        return None


def _refuse_file_parents(dest: StorageNode) -> None:
    """Refuse a destination that would lie below a file (object stores would store ``p``
    and ``p/x`` side by side; disks cannot). Asks from the nearest folder up, and stops
    at the first one that exists (:meth:`StorageNode.file_above`)."""
    blocker = dest.file_above()
    if blocker is not None:
        raise StorageNotADirectoryError(dest.mount_name, dest.path, f"Not a directory: {blocker.fullpath} is a file")


def plan(src: StorageNode, dest: StorageNode, options: TransferOptions, move: bool) -> list[_Item]:
    """What to copy: from one listing of the source and one of the destination."""
    src_info = src.info()
    if src_info["type"] == "file":
        return [_plan_file(src, src_info, dest)]
    return _plan_folder(src, src_info, dest, options, move)


def _plan_file(src: StorageNode, src_info: dict[str, Any], dest: StorageNode) -> _Item:
    if dest.backend.path_is_data:  # base64: writing makes the destination's path
        return _Item(src.basename, src, dest, src_info["size"], src_info, None)
    dest_info = _info_or_none(dest)
    if dest_info is not None and dest_info["type"] == "directory" and dest.backend.has_folders:
        dest = dest.child(src.basename)
        dest_info = _info_or_none(dest)
    if dest_info is not None and dest_info["type"] != "file":
        raise StorageIsADirectoryError(dest.mount_name, dest.path)
    if dest_info is None:
        _refuse_file_parents(dest)
    return _Item(src.basename, src, dest, src_info["size"], src_info, dest_info)


def _plan_folder(
    src: StorageNode, src_info: dict[str, Any], dest: StorageNode, options: TransferOptions, move: bool
) -> list[_Item]:
    if _is_within(src, dest):
        raise StorageOSError(
            src.mount_name,
            src.path,
            f"Cannot {'move' if move else 'copy'} the folder {src.fullpath} into itself ({dest.fullpath})",
            errno.EINVAL,
        )
    existing: dict[str, dict[str, Any]] = {}
    if dest.backend.has_folders and dest.isdir:
        existing = dict(dest.walk_files())
    elif dest.exists:
        raise StorageOSError(dest.mount_name, dest.path, "Destination exists and is not a folder")
    else:
        _refuse_file_parents(dest)
    # Names the destination tree already uses as folders (a file cannot replace one) or as
    # files (a file cannot hold children): known from the one listing, no request per file.
    dest_dirs = {rel.rsplit("/", i)[0] for rel in existing for i in range(1, rel.count("/") + 1)}
    items = []
    for rel, info in sorted(src.walk_files()):
        is_folder = info["type"] == "directory"
        if not options.selects(rel, is_folder):
            continue
        item = _Item(rel, src.child(rel), dest.child(rel), info.get("size", 0), info, existing.get(rel))
        if is_folder:
            item.folder, item.size = True, 0
        elif rel in dest_dirs or (item.dest_info or {}).get("type") == "directory":
            item.conflict = StorageIsADirectoryError(dest.mount_name, item.dest.path)
        elif any(existing.get(rel[:i], {}).get("type") == "file" for i in range(len(rel)) if rel[i] == "/"):
            item.conflict = StorageNotADirectoryError(dest.mount_name, item.dest.path, "A parent is a file")
        items.append(item)
    if not items:
        # Nothing below the source (or nothing selected): the copy is still a folder.
        items.append(_Item("", src, dest, 0, src_info, None, folder=True))
    return items


def make_folder(item: _Item, options: TransferOptions) -> None:
    """Recreate an empty source folder at the destination."""
    if not options.dry_run:
        item.dest.mkdir(parents=True, exist_ok=True)


def skip_item(item: _Item, options: TransferOptions, move: bool) -> None:
    """Leave a destination that already holds the file; a move still removes the source,
    once the copy there checks out (the skip rule may have looked at less)."""
    if move and not options.dry_run and not same_file(item.src, item.dest):
        _verify(item, skipped=True)
        item.src.delete()


def copy_item(item: _Item, options: TransferOptions, move: bool, workers: int | None, counts: ProgressCounter) -> None:
    """Copy (or move) one file: a rename within a backend that has one; otherwise a copy,
    verified before a move deletes the source."""
    if options.dry_run:
        return
    if move and item.src.backend is item.dest.backend:
        try:
            item.src.backend.move(item.src.path, item.dest.path)  # a rename where there is one
        except FileNotFoundError:
            with _context(item.src):
                raise
        except Exception:
            with _context(item.dest):
                raise
        return
    if move and same_file(item.src, item.dest):
        # Two mounts over the same storage: deleting the "source" would delete the copy.
        raise StorageOSError(item.src.mount_name, item.src.path, "Source and destination are the same file")
    copy_file(item.src, item.dest, workers, counts.chunks(item))
    if move:
        _verify(item)
        item.src.delete()


def _verify(item: _Item, skipped: bool = False) -> None:
    """Check a copy before its source is deleted: size, and MD5 where both sides know it
    (for a skipped file, always: the skip rule may have looked at less)."""
    info = _info_or_none(item.dest)
    if info is None:
        raise StorageNotFoundError(item.dest.mount_name, item.dest.path, "Copy vanished: source kept")
    if info["size"] != item.size:
        raise StorageOSError(
            item.dest.mount_name, item.dest.path, f"copy has {info['size']} bytes, source {item.size}: source kept"
        )
    src_md5, dest_md5 = item.src_info.get("md5"), info.get("md5")
    if skipped:
        src_md5, dest_md5 = _md5(item.src, item.src_info), _md5(item.dest, info)
    if src_md5 and dest_md5 and src_md5 != dest_md5:
        raise StorageOSError(item.dest.mount_name, item.dest.path, "copy's MD5 differs from the source's: source kept")


def remove_emptied_folders(src: StorageNode, moved_from: list[str]) -> None:
    """After a folder move, remove the source folders it emptied, deepest first.

    Only the folders a moved file or folder came from (and the folders above them) are
    candidates, and each goes only if it is empty now: a file the filters left out, or
    one written during the move, keeps its folder (never a recursive delete).
    """
    folders = {""}
    for rel in moved_from:
        parts = rel.split("/") if rel else []
        folders.update("/".join(parts[:depth]) for depth in range(1, len(parts) + 1))
    for rel in sorted(folders, key=lambda name: name.count("/") if name else -1, reverse=True):
        folder = src.child(rel) if rel else src
        if not folder.path:
            continue  # a mount's root stays
        try:
            folder.rmdir()
        except (FileNotFoundError, NotADirectoryError):
            pass  # gone already (implied by files that moved), or now a file
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise


def transfer(
    src: StorageNode, dest: StorageNode, options: TransferOptions | None = None, *, move: bool = False
) -> TransferReport:
    """Copy (or move) the file or folder ``src`` to ``dest``; see :meth:`StorageNode.copy_to`."""
    options = options if options is not None else TransferOptions()
    check(src, dest, options, move)
    started = time.perf_counter()
    items = plan(src, dest, options, move)
    single = len(items) == 1 and items[0].src == src and not items[0].folder  # a file
    report = TransferReport(
        source=src.fullpath, dest=items[0].dest if single else dest, moved=move, dry_run=options.dry_run
    )
    if single and items[0].src == items[0].dest:
        raise StorageOSError(src.mount_name, src.path, "Source and destination are the same file")

    total_files = sum(not item.folder for item in items)
    counts = ProgressCounter(options.progress, total_files, sum(item.size for item in items))
    lock = threading.Lock()
    moved_away: list[str] = []  # folders this transfer emptied (or recreated): a move removes them
    workers = options.workers

    def run(item: _Item) -> None:
        try:
            # What the steps did not attribute to a side is the source's.
            with _context(item.src):
                if item.conflict is not None:
                    raise item.conflict
                if item.folder:
                    make_folder(item, options)
                    if not options.dry_run:
                        with lock:
                            moved_away.append(item.rel)
                    return
                skipped = should_skip(options.skip, item)
                if skipped:
                    skip_item(item, options, move)
                else:
                    copy_item(item, options, move, workers if single else None, counts)
            with lock:
                if skipped:
                    report.skipped.append(item.rel)
                else:
                    report.copied.append(item.rel)
                    report.bytes += item.size
                moved_away.append(item.rel.rpartition("/")[0])
            counts.finished(item, copied=True)
        except Exception as exc:
            with lock:
                report.failed.append((item.rel, exc))
            counts.finished(item, copied=False)
            if options.on_error == "raise":
                raise

    counts.deliver()
    pool_size = workers if workers is not None else (1 if total_files <= 1 else 8)
    try:
        if pool_size <= 1:
            for item in items:
                run(item)
        else:
            run_in_threads(run, items, pool_size)
    finally:
        report.elapsed = time.perf_counter() - started
    if move and not options.dry_run and not single:
        remove_emptied_folders(src, moved_away)
    counts.deliver()  # the final totals, if a call skipped while busy has not shown them
    report.elapsed = time.perf_counter() - started
    return report


_NO_ITEM = object()


def run_in_threads(
    run: Callable[[Any], None], items: list[Any], size: int, cancel: threading.Event | None = None
) -> None:
    """Call ``run`` on every item from ``size`` threads, each taking the next item in turn
    (no future per item: a folder of small files pays little per item). After a failure,
    or once ``cancel`` is set, no item starts; the items already running finish, and the
    first failure is raised."""
    pending = iter(items)
    taking = threading.Lock()
    failures: list[BaseException] = []
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set() and not (cancel is not None and cancel.is_set()):
            with taking:
                item = next(pending, _NO_ITEM)
            if item is _NO_ITEM:
                return
            try:
                run(item)
            except BaseException as exc:
                failures.append(exc)
                stop.set()

    threads = [
        threading.Thread(target=work, name=f"genro-transfer-{index}", daemon=True)
        for index in range(min(size, len(items)))
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:
        stop.set()  # Ctrl-C: no new item starts; the running ones end on their own
        raise
    if failures:
        raise failures[0]
