"""The rows of one file field, as ``storage_migrate`` reads and rewrites them.

:func:`resolve_field` checks ``app_label.Model.field``; :class:`FieldRows` pages through
its rows by primary key (each page a fresh query: nothing held open between rewrites),
turns each into a :class:`~genro_storage.migrate.FileMove`, and rewrites a batch of
settled moves in one transaction with a conditional UPDATE per row (``WHERE pk = ... AND
field = <old value>``), so a row edited meanwhile keeps its edit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction

from genro_storage import StorageManager
from genro_storage.migrate import COPIED, REUSED, FileMove

from ..fields import MountStorage
from ..storage import GenroStorage
from .references import unreferenced

__all__ = ["resolve_field", "FieldRows", "Rewrite"]


def resolve_field(label: str) -> models.FileField:
    """The file field ``app_label.Model.field`` names, on a genro-storage mount; a
    ValueError in one line otherwise."""
    parts = label.split(".")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"{label!r} is not app_label.Model.field (for example docs.Document.file)")
    app_label, model_name, field_name = parts
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError as exc:
        raise ValueError(f"{label!r}: {exc.args[0] if exc.args else exc}") from None
    try:
        field = model._meta.get_field(field_name)
    except FieldDoesNotExist:
        raise ValueError(f"{label!r}: {model.__name__} has no field {field_name!r}") from None
    if not isinstance(field, models.FileField):
        raise ValueError(f"{label!r} is a {type(field).__name__}, not a file field")
    if not isinstance(field.storage, GenroStorage):
        raise ValueError(
            f"{label!r} is stored by {type(field.storage).__name__}, not on a mount: storage_migrate moves the files "
            "of a MountFileField, a MountImageField or a FileField(storage=GenroStorage(...))"
        )
    return field


@dataclass
class Rewrite:
    """What rewriting a round's rows did: the moves whose rows now name their copies, the
    rows edited meanwhile (left as they are), the copies whose names the column cannot
    hold (their rows keep the old files)."""

    rows: list[FileMove] = field(default_factory=list)
    changed: int = 0
    refused: list[tuple[str, BaseException]] = field(default_factory=list)


@dataclass
class FieldRows:
    """The rows of ``field`` whose files go to mount ``to``, ``page`` rows per query.

    A mount-bound field's rows are rewritten to name their copies (``'to:path'``); a plain
    FileField's names carry no mount, so its rows stay as they are and each file must keep
    its name on ``to`` (switch the storage's mount once everything is copied).
    """

    field: models.FileField
    to: str
    storage: StorageManager
    page: int = 500
    already: int = 0  # rows whose file is on ``to`` already
    unreadable: list[tuple[str, BaseException]] = field(default_factory=list)  # values naming no file of a mount
    unchecked: dict[str, BaseException] = field(default_factory=dict)  # fields whose rows could not be read

    @property
    def mount_bound(self) -> bool:
        return isinstance(self.field.storage, MountStorage)

    @property
    def label(self) -> str:
        meta = self.field.model._meta
        return f"{meta.app_label}.{meta.object_name}.{self.field.name}"

    @property
    def rows(self) -> models.QuerySet:
        name = self.field.name
        # Every row, whatever the default manager filters (as dumpdata reads them).
        return self.field.model._base_manager.exclude(**{name: ""}).exclude(**{f"{name}__isnull": True})

    def count(self) -> int:
        return self.rows.count()

    def moves(self) -> Iterator[FileMove]:
        """A move per row whose file is not on ``to`` yet, in primary-key order."""
        last = None
        while True:
            page = self.rows.order_by("pk")
            if last is not None:
                page = page.filter(pk__gt=last)
            found = list(page.values_list("pk", self.field.name)[: self.page])
            if not found:
                return
            for pk, value in found:
                move = self._move(pk, value)
                if move is not None:
                    yield move
            last = found[-1][0]

    def _move(self, pk: object, value: str) -> FileMove | None:
        storage = self.field.storage
        try:
            if self.mount_bound and storage.split(value)[0] == self.to:
                self.already += 1
                return None
            source = storage.node(value)
            if not source.path:
                raise ValueError("names a mount, not a file")
            target = self.storage.node(self.to, source.path)
        except Exception as exc:
            self.unreadable.append((f"{self.label} pk={pk} {value!r}", exc))
            return None
        if not self.mount_bound and source.mount_name == self.to:
            self.already += 1
            return None
        return FileMove(source, target, tag=(pk, value), rename=self.mount_bound)

    def rewrite(self, moves: Iterable[FileMove]) -> Rewrite:
        """Point the row of each verified move at its copy, in one transaction (a plain
        FileField's rows are left as they are)."""
        done = Rewrite()
        if not self.mount_bound:
            return done
        name, max_length = self.field.name, self.field.max_length
        manager = self.field.model._base_manager
        with transaction.atomic(using=manager.db):
            for move in moves:
                if move.outcome not in (COPIED, REUSED) or move.copy is None:
                    continue
                pk, old = move.tag
                new = f"{self.to}:{move.copy.path}"
                if max_length is not None and len(new) > max_length:
                    error = ValueError(f"{new!r} is longer than {self.label}'s max_length {max_length}")
                    done.refused.append((move.source.fullpath, error))
                elif manager.filter(pk=pk, **{name: old}).update(**{name: new}):
                    done.rows.append(move)
                else:
                    done.changed += 1
        return done

    def unreferenced(self, moves: list[FileMove]) -> list[FileMove]:
        """The moves whose source no row names any more: of this field (a row may still, if
        it changed meanwhile or shares the file and was not rewritten yet) or of any other
        file field on a mount (see :func:`~.references.unreferenced`). Fields that cannot be
        read keep every source, and their labels go to :attr:`unchecked`."""
        return unreferenced(moves, self.unchecked)
