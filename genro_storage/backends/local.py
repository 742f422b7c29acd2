"""The local backend: files under a root folder on the OS, with no fsspec in between.

Paths are relative to the root; a symlink met on the way is followed only when it
resolves inside the root. Writes go to a temporary file beside the destination and are
renamed into place, so readers see the old content or the new one, never a half file;
the new file keeps the owner and permission bits of the one it replaces, as an in-place
write would. Temporaries left by a writer that was killed are swept away (see
:meth:`LocalBackend.sweep_temporaries`).
"""

from __future__ import annotations

import errno
import itertools
import os
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None  # type: ignore[assignment]

from ..errors import StorageConfigError, StoragePathError
from ..paths import normalize_path
from . import openfiles
from .base import CHUNK_SIZE, AtomicWriter, StorageBackend
from .openfiles import SharedFile

__all__ = ["LocalBackend"]

_TMP_SUFFIX = ".genro-tmp"
_tmp_counter = itertools.count()
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_POSIX = os.name == "posix"
#: Privilege bits a rewritten file does not inherit: the kernel drops them on an in-place
#: write too, so new content never runs with the old content's setuid or setgid.
_PRIVILEGE_BITS = stat.S_ISUID | stat.S_ISGID
#: errno values chmod meets on a file system without Unix modes (vfat, some network mounts).
_NO_UNIX_MODES = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS})
#: How many times serving re-checks a file replaced between its check and its open.
_REPLACED_RETRIES = 3
#: Seconds a temporary is left alone after its last write, whoever holds it: a writer
#: takes its lock a moment after creating it.
_GRACE = 60.0
#: Where files cannot be locked, a temporary untouched this long (seconds) is stale.
_STALE_AGE = 24 * 3600
#: Folders this process has swept of stale temporaries (their OS paths); cleared when
#: full, which only means a folder is swept again.
_swept: set[str] = set()
_SWEPT_MAX = 4096


def _tmp_name(final: str) -> str:
    """A name beside ``final`` no other writer in any process can be using."""
    # Short and independent of the final name, so a name near NAME_MAX still has room.
    head = final.rpartition("/")[0]
    return f"{head}/.gs{os.getpid():x}.{threading.get_ident():x}.{next(_tmp_counter):x}{_TMP_SUFFIX}"


def _is_tmp(name: str) -> bool:
    return name[0] == "." and name.endswith(_TMP_SUFFIX)


def _hold(fd: int) -> None:
    """Lock a new temporary for as long as its writer keeps it open: the lock (``flock``,
    which the kernel drops when the writer exits or is killed, and which NFS and shared
    container volumes honour) is what tells a live writer's temporary from a dead one's,
    whatever host or pid namespace it runs in."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pass  # a file system without locks: the age alone decides, after a day


def _is_stale(full: str, st: os.stat_result, now: float) -> bool:
    """Whether the temporary at ``full`` (stat ``st``) was left by a writer that is gone:
    nobody holds its lock and nothing wrote it for a minute (a writer takes the lock right
    after creating it). Without locks, a day untouched."""
    if not stat.S_ISREG(st.st_mode):
        return False
    age = now - st.st_mtime
    if fcntl is None:
        return age > _STALE_AGE
    if age < _GRACE:
        return False
    try:
        fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # a writer holds it, in this process or any other
    except OSError:
        return age > _STALE_AGE  # no locks here
    finally:
        os.close(fd)
    return True


def _sweep(folder: str, names: Iterable[str], now: float) -> int:
    """Remove the stale temporaries among ``names`` in ``folder``; return how many went."""
    removed = 0
    for name in names:
        if not _is_tmp(name):
            continue
        full = f"{folder}/{name}"
        try:
            if _is_stale(full, os.lstat(full), now):
                os.unlink(full)
                removed += 1
        except OSError:
            continue  # gone meanwhile, or not ours to remove: never fail for a leftover
    return removed


def _sweep_once(folder: str) -> None:
    """Sweep ``folder`` of stale temporaries the first time this process writes there."""
    if folder in _swept:
        return
    if len(_swept) >= _SWEPT_MAX:
        _swept.clear()
    _swept.add(folder)  # before the sweep, so that concurrent first writers rarely repeat it
    try:
        _sweep(folder, os.listdir(folder), time.time())
    except OSError:
        pass  # a folder not made yet holds nothing; a write must never fail for a sweep


def _take_over(target: int | str, old: os.stat_result) -> None:
    """Give ``target`` (a new file, by descriptor or name) the owner and permission bits of
    ``old``, the file it is going to replace, as far as this process may set them."""
    if not _POSIX:
        return
    if old.st_uid != os.geteuid() or old.st_gid != os.getegid():
        # Best effort: only root gives a file away (keeping the group alone is often
        # allowed), and an owner unknown here (user namespaces) cannot be set at all.
        for uid in (old.st_uid, -1):
            try:
                os.chown(target, uid, old.st_gid)
                break
            except OSError:
                continue
    try:
        os.chmod(target, stat.S_IMODE(old.st_mode) & ~_PRIVILEGE_BITS)
    except OSError as exc:
        if exc.errno not in _NO_UNIX_MODES:
            raise


class LocalBackend(StorageBackend):
    """Files under ``path`` (a folder, or a callable returning one, resolved at each access)."""

    capabilities = frozenset({"rename", "ranged_reads", "local_files", "exclusive_create"})

    def __init__(self, mount: str, *, path: str | os.PathLike[str] | Callable[[], Any] | None = None, **options: Any):
        super().__init__(mount, **options)
        if path is None or (isinstance(path, str) and not path.strip()):
            raise StorageConfigError("a local mount needs 'path' (the root folder)", mount=mount, key="path")
        if callable(path):
            self._root_fn: Callable[[], Any] | None = path
            self._static: tuple[str, str] | None = None
        elif isinstance(path, (str, os.PathLike)):
            self._root_fn = None
            root = os.path.abspath(os.path.expanduser(os.fspath(path)))
            try:
                found = os.stat(root)
            except NotADirectoryError:
                raise self._not_a_folder(root) from None
            except OSError:
                found = None  # missing (created on first write), or not ours to look at yet
            if found is not None and not stat.S_ISDIR(found.st_mode):
                raise self._not_a_folder(root)
            self._static = (root, os.path.realpath(root))
        else:
            raise StorageConfigError(
                f"must be a folder path or a callable, not {type(path).__name__}", mount=mount, key="path"
            )

    def _not_a_folder(self, root: str) -> StorageConfigError:
        return StorageConfigError(f"{root!r} is a file, not a folder", mount=self.mount, key="path")

    @property
    def root(self) -> str:
        """The absolute root folder, as resolved now."""
        return self._roots()[0]

    def _roots(self) -> tuple[str, str]:
        if self._static is not None:
            return self._static
        value = self._root_fn()  # type: ignore[misc]
        if not isinstance(value, (str, os.PathLike)) or not os.fspath(value).strip():
            raise StorageConfigError(
                f"the callable returned {value!r}, not a folder path", mount=self.mount, key="path"
            )
        text = os.fspath(value)
        if ".." in text.replace(os.sep, "/").split("/"):
            # Per-tenant roots are often built from user data: never let one climb.
            raise StorageConfigError(f"the callable returned {text!r}, which holds '..'", mount=self.mount, key="path")
        root = os.path.abspath(os.path.expanduser(text))
        return root, os.path.realpath(root)

    def _resolve(self, path: str) -> tuple[str, os.stat_result | None, int]:
        """Return the OS path for ``path``, the stat of what it names (None if missing),
        and how many leading segments exist.

        Each existing segment is ``lstat``-ed: a symlink is followed only if its target
        lies inside the root. This is the only place a mount path becomes an OS path.
        A root that is not a folder (a callable's answer is only known now) raises
        :class:`StorageConfigError`; found on the way, it costs no extra call.
        """
        root, real_root = self._roots()
        if not path:
            try:
                st = os.stat(root)
            except FileNotFoundError:
                return root, None, 0
            except NotADirectoryError:
                raise self._not_a_folder(root) from None
            if not stat.S_ISDIR(st.st_mode):
                raise self._not_a_folder(root)
            return root, st, 0
        current = root
        parts = path.split("/")
        st: os.stat_result | None = None
        for index, part in enumerate(parts):
            current = f"{current}/{part}"
            try:
                st = os.lstat(current)
            except FileNotFoundError:
                return f"{root}/{path}", None, index
            except NotADirectoryError:
                if index == 0:  # only the root itself, or a folder above it, can be a file here
                    raise self._not_a_folder(root) from None
                return f"{root}/{path}", None, index
            if stat.S_ISLNK(st.st_mode):
                target = os.path.realpath(current)
                if target != real_root and not target.startswith(real_root + os.sep):
                    raise StoragePathError("symlink resolves outside the mount root", mount=self.mount, path=path)
                try:
                    st = os.stat(current)
                except FileNotFoundError:
                    return f"{root}/{path}", None, index
        return current, st, len(parts)

    def ospath(self, path: str) -> str:
        """The OS path of ``path`` (checked for symlinks leaving the root)."""
        return self._resolve(path)[0]

    def open_current(self, path: str) -> SharedFile:
        """The version of the regular file at ``path`` that is there now, open for reading.

        Serving a file's headers and bytes from one :class:`SharedFile` keeps them from two
        versions. Versions are kept open between requests (see :mod:`.openfiles`): while
        the file at ``path`` is the same one, unchanged, and the open file still lies inside
        the root (read back at most once a second), a request costs a ``stat``; otherwise
        the ``lstat`` walk runs again. Raises ``FileNotFoundError``, ``IsADirectoryError`` for folders and
        the root, ``PermissionError`` for FIFOs, sockets and devices (never opened),
        :class:`StoragePathError` for a link leaving the root.
        """
        if not path:
            raise IsADirectoryError(21, "Is a directory", self.root)
        root, real_root = self._static or self._roots()
        inside = real_root.rstrip("/") + "/"
        full = f"{root}/{path}"
        known = openfiles.kept(full)
        if known is not None:
            try:
                current = openfiles.identity(os.stat(full))
                where = known.where()
            except OSError:
                openfiles.drop(known)
                raise
            if current == known.identity and where is not None and where.startswith(inside):
                return known
            openfiles.drop(known)
        for _attempt in range(_REPLACED_RETRIES):
            full, checked, _ = self._resolve(path)
            if checked is None:
                raise FileNotFoundError(2, "No such file or directory", full)
            if not stat.S_ISREG(checked.st_mode):
                if stat.S_ISDIR(checked.st_mode):
                    raise IsADirectoryError(21, "Is a directory", full)
                raise PermissionError(13, "Not a regular file: never opened for serving", full)
            try:
                version = SharedFile.open(full)
            except OSError as exc:
                if exc.errno not in (errno.EMFILE, errno.ENFILE):
                    raise
                openfiles.drop_all()  # out of descriptors: let go of the kept ones and try once more
                version = SharedFile.open(full)
            if (version.stat.st_dev, version.stat.st_ino) == (checked.st_dev, checked.st_ino):
                break
            # A new version renamed into place between the check and the open: check it.
        else:
            raise FileNotFoundError(2, "No such file or directory (replaced on every attempt to open it)", full)
        if version.real is not None and not version.real.startswith(inside):
            # A link swapped in during the walk: what was opened is not the file it checked.
            raise StoragePathError("symlink resolves outside the mount root", mount=self.mount, path=path)
        if not stat.S_ISREG(version.stat.st_mode):
            raise PermissionError(13, "Not a regular file: never opened for serving", full)
        openfiles.keep(version)
        return version

    # -- metadata --------------------------------------------------------------------

    def info(self, path: str) -> dict[str, Any]:
        full, st, _ = self._resolve(path)
        if st is None:
            if not path:  # the root exists for users before its first write creates it
                return {"type": "directory", "size": 0, "mtime": None}
            raise FileNotFoundError(2, "No such file or directory", full)
        is_dir = stat.S_ISDIR(st.st_mode)
        return {
            "type": "directory" if is_dir else "file",
            "size": 0 if is_dir else st.st_size,
            "mtime": st.st_mtime,
            "mtime_ns": st.st_mtime_ns,
            "inode": st.st_ino,
        }

    def _lookup(self, path: str) -> os.stat_result | None:
        """The stat of what ``path`` names, None when nothing: also for a symlink loop and
        a name too long for the OS, where pathlib's ``exists()`` answers False too."""
        try:
            return self._resolve(path)[1]
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENAMETOOLONG):
                return None
            raise

    def exists(self, path: str) -> bool:
        return not path or self._lookup(path) is not None

    def isfile(self, path: str) -> bool:
        st = self._lookup(path)
        return st is not None and stat.S_ISREG(st.st_mode)

    def isdir(self, path: str) -> bool:
        if not path:
            return True
        st = self._lookup(path)
        return st is not None and stat.S_ISDIR(st.st_mode)

    def listdir(self, path: str) -> list[str]:
        full, st, _ = self._resolve(path)
        if st is None:
            if not path:
                return []
            raise FileNotFoundError(2, "No such file or directory", full)
        return [name for name in os.listdir(full) if not _is_tmp(name)]

    def walk_files(self, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        # Files, and empty folders (type 'directory') so that copies keep them.
        top, st, _ = self._resolve(path)
        if st is None:
            if not path:
                return
            raise FileNotFoundError(2, "No such file or directory", top)
        _, real_root = self._roots()
        for folder, dirs, files in os.walk(top):
            rel_folder = os.path.relpath(folder, top)
            rel_folder = "" if rel_folder == "." else rel_folder.replace(os.sep, "/") + "/"
            if rel_folder and not dirs and not any(not _is_tmp(name) for name in files):
                yield rel_folder[:-1], {"type": "directory", "size": 0, "mtime": None}  # an empty folder
            for name in files:
                if _is_tmp(name):
                    continue
                full = f"{folder}/{name}"
                try:
                    file_st = os.stat(full)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    if exc.errno != errno.ELOOP:
                        raise
                    continue  # a symlink loop names no file, as a dangling link does not
                if os.path.islink(full):
                    target = os.path.realpath(full)
                    if not target.startswith(real_root + os.sep):
                        continue  # a link leading out of the root is not ours to copy
                if stat.S_ISREG(file_st.st_mode):
                    yield (
                        rel_folder + name,
                        {
                            "type": "file",
                            "size": file_st.st_size,
                            "mtime": file_st.st_mtime,
                            "mtime_ns": file_st.st_mtime_ns,
                        },
                    )

    # -- reading ---------------------------------------------------------------------

    def open_read(self, path: str) -> IO[bytes]:
        return open(self._resolve(path)[0], "rb")

    def read_bytes(self, path: str) -> bytes:
        with open(self._resolve(path)[0], "rb", buffering=0) as f:
            return f.read()

    # -- writing ---------------------------------------------------------------------

    def _prepare_write(self, path: str) -> tuple[str, os.stat_result | None]:
        """Return the OS path to write ``path`` to and the stat of the file there now
        (None if none; the walk's own, so no extra call), refusing folders."""
        full, st, _ = self._resolve(path)
        if not path or (st is not None and stat.S_ISDIR(st.st_mode)):
            raise IsADirectoryError(21, "Is a directory", full)
        return full, st

    @staticmethod
    def _create_tmp(full: str, old: os.stat_result | None = None, mode: int = 0o666) -> tuple[str, int]:
        """Create the temp file beside ``full``, making missing parent folders
        (the root too, as Django's FileSystemStorage does) on first need.

        With ``old``, the stat of the file ``full`` names now, the temp takes that file's
        owner and permission bits before a byte is written: it is never readable by more
        people than the file it replaces, and the rename keeps them. Without it, it is
        created with ``mode`` (less the umask). The first write into a folder sweeps it of
        temporaries left by killed writers.
        """
        folder = full.rpartition("/")[0]
        _sweep_once(folder)
        if old is not None:
            mode = stat.S_IMODE(old.st_mode) & 0o777  # the umask only narrows it until _take_over
        tmp = _tmp_name(full)
        try:
            fd = os.open(tmp, _WRITE_FLAGS, mode)
        except FileNotFoundError:
            # _resolve checked every existing segment, so what is missing is created
            # fresh below it: no symlink can redirect makedirs outside the root.
            os.makedirs(folder, exist_ok=True)
            fd = os.open(tmp, _WRITE_FLAGS, mode)
        _hold(fd)
        if old is not None:
            try:
                _take_over(fd, old)
            except BaseException:
                os.close(fd)
                _unlink_quietly(tmp)
                raise
        return tmp, fd

    def open_write(self, path: str, *, exclusive: bool = False) -> AtomicWriter:
        full, old = self._prepare_write(path)
        if exclusive and old is not None:
            raise FileExistsError(17, "File exists", full)
        tmp, fd = self._create_tmp(full, old)
        raw = os.fdopen(fd, "wb")

        def commit() -> None:
            raw.close()
            if exclusive:
                _publish_new(tmp, full)
            else:
                os.replace(tmp, full)
            openfiles.forget(full)

        def discard() -> None:
            try:
                raw.close()
            except OSError:
                pass  # flushing the last bytes failed (a full disk): they are thrown away anyway
            finally:
                _unlink_quietly(tmp)

        return AtomicWriter(raw, commit, discard)

    def write_bytes(self, path: str, data: bytes) -> None:
        full, old = self._prepare_write(path)
        tmp, fd = self._create_tmp(full, old)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.close(fd)
            fd = -1
            os.replace(tmp, full)
            openfiles.forget(full)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            _unlink_quietly(tmp)
            raise
        return None

    def mkdir(self, path: str) -> None:
        full, st, _ = self._resolve(path)
        if st is not None:
            if not stat.S_ISDIR(st.st_mode):
                raise FileExistsError(17, "File exists", full)
            return
        os.makedirs(full, exist_ok=True)

    def delete(self, path: str) -> None:
        full, st, _ = self._resolve(path)
        if st is None:
            raise FileNotFoundError(2, "No such file or directory", full)
        if stat.S_ISDIR(st.st_mode) and not os.path.islink(full):
            shutil.rmtree(full)
        else:
            os.unlink(full)
        openfiles.forget(full)

    def rmdir(self, path: str) -> None:
        full, st, _ = self._resolve(path)
        if st is None:
            raise FileNotFoundError(2, "No such file or directory", full)
        if not path:
            raise PermissionError(1, "Refusing to remove the root of a mount", full)
        os.rmdir(full)  # refuses (ENOTEMPTY) anything holding a file, even one being written

    def copy(self, src: str, dst: str, progress: Callable[[int], None] | None = None) -> None:
        """Copy the file ``src`` to ``dst`` with its modification time.

        A new ``dst`` gets the source's permission bits (``cp -p``); an existing one keeps
        its own owner and mode (``cp``), as any write onto it does.
        """
        self._copy_file(src, dst, progress, moving=False)

    def _copy_file(self, src: str, dst: str, progress: Callable[[int], None] | None, *, moving: bool) -> None:
        """Copy ``src`` to ``dst`` atomically; ``moving``: the copy stands for a rename, so
        ``dst`` takes the source's mode even where a file is replaced (``mv``)."""
        source, source_st, _ = self._resolve(src)
        if source_st is None:
            raise FileNotFoundError(2, "No such file or directory", source)
        full, old = self._prepare_write(dst)
        # Only the owner can read the temp while it fills: the mode it ends with comes after.
        tmp, fd = self._create_tmp(full, mode=0o600)
        try:
            if progress is None:
                try:
                    shutil.copyfile(source, tmp)  # the kernel's copy; fd keeps the temp's lock
                finally:
                    os.close(fd)
            else:
                _copy_reporting(source, fd, progress)
            if old is None or moving:
                shutil.copystat(source, tmp)
            else:
                os.utime(tmp, ns=(source_st.st_atime_ns, source_st.st_mtime_ns))
                _take_over(tmp, old)
            os.replace(tmp, full)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        openfiles.forget(full)

    def sweep_temporaries(self, path: str = "", recursive: bool = True) -> int:
        """Remove the temporaries killed writers left in the folder ``path`` (and below it,
        when ``recursive``); return how many were removed. For a maintenance job.

        A temporary is stale when the process that made it no longer exists on this host,
        or when nothing touched it for a day; this process's own are always kept. Each
        folder is also swept the first time this process writes into it.
        """
        path = normalize_path(path, self.mount)
        top, st, _ = self._resolve(path)
        if st is None:
            if not path:
                return 0
            raise FileNotFoundError(2, "No such file or directory", top)
        if not stat.S_ISDIR(st.st_mode):
            raise NotADirectoryError(20, "Not a directory", top)
        now = time.time()
        if not recursive:
            return _sweep(top, os.listdir(top), now)
        # os.walk follows no symlink, so nothing outside the root is swept.
        return sum(_sweep(folder, files, now) for folder, _, files in os.walk(top))

    def move(self, src: str, dst: str) -> None:
        source, st, _ = self._resolve(src)
        if st is None:
            raise FileNotFoundError(2, "No such file or directory", source)
        full, _ = self._prepare_write(dst)
        try:
            os.replace(source, full)
        except FileNotFoundError:
            os.makedirs(full.rpartition("/")[0], exist_ok=True)
            os.replace(source, full)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            # Another device, for one: copy (atomically) then delete.
            self._copy_file(src, dst, None, moving=True)
            os.unlink(source)
        openfiles.forget(source)
        openfiles.forget(full)


def _copy_reporting(source: str, fd: int, progress: Callable[[int], None]) -> None:
    """Copy the file ``source`` into the open descriptor ``fd`` (closed at the end) in
    chunks, reporting each chunk's size."""
    with open(fd, "wb") as out, open(source, "rb") as reader:
        while chunk := reader.read(CHUNK_SIZE):
            out.write(chunk)
            progress(len(chunk))


def _publish_new(tmp: str, full: str) -> None:
    """Give the complete temporary ``tmp`` the name ``full`` only if nothing has it: a hard
    link fails with ``FileExistsError`` where ``rename`` would replace (the exclusive create
    of Django's ``O_EXCL``, for a file that appears whole). Then the temporary name goes."""
    try:
        os.link(tmp, full)
    except OSError as exc:
        if isinstance(exc, FileExistsError) or exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        # No hard links here (vfat, some network shares): claim the name, then fill it in.
        os.close(os.open(full, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.replace(tmp, full)
        return
    _unlink_quietly(tmp)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
