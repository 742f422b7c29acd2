"""Local files kept open between requests, so that serving one costs a ``stat`` and a read.

A :class:`SharedFile` is one version of a file (an open descriptor and its ``fstat``).
Versions are kept process-wide, most recently used last, within a budget taken from the
open-file limit, and dropped after a minute unused, when a request finds the file changed,
or when this process writes or deletes it. Where the open file lies is read back from
``/proc/self/fd`` (Linux) when it is opened and again at most ``RECHECK`` seconds later
while it is kept, so a file reached through a link swapped in meanwhile is never served,
and one whose folder is moved out of the mount's root stops being served within that
time: without ``/proc`` nothing is kept.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict

__all__ = ["SharedFile", "identity", "kept", "keep", "drop", "drop_all", "forget", "OPEN_MAX", "READ_FLAGS"]

# O_NONBLOCK: a FIFO swapped in after the check must not make the open wait for a writer.
READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)

_PROC_FD = os.path.isdir("/proc/self/fd")


def _budget() -> int:
    """An eighth of the soft open-file limit, at most 256: sockets, logs and the
    application's own files keep the rest."""
    if not _PROC_FD:
        return 0
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return 32
    if soft == resource.RLIM_INFINITY:
        return 256
    return max(0, min(256, soft // 8))


#: How many versions the process keeps open (0: none are kept).
OPEN_MAX = _budget()
#: Seconds a kept version may go unused before the next new one pushes it out.
OPEN_IDLE = 60.0
#: Seconds between two checks of where a kept version lies (``readlink`` costs as much as a
#: ``stat`` and a read together); its identity is checked on every request.
RECHECK = 1.0

_kept: OrderedDict[str, SharedFile] = OrderedDict()  # OS path -> version, least recently used first
_lock = threading.Lock()  # for changes that take more than one step; lookups need none


def identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    """What changes when the file at a path is another one or is written, renamed or linked."""
    return (st.st_dev, st.st_ino, st.st_ctime_ns, st.st_size, st.st_mtime_ns)


class SharedFile:
    """One version of a local file, open for reading: ``fd`` (read it with ``os.pread`` only,
    since others share it) and its ``stat``. The descriptor is closed when the last holder
    drops the object, so a response keeps its version readable however long it takes."""

    __slots__ = ("path", "fd", "stat", "identity", "real", "used", "located")

    def __init__(self, path: str, fd: int, st: os.stat_result, real: str | None):
        self.path = path
        self.fd = fd
        self.stat = st
        self.identity = identity(st)
        #: Where the file was when opened, without links (None where the OS cannot tell).
        self.real = real
        self.used = 0.0
        self.located = time.monotonic()  # when ``real`` was read

    @classmethod
    def open(cls, path: str) -> SharedFile:
        fd = os.open(path, READ_FLAGS)
        try:
            st = os.fstat(fd)
            real = os.readlink(f"/proc/self/fd/{fd}") if _PROC_FD else None
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, st, real)

    def where(self) -> str | None:
        """The path of the open file now (following renames of it and of its folders),
        ending in `` (deleted)`` once unlinked; None where the OS cannot tell. Read again
        only ``RECHECK`` seconds after the last time."""
        if _PROC_FD:
            now = time.monotonic()
            if now - self.located >= RECHECK:
                self.real = os.readlink(f"/proc/self/fd/{self.fd}")
                self.located = now
        return self.real

    def reopen(self) -> int:
        """A descriptor of this same version with its own file offset (for ``sendfile``),
        owned by the caller, whatever the path names by now."""
        if _PROC_FD:
            return os.open(f"/proc/self/fd/{self.fd}", READ_FLAGS)
        return os.dup(self.fd)  # never kept without /proc: nobody else uses this offset

    def __del__(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)

    def __repr__(self) -> str:
        return f"<SharedFile {self.path!r} fd={self.fd}>"


def kept(path: str) -> SharedFile | None:
    """The version kept for ``path``, marked as just used (None if there is none)."""
    version = _kept.get(path)
    if version is not None:
        version.used = time.monotonic()
        try:
            _kept.move_to_end(path)
        except KeyError:
            pass  # dropped meanwhile by another thread: still valid for this request
    return version


def keep(version: SharedFile) -> None:
    """Keep ``version`` for its path, making room: the least recently used go first, and
    any unused for ``OPEN_IDLE`` seconds. Versions in use stay open until their readers
    drop them."""
    if OPEN_MAX <= 0:
        return
    now = time.monotonic()
    version.used = now
    with _lock:
        _kept.pop(version.path, None)
        while _kept:
            oldest = next(iter(_kept.values()))
            if len(_kept) < OPEN_MAX and now - oldest.used < OPEN_IDLE:
                break
            _kept.popitem(last=False)
        _kept[version.path] = version
    try:
        again = identity(os.stat(version.path))
    except OSError:
        again = None
    if again != version.identity:
        drop(version)  # deleted or replaced while it was being opened: not the file there now


def drop(version: SharedFile) -> None:
    """Stop keeping ``version`` (if it is still the one kept for its path)."""
    with _lock:
        if _kept.get(version.path) is version:
            del _kept[version.path]


def drop_all() -> None:
    """Stop keeping every version (when the process runs out of descriptors)."""
    with _lock:
        _kept.clear()


def forget(path: str) -> None:
    """Stop keeping what is kept at ``path`` or below it, under any spelling of it: called
    when this process deletes or replaces it, so that its space is freed once its last
    reader is done."""
    if not _kept:
        return
    spellings = {path, os.path.realpath(path)}
    below = tuple(name + "/" for name in spellings)
    with _lock:
        for key, version in list(_kept.items()):
            real = version.real or key
            if key in spellings or real in spellings or key.startswith(below) or real.startswith(below):
                del _kept[key]
