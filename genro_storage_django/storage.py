"""GenroStorage: a Django ``Storage`` on a genro-storage mount.

``STORAGES = {"default": {"BACKEND": "genro_storage_django.storage.GenroStorage",
"OPTIONS": {"mount": "uploads"}}}``. Every method translates one call of the core: names
become nodes of the mount (under ``location``), files stream, saves create exclusively (so
two uploads racing for one name never overwrite each other), URLs are computed locally.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import difflib
import inspect
import os
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible
from django.utils.encoding import filepath_to_uri

from genro_storage import StorageNode, StoragePathError
from genro_storage.errors import MountNotFoundError

from . import conf
from .files import StorageFile

__all__ = ["GenroStorage"]


@deconstructible(path="genro_storage_django.storage.GenroStorage")
class GenroStorage(Storage):
    """Files of one mount (``mount``, else ``GENRO_STORAGE['DEFAULT_MOUNT']``), below
    ``location`` (a folder in the mount). ``base_url``: URLs are ``base_url + name``
    (for files a web server or CDN serves directly); otherwise the mount's own
    (presigned on object stores, signed for the serve view elsewhere, plain for
    ``public`` mounts), valid ``url_expires`` seconds. ``allow_overwrite``: a save
    replaces a file of the same name instead of finding a new name.
    """

    def __init__(
        self,
        mount: str | None = None,
        location: str = "",
        base_url: str | None = None,
        allow_overwrite: bool = False,
        url_expires: int | None = None,
        public: bool | None = None,
        **unknown: Any,
    ):
        for key in unknown:
            known = [name for name in inspect.signature(GenroStorage.__init__).parameters][1:-1]
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
            raise ImproperlyConfigured(f"GenroStorage has no option {key!r}{hint}")
        if mount is not None and not isinstance(mount, str):
            raise ImproperlyConfigured(f"GenroStorage option 'mount' must be a mount name, not {mount!r}")
        if not isinstance(location, str):
            raise ImproperlyConfigured(f"GenroStorage option 'location' must be a folder path, not {location!r}")
        self._mount = mount
        self._location = location.strip("/")
        self._base_url = base_url
        self._allow_overwrite = bool(allow_overwrite)
        self._url_expires = url_expires
        self._public = public

    # -- the mount, as settings say now --------------------------------------------------

    @property
    def mount_name(self) -> str:
        name = self._mount or conf.genro_settings()["DEFAULT_MOUNT"]
        if not name:
            raise ImproperlyConfigured(
                "GenroStorage has no mount: give OPTIONS {'mount': ...} or GENRO_STORAGE['DEFAULT_MOUNT']"
            )
        return name

    def node(self, name: str) -> StorageNode:
        """The core node of ``name`` (traversal is Django's ``SuspiciousFileOperation``)."""
        path = str(name).replace("\\", "/") if name else ""
        if path and not path.startswith("/"):  # '/etc/passwd' is refused, not rebased
            path = "/".join(part for part in path.split("/") if part not in ("", "."))  # './a/./b' is 'a/b'
        try:
            manager = conf.storage_manager()
            root = manager.node(self.mount_name, self._location)
            return root.child(path) if path else root
        except MountNotFoundError as exc:
            raise ImproperlyConfigured(f"GenroStorage: {exc}") from exc
        except StoragePathError as exc:
            raise SuspiciousFileOperation(f"Detected path traversal attempt in {name!r}: {exc}") from exc

    # -- the Storage contract ------------------------------------------------------------

    def _open(self, name: str, mode: str = "rb") -> StorageFile:
        node = self.node(name)
        if "r" in mode and "+" not in mode and not node.isfile:
            if node.isdir:
                raise IsADirectoryError(21, "Is a directory", node.fullpath)
            raise FileNotFoundError(2, "No such file", node.fullpath)
        if "+" in mode or "a" in mode:
            raise ValueError(f"GenroStorage files open for reading or writing, not {mode!r}")
        return StorageFile(node, name, mode)

    def _save(self, name: str, content: Any) -> str:
        while True:
            node = self.node(name)
            exclusive = not self._allow_overwrite and "exclusive_create" in node.capabilities
            try:
                with node.open("xb" if exclusive else "wb") as out:
                    _copy_content(content, out)
            except FileExistsError:
                name = self.get_available_name(name)  # another upload took it meanwhile
                continue
            mode = settings.FILE_UPLOAD_PERMISSIONS
            if mode is not None and "local_files" in node.capabilities:
                os.chmod(node.backend.ospath(node.path), mode)  # as FileSystemStorage does
            temporary = getattr(content, "temporary_file_path", None)
            if temporary is not None:
                # Saved: the upload's temporary file goes, as FileSystemStorage moves it away.
                with contextlib.suppress(FileNotFoundError):
                    os.remove(temporary())
            return name

    def delete(self, name: str) -> None:
        if not name:
            raise ValueError("The name must be given to delete().")
        node = self.node(name)
        if node.isdir:
            node.rmdir()  # an empty folder only, as FileSystemStorage (never a whole tree)
        else:
            node.delete()  # a file someone else deleted first is fine

    def exists(self, name: str) -> bool:
        return self.node(name).exists

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        folders, files = [], []
        node = self.node(path)
        if not node.isdir:
            if not node.path:
                return folders, files  # an empty mount
            if node.exists or node.file_above() is not None:
                raise NotADirectoryError(20, "Not a directory", node.fullpath)
            raise FileNotFoundError(2, "No such folder", node.fullpath)
        for child, info in node.entries():  # one listing, no request per name
            (folders if info["type"] == "directory" else files).append(child.basename)
        return folders, files

    def size(self, name: str) -> int:
        return self.node(name).size

    def url(self, name: str | None) -> str:
        if self._base_url is not None:
            return join_url(self._base_url, name)
        node = self.node(name or "")
        config = conf.genro_settings()
        public = self._public if self._public is not None else node.mount_name in config["PUBLIC_MOUNTS"]
        if public and "presign" not in node.capabilities:
            base = config["BASE_URL"]
            return f"{base}{quote(node.mount_name)}/{quote(node.path)}"
        expires = self._url_expires if self._url_expires is not None else config["URL_EXPIRES"]
        return node.url(expires_in=expires)

    def path(self, name: str) -> str:
        node = self.node(name)
        if "local_files" not in node.capabilities:
            raise NotImplementedError(f"mount {node.mount_name!r} keeps no local files: this storage has no path()")
        return node.backend.ospath(node.path)

    def get_accessed_time(self, name: str) -> _dt.datetime:
        return self._time(name, "atime")

    def get_created_time(self, name: str) -> _dt.datetime:
        return self._time(name, "ctime")

    def get_modified_time(self, name: str) -> _dt.datetime:
        return self._time(name, "mtime")

    def _time(self, name: str, which: str) -> _dt.datetime:
        """Aware UTC with USE_TZ, naive local time without (Django's rule)."""
        node = self.node(name)
        if "local_files" in node.capabilities:
            st = os.stat(node.backend.ospath(node.path))
            stamp = {"atime": st.st_atime, "ctime": st.st_ctime, "mtime": st.st_mtime}[which]
        else:
            stamp = node.mtime
            if stamp is None:
                raise NotImplementedError(f"mount {node.mount_name!r} keeps no file times")
        return django_time(stamp)

    # -- names: overwriting without making exists() lie ------------------------------------

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        if not self._allow_overwrite:
            return super().get_available_name(name, max_length=max_length)
        # The name itself, as Django 5.1's FileSystemStorage(allow_overwrite=True) keeps it
        # (Django 4.2's loop would look for another name for ever): checked, and cut to
        # max_length by its file root.
        name = str(name).replace("\\", "/")
        self.node(name)  # a traversal is SuspiciousFileOperation here
        if max_length is None or len(name) <= max_length:
            return name
        folder, _, file_name = name.rpartition("/")
        root, dot, ext = file_name.partition(".")
        keep = len(root) - (len(name) - max_length)
        if keep <= 0:
            raise SuspiciousFileOperation(
                f'Storage can not find an available filename for "{name}". '
                'Please make sure that the corresponding file field allows sufficient "max_length".'
            )
        return (f"{folder}/" if folder else "") + root[:keep] + dot + ext

    def is_name_available(self, name: str, max_length: int | None = None) -> bool:
        if self._allow_overwrite:
            return not (max_length and len(name) > max_length)
        return super().is_name_available(name, max_length=max_length)

    def get_alternative_name(self, file_root: str, file_ext: str) -> str:
        if self._allow_overwrite:
            return f"{file_root}{file_ext}"
        return super().get_alternative_name(file_root, file_ext)


def join_url(base: str, name: str | None) -> str:
    """``base`` + ``name`` as FileSystemStorage joins them: encodeURIComponent's safe set,
    no leading slash (so no ``//host``), a missing trailing slash on ``base`` added."""
    base = base if base.endswith("/") else base + "/"
    return base + (filepath_to_uri(name) or "").lstrip("/")


def django_time(stamp: float) -> _dt.datetime:
    """Seconds since the epoch under Django's rule: aware UTC with USE_TZ, else naive local."""
    return _dt.datetime.fromtimestamp(stamp, tz=_dt.timezone.utc if settings.USE_TZ else None)


def _copy_content(content: Any, out: Any) -> None:
    """Stream a Django File (``save()`` wraps anything else in one) into ``out`` chunk by
    chunk, from its start; text chunks are written as UTF-8."""
    for chunk in content.chunks():
        out.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
