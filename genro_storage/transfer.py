"""The transfer engine: copy or move files and folders between any two mounts.

A transfer is planned first (walk the source once, the destination once), then run on
a thread pool. Each file lands atomically (the backends' writers publish only on a clean
close), a move deletes a source file only once its copy is verified, and a re-run with
``skip='size'`` or ``'hash'`` resumes an interrupted transfer without recopying.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from .backends.base import CHUNK_SIZE
from .errors import (
    StorageError,
    StorageIsADirectoryError,
    StorageNotADirectoryError,
    StorageNotFoundError,
    StorageOSError,
    UnsupportedOperationError,
    translate_exception,
)

if TYPE_CHECKING:
    from .node import StorageNode

__all__ = ["TransferReport", "TransferProgress", "transfer", "SKIP_STRATEGIES"]

SKIP_STRATEGIES = ("exists", "size", "mtime", "hash")
SkipRule = str | Callable[["StorageNode", "StorageNode"], bool] | None


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
        rate = f", {mb / self.elapsed:.1f} MB/s" if self.elapsed > 0 and self.bytes and not self.dry_run else ""
        text = (
            f"{self.source} -> {self.dest.fullpath}: {verb} {len(self.copied)} files ({mb:.2f} MB), "
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


class _Progress:
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

    def chunks(self, item: _Item) -> Callable[[int], None] | None:
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

    def finished(self, item: _Item, copied: bool) -> None:
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


@dataclass
class _Item:
    rel: str
    src: StorageNode
    dest: StorageNode
    size: int
    src_info: dict[str, Any]
    dest_info: dict[str, Any] | None
    conflict: Exception | None = None
    folder: bool = False  # an empty folder, recreated at the destination
    sent: int = 0  # bytes already reported to the progress callback


@dataclass(frozen=True)
class _Pattern:
    """One include/exclude glob, split into segments (see :meth:`StorageNode.copy_to`)."""

    parts: tuple[str, ...]
    folders_only: bool

    @classmethod
    def parse(cls, pattern: str) -> _Pattern:
        folders_only = pattern.endswith("/")
        body = pattern.rstrip("/")
        anchored = "/" in body  # gitignore: a slash at the start or in the middle anchors it
        parts = body.lstrip("/").split("/")
        if not anchored:
            parts = ["**", *parts]  # a bare name matches at any depth
        if parts[-1] == "**":
            parts.append("*")  # 'dir/**' is everything inside dir, not dir itself
        return cls(tuple(parts), folders_only)

    def matches(self, parts: list[str], is_folder: bool) -> bool:
        """Whether the pattern names this path, or one of the folders holding it."""
        last = len(parts) if is_folder or not self.folders_only else len(parts) - 1
        return any(_match_segments(self.parts, parts[:depth]) for depth in range(1, last + 1))


def _match_segments(pattern: tuple[str, ...], parts: list[str]) -> bool:
    """Segment by segment: ``*``, ``?`` and ``[...]`` stay inside one segment; ``**``
    stands for any number of segments, none included."""
    if not pattern:
        return not parts
    head = pattern[0]
    if head == "**":
        return any(_match_segments(pattern[1:], parts[skip:]) for skip in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], head) and _match_segments(pattern[1:], parts[1:])


def _selected(rel: str, is_folder: bool, include: list[_Pattern], exclude: list[_Pattern]) -> bool:
    """Whether the filters keep ``rel`` (a file, or an empty folder when ``is_folder``)."""
    if not include and not exclude:
        return True
    parts = rel.split("/")
    if include and not any(p.matches(parts, is_folder) for p in include):
        return False
    return not any(p.matches(parts, is_folder) for p in exclude)


def _patterns(value: str | Iterable[str] | None) -> list[_Pattern]:
    if value is None:
        return []
    return [_Pattern.parse(p) for p in ([value] if isinstance(value, str) else value)]


def _md5(node: StorageNode, info: dict[str, Any] | None) -> str:
    if info and info.get("md5"):
        return info["md5"]
    return node.md5hash


def should_skip(rule: SkipRule, item: _Item) -> bool:
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
    raise ValueError(f"skip must be one of {SKIP_STRATEGIES}, a callable or None, not {rule!r}")


class _Blame:
    """``with _Blame(node):`` what the block raises becomes our error naming ``node``'s
    mount and path (OS and service failures; our own errors and bugs pass untouched)."""

    __slots__ = ("node",)

    def __init__(self, node: StorageNode):
        self.node = node

    def __enter__(self) -> _Blame:
        return self

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, Exception) and not isinstance(exc, StorageError):
            translated = translate_exception(exc, self.node.mount_name, self.node.path)
            if translated is not None:
                raise translated from exc


class _DestWriter:
    """The destination's writer, as a download writes to it: a failure to write is the
    destination's (its mount and path), whatever the download's other failures are; the
    bytes written are reported to ``progress``."""

    __slots__ = ("writer", "dest", "progress")

    def __init__(self, writer: IO[bytes], dest: StorageNode, progress: Callable[[int], None] | None):
        self.writer = writer
        self.dest = dest
        self.progress = progress

    def write(self, data: Any) -> int:
        with _Blame(self.dest):
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

    Within a backend, its own copy (server-side on S3). A local file to an object store,
    the store's upload (a bounded parallel multipart upload). From an object store, one
    streamed GET (or ``workers`` parallel ranged GETs) into the destination's writer.
    Otherwise a chunked stream. Every destination writer publishes only on success, so a
    failure keeps whatever the destination held before. A failure names the side it
    happened on: the source that could not be read, the destination that could not be
    written. ``progress``, if given, receives byte counts as the data moves (a server-side
    copy may report only at its end).
    """
    src_backend, dest_backend = src.backend, dest.backend
    if src_backend is dest_backend:
        try:
            if progress is None:  # a custom backend's copy(src, dst) predating progress still works
                src_backend.copy(src.path, dest.path)
            else:
                src_backend.copy(src.path, dest.path, progress=progress)
        except Exception as exc:
            raise (src if isinstance(exc, FileNotFoundError) else dest)._error(exc) from exc
        return
    upload = getattr(dest_backend, "upload_file", None)
    ospath = getattr(src_backend, "ospath", None)
    if upload is not None and ospath is not None and not dest_backend.path_is_data:
        local = ospath(src.path)
        try:
            upload(local, dest.path, workers=workers, progress=progress)
        except Exception as exc:
            reading = isinstance(exc, OSError) and exc.filename == local  # the local file itself
            raise (src if reading else dest)._error(exc) from exc
        return
    download = getattr(src_backend, "download_fileobj", None)
    if download is not None:
        with dest._open_write() as writer, _Blame(src):
            download(src.path, _DestWriter(writer, dest, progress), workers=workers)
        return
    with _Blame(src):
        reader = src_backend.open_read(src.path)
    with reader, dest._open_write() as writer:
        while True:
            with _Blame(src):
                chunk = reader.read(CHUNK_SIZE)
            if not chunk:
                break
            with _Blame(dest):
                writer.write(chunk)
            if progress is not None:
                progress(len(chunk))


def _same_filesystem(fs_a: Any, fs_b: Any) -> bool:
    """Whether two fsspec filesystems reach the same storage (same class and options;
    a filesystem that is never shared, like each memory mount's store, only itself)."""
    if fs_a is fs_b:
        return True
    return type(fs_a) is type(fs_b) and type(fs_a).cachable and fs_a.storage_options == fs_b.storage_options


def same_file(a: StorageNode, b: StorageNode) -> bool:
    """Whether two nodes on different mounts name the same stored object (overlapping roots)."""
    if a == b:
        return True
    ospath_a, ospath_b = getattr(a.backend, "ospath", None), getattr(b.backend, "ospath", None)
    if ospath_a is not None and ospath_b is not None:
        try:
            return os.path.samefile(ospath_a(a.path), ospath_b(b.path))
        except OSError:
            return False
    fs_a, fs_b = getattr(a.backend, "fs", None), getattr(b.backend, "fs", None)
    if fs_a is None or fs_b is None or not _same_filesystem(fs_a, fs_b):
        return False
    return fs_a._strip_protocol(a.backend.fspath(a.path)) == fs_b._strip_protocol(b.backend.fspath(b.path))


def _location(node: StorageNode) -> tuple[Any, str] | None:
    """Where ``node`` is stored: (its filesystem, None for the OS; its path there)."""
    ospath = getattr(node.backend, "ospath", None)
    if ospath is not None:
        return None, os.path.realpath(ospath(node.path)).replace(os.sep, "/")
    fs = getattr(node.backend, "fs", None)
    if fs is None:
        return None
    return fs, fs._strip_protocol(node.backend.fspath(node.path)).strip("/")


def _is_within(folder: StorageNode, node: StorageNode) -> bool:
    """Whether ``node`` is ``folder`` or lies below it, also through another mount whose
    root is inside (or around) ``folder``'s."""
    if folder._mount is node._mount:
        return not folder.path or node.path == folder.path or node.path.startswith(folder.path + "/")
    outer, inner = _location(folder), _location(node)
    if outer is None or inner is None:
        return False
    if (outer[0] is None) != (inner[0] is None) or (outer[0] is not None and not _same_filesystem(outer[0], inner[0])):
        return False
    base = outer[1].rstrip("/")
    return not base or inner[1] == base or inner[1].startswith(base + "/")


def _walk(node: StorageNode) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        yield from node.backend.walk_files(node.path)
    except Exception as exc:
        raise node._error(exc) from exc


def _info_or_none(node: StorageNode) -> dict[str, Any] | None:
    try:
        return node.backend.info(node.path)
    except FileNotFoundError:
        return None


def _refuse_file_parents(dest: StorageNode) -> None:
    """Refuse a destination that would lie below a file (object stores would store ``p``
    and ``p/x`` side by side; disks cannot). Asks from the nearest folder up, and stops
    at the first one that exists: one request where the parent folder is there."""
    backend, path = dest.backend, dest.path
    while "/" in path:
        path = path.rpartition("/")[0]
        if backend.isdir(path):
            return
        if backend.isfile(path):
            raise StorageNotADirectoryError(
                dest.mount_name, dest.path, f"Not a directory: {dest.mount_name}:{path} is a file"
            )


def _plan(
    src: StorageNode, dest: StorageNode, include: list[_Pattern], exclude: list[_Pattern], move: bool
) -> list[_Item]:
    """What to copy: from one listing of the source and one of the destination."""
    with _Blame(src):
        src_info = src.backend.info(src.path)
    if src_info["type"] == "file":
        return [_plan_file(src, src_info, dest)]
    return _plan_folder(src, src_info, dest, include, exclude, move)


def _plan_file(src: StorageNode, src_info: dict[str, Any], dest: StorageNode) -> _Item:
    if dest.backend.path_is_data:  # base64: writing makes the destination's path
        return _Item(src.basename, src, dest, src_info["size"], src_info, None)
    with _Blame(dest):
        dest_info = _info_or_none(dest)
    if dest_info is not None and dest_info["type"] == "directory" and dest.backend.has_folders:
        dest = dest.child(src.basename)
        with _Blame(dest):
            dest_info = _info_or_none(dest)
    if dest_info is not None and dest_info["type"] != "file":
        raise StorageIsADirectoryError(dest.mount_name, dest.path)
    if dest_info is None:
        with _Blame(dest):
            _refuse_file_parents(dest)
    return _Item(src.basename, src, dest, src_info["size"], src_info, dest_info)


def _plan_folder(
    src: StorageNode,
    src_info: dict[str, Any],
    dest: StorageNode,
    include: list[_Pattern],
    exclude: list[_Pattern],
    move: bool,
) -> list[_Item]:
    if _is_within(src, dest):
        raise StorageOSError(
            src.mount_name,
            src.path,
            f"Cannot {'move' if move else 'copy'} the folder {src.fullpath} into itself ({dest.fullpath})",
            errno.EINVAL,
        )
    existing: dict[str, dict[str, Any]] = {}
    with _Blame(dest):
        if dest.backend.has_folders and dest.backend.isdir(dest.path):
            existing = dict(_walk(dest))
        elif dest.backend.exists(dest.path):
            raise StorageOSError(dest.mount_name, dest.path, "Destination exists and is not a folder")
        else:
            _refuse_file_parents(dest)
    # Names the destination tree already uses as folders (a file cannot replace one) or as
    # files (a file cannot hold children): known from the one listing, no request per file.
    dest_dirs = {rel.rsplit("/", i)[0] for rel in existing for i in range(1, rel.count("/") + 1)}
    items = []
    for rel, info in sorted(_walk(src)):
        is_folder = info["type"] == "directory"
        if not _selected(rel, is_folder, include, exclude):
            continue
        if is_folder:
            item = _Item(rel, src.child(rel), dest.child(rel), 0, info, existing.get(rel))
            item.folder = True
            items.append(item)
            continue
        item = _Item(rel, src.child(rel), dest.child(rel), info["size"], info, existing.get(rel))
        if rel in dest_dirs or (item.dest_info or {}).get("type") == "directory":
            item.conflict = StorageIsADirectoryError(dest.mount_name, item.dest.path)
        elif any(existing.get(rel[:i], {}).get("type") == "file" for i in range(len(rel)) if rel[i] == "/"):
            item.conflict = StorageNotADirectoryError(dest.mount_name, item.dest.path, "A parent is a file")
        items.append(item)
    if not items:
        # Nothing below the source (or nothing selected): the copy is still a folder.
        items.append(_Item("", src, dest, 0, src_info, None, folder=True))
    return items


def transfer(
    src: StorageNode,
    dest: StorageNode,
    *,
    move: bool = False,
    skip: SkipRule = None,
    progress: Callable[[TransferProgress], Any] | None = None,
    include: str | Iterable[str] | None = None,
    exclude: str | Iterable[str] | None = None,
    workers: int | None = None,
    on_error: str = "raise",
    dry_run: bool = False,
) -> TransferReport:
    """Copy (or move) the file or folder ``src`` to ``dest``; see :meth:`StorageNode.copy_to`."""
    if on_error not in ("raise", "continue"):
        raise ValueError(f"on_error must be 'raise' or 'continue', not {on_error!r}")
    if skip is not None and not callable(skip) and skip not in SKIP_STRATEGIES:
        raise ValueError(f"skip must be one of {SKIP_STRATEGIES}, a callable or None, not {skip!r}")
    if not dry_run:
        dest._mount.require_write(dest.path)
        if move:
            src._mount.require_delete(src.path)
    if move and src.backend.path_is_data:
        raise UnsupportedOperationError("move (the data is the path; use copy_to)", mount=src.mount_name, path=src.path)
    started = time.perf_counter()
    items = _plan(src, dest, _patterns(include), _patterns(exclude), move)
    single = len(items) == 1 and items[0].src == src and not items[0].folder  # a file
    report = TransferReport(source=src.fullpath, dest=items[0].dest if single else dest, moved=move, dry_run=dry_run)
    if single and items[0].src == items[0].dest:
        raise StorageOSError(src.mount_name, src.path, "Source and destination are the same file")

    total_files = sum(not item.folder for item in items)
    counts = _Progress(progress, total_files, sum(item.size for item in items))
    lock = threading.Lock()
    moved_away: list[str] = []  # folders this transfer emptied (or recreated): a move removes them

    def run(item: _Item) -> None:
        try:
            if item.conflict is not None:
                raise item.conflict
            if item.folder:
                if not dry_run:
                    item.dest.mkdir(parents=True, exist_ok=True)
                    with lock:
                        moved_away.append(item.rel)
                return
            if should_skip(skip, item):
                if move and not dry_run and not same_file(item.src, item.dest):
                    # The rule said "already there"; the source goes only if the copy checks out.
                    _verify(item, skipped=True)
                    item.src.delete()
                with lock:
                    report.skipped.append(item.rel)
                    moved_away.append(item.rel.rpartition("/")[0])
                counts.finished(item, copied=True)
                return
            if dry_run:
                pass
            elif move and item.src.backend is item.dest.backend:
                try:
                    item.src.backend.move(item.src.path, item.dest.path)  # a rename where there is one
                except Exception as exc:
                    raise (item.src if isinstance(exc, FileNotFoundError) else item.dest)._error(exc) from exc
            else:
                if move and same_file(item.src, item.dest):
                    # Two mounts over the same storage: deleting the "source" would delete the copy.
                    raise StorageOSError(item.src.mount_name, item.src.path, "Source and destination are the same file")
                copy_file(item.src, item.dest, workers if single else None, counts.chunks(item))
                if move:
                    _verify(item)
                    item.src.delete()
            with lock:
                report.copied.append(item.rel)
                report.bytes += item.size
                moved_away.append(item.rel.rpartition("/")[0])
            counts.finished(item, copied=True)
        except Exception as exc:
            translated = translate_exception(exc, item.src.mount_name, item.src.path)
            if translated is not None and translated is not exc:
                translated.__cause__ = exc
                exc = translated
            with lock:
                report.failed.append((item.rel, exc))
            counts.finished(item, copied=False)
            if on_error == "raise":
                raise exc from exc.__cause__

    counts.deliver()
    pool_size = workers if workers is not None else (1 if total_files <= 1 else 8)
    if pool_size <= 1:
        for item in items:
            run(item)
    else:
        try:
            _run_in_threads(run, items, pool_size)
        except Exception:
            report.elapsed = time.perf_counter() - started
            raise
    if move and not dry_run and not single:
        _remove_emptied_folders(src, moved_away)
    counts.deliver()  # the final totals, if a call skipped while busy has not shown them
    report.elapsed = time.perf_counter() - started
    return report


def _run_in_threads(run: Callable[[_Item], None], items: list[_Item], size: int) -> None:
    """Call ``run`` on every item from ``size`` threads, each taking the next item in turn
    (no future per file: a folder of small files pays little per item). After a failure
    no item starts; the items already running finish, and the first failure is raised."""
    pending = iter(items)
    taking = threading.Lock()
    failures: list[BaseException] = []
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            with taking:
                item = next(pending, None)
            if item is None:
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


def _remove_emptied_folders(src: StorageNode, moved_from: list[str]) -> None:
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
            folder.backend.rmdir(folder.path)
        except (FileNotFoundError, NotADirectoryError):
            pass  # gone already (implied by files that moved), or now a file
        except Exception as exc:
            if not isinstance(exc, OSError) or exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise folder._error(exc) from exc


def _verify(item: _Item, skipped: bool = False) -> None:
    """Check a copy before its source is deleted: size, and MD5 where both sides know it
    (for a skipped file, always: the skip rule may have looked at less)."""
    with _Blame(item.dest):
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
