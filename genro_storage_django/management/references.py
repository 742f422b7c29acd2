"""Which rows still name a file: what ``storage_migrate --delete-source`` asks before it
deletes an old file, of every file field on a mount in the installed models."""

from __future__ import annotations

from django.apps import apps
from django.db import DatabaseError, models, transaction

from genro_storage.migrate import FileMove

from ..fields import MountStorage
from ..storage import GenroStorage

__all__ = ["file_fields", "unreferenced"]

#: File names per query (each a ``LIKE``): below SQLite's oldest limit of 999 parameters.
CHUNK = 500


def unreferenced(moves: list[FileMove], unchecked: dict[str, BaseException]) -> list[FileMove]:
    """The moves whose source no row of any file field on a mount names. A field that
    cannot be read keeps every source: its label and error go to ``unchecked``."""
    still: set[str] = set()
    unread = False
    for field in file_fields({move.source.mount_name for move in moves}):
        try:
            # A savepoint: a failed query must not abort the caller's transaction.
            with transaction.atomic(using=field.model._base_manager.db):
                still |= named(field, moves)
        except DatabaseError as exc:
            meta = field.model._meta
            unchecked.setdefault(f"{meta.app_label}.{meta.object_name}.{field.name}", exc)
            unread = True
    return [] if unread else [move for move in moves if move.source.fullpath not in still]


def file_fields(mounts: set[str] | None = None) -> list[models.FileField]:
    """Every file field stored on a mount, in the installed models, each column once; with
    ``mounts``, only those whose rows may name a file there (a plain name is on the
    field's own mount, a ``mount:path`` anywhere)."""
    return [
        field
        for model in apps.get_models()
        if not model._meta.proxy
        for field in model._meta.local_concrete_fields
        if isinstance(field, models.FileField)
        and isinstance(field.storage, GenroStorage)
        and (mounts is None or isinstance(field.storage, MountStorage) or field.storage.mount_name in mounts)
    ]


def named(field: models.FileField, moves: list[FileMove]) -> set[str]:
    """The sources (``mount:path``) of ``moves`` that a row of ``field`` may name, however it
    spells them (``./a//b``, under a storage ``location``, in another case, which a column
    or a file system may not tell apart): the rows ending with a source's file name are read
    and their values resolved as the field resolves them. A value naming no file keeps
    every source whose file name it ends with."""
    by_path: dict[str, set[str]] = {}
    by_basename: dict[str, set[str]] = {}
    for move in moves:
        source = move.source
        by_path.setdefault(source.fullpath.lower(), set()).add(source.fullpath)
        by_basename.setdefault(source.basename.lower(), set()).add(source.fullpath)
    basenames = sorted(by_basename)
    rows = field.model._base_manager.all()
    found: set[str] = set()
    for start in range(0, len(basenames), CHUNK):
        match = models.Q()
        for basename in basenames[start : start + CHUNK]:
            match |= models.Q(**{f"{field.name}__iendswith": basename})
        for value in rows.filter(match).values_list(field.name, flat=True).distinct():
            try:
                full = field.storage.node(value).fullpath.lower()
            except Exception:
                tail = str(value).replace("\\", "/").rsplit("/", 1)[-1].lower()
                found.update(by_basename.get(tail, ()))
            else:
                found.update(by_path.get(full, ()))
    return found
