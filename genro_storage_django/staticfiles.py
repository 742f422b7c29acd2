"""Static files on any mount: ``STORAGES["staticfiles"] = {"BACKEND":
"genro_storage_django.staticfiles.GenroStaticStorage", "OPTIONS": {"mount": "assets"}}``.

``collectstatic`` asks, for every file, whether it exists and when it was modified: here
both come from one recursive listing of the location (one request per 1,000 files on
object stores), kept a minute and dropped by this storage's own writes, so a second run
with nothing changed sends no request per file and uploads nothing. URLs are
``STATIC_URL + name`` unless ``base_url`` says otherwise.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin

from .storage import GenroStorage, django_time, join_url

__all__ = ["GenroStaticStorage", "GenroManifestStaticStorage"]


class GenroStaticStorage(GenroStorage):
    """A GenroStorage for collected static files: overwrites by name, URLs under
    ``STATIC_URL``, existence and times answered from one listing of the location."""

    #: Seconds a folder's listing answers exists() and get_modified_time().
    LISTING_TTL = 60.0

    def __init__(self, *args: Any, allow_overwrite: bool = True, **kwargs: Any):
        super().__init__(*args, allow_overwrite=allow_overwrite, **kwargs)
        self._listings: dict[str, tuple[float, dict[str, dict[str, Any]]]] = {}
        self._listing_lock = threading.Lock()

    def url(self, name: str | None) -> str:
        if self._base_url is None and getattr(settings, "STATIC_URL", None):
            return join_url(settings.STATIC_URL, name)
        return super().url(name)

    def _folder(self, name: str) -> tuple[str, str]:
        folder, _, base = str(name).replace("\\", "/").strip("/").rpartition("/")
        return folder, base

    def _listed(self, name: str) -> dict[str, Any] | None:
        """The info of ``name`` from the listing of the whole location (None: not there)."""
        folder, base = self._folder(name)
        if not base:
            return {"type": "directory", "size": 0, "mtime": None}
        now = time.monotonic()
        cached = self._listings.get(folder)
        if cached is None or now - cached[0] > self.LISTING_TTL:
            self._list_everything(now)
            cached = self._listings.get(folder, (now, {}))
        return cached[1].get(base)

    def _list_everything(self, now: float) -> None:
        """One recursive listing of the location (one request per 1,000 files on object
        stores), kept by folder; a folder the listing does not hold is known empty."""
        folders: dict[str, dict[str, dict[str, Any]]] = {"": {}}
        try:
            found = list(self.node("").walk_files())
        except (FileNotFoundError, NotADirectoryError):
            found = []
        folder_info = {"type": "directory", "size": 0, "mtime": None}
        for rel, info in found:
            parts = rel.split("/")
            for depth in range(1, len(parts)):
                folders.setdefault("/".join(parts[: depth - 1]), {})[parts[depth - 1]] = folder_info
                folders.setdefault("/".join(parts[:depth]), {})
            folders.setdefault("/".join(parts[:-1]), {})[parts[-1]] = info
            if info["type"] == "directory":
                folders.setdefault(rel, {})
        with self._listing_lock:
            self._listings = {folder: (now, entries) for folder, entries in folders.items()}

    def _note(self, name: str, info: dict[str, Any] | None) -> None:
        """This storage wrote (``info``) or deleted (None) ``name``: the kept listing says
        so at once, without listing again (a first collectstatic writes every file)."""
        folder, base = self._folder(name)
        with self._listing_lock:
            if not self._listings:
                return  # nothing kept: the next question lists
            now = time.monotonic()
            entries = self._listings.setdefault(folder, (now, {}))[1]
            if info is None:
                entries.pop(base, None)
                return
            entries[base] = info
            parts = folder.split("/") if folder else []
            for depth in range(len(parts)):
                above = self._listings.setdefault("/".join(parts[:depth]), (now, {}))[1]
                above.setdefault(parts[depth], {"type": "directory", "size": 0, "mtime": None})

    def exists(self, name: str) -> bool:
        self.node(name)  # a traversal is refused before any listing
        return self._listed(name) is not None

    def get_modified_time(self, name: str) -> _dt.datetime:
        info = self._listed(name)
        if info is None:
            raise FileNotFoundError(2, "No such file", name)
        if info.get("mtime") is None:
            return super().get_modified_time(name)
        return django_time(info["mtime"])

    def _save(self, name: str, content: Any) -> str:
        saved = super()._save(name, content)
        self._note(saved, {"type": "file", "size": getattr(content, "size", 0), "mtime": time.time()})
        return saved

    def delete(self, name: str) -> None:
        super().delete(name)
        self._note(name, None)


class GenroManifestStaticStorage(ManifestFilesMixin, GenroStaticStorage):
    """Hashed names (``app.3f2a1c.css``) and a manifest, on any mount."""
