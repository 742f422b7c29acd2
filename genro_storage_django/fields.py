"""Model fields bound to a mount: ``MountFileField(mount="uploads", upload_to="docs/")``.

Each row records its mount with its name (``"uploads:docs/report.pdf"``), so rows of one
field may point at different mounts while files move between them; new uploads go to the
field's current mount. A name without a mount (a row from a plain FileField) is on the
field's mount. Migrations record only the mount's name, never its configuration, so they
are the same in every environment. ``instance.field.node`` is the core node.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.fields.files import FieldFile, ImageFieldFile

from genro_storage import StorageNode

from .storage import GenroStorage

__all__ = ["MountFileField", "MountImageField", "MountStorage"]


class MountStorage(GenroStorage):
    """A GenroStorage whose names carry their mount: ``'mount:path'`` (a bare path is on
    ``mount``). Saves go to ``mount`` and return the qualified name."""

    def split(self, name: str) -> tuple[str, str]:
        """(mount, path) of a stored name."""
        mount, sep, path = str(name).partition(":")
        if sep and mount and "/" not in mount:
            return mount, path
        return self.mount_name, str(name)

    def node(self, name: str) -> StorageNode:
        mount, path = self.split(name)
        if mount == self.mount_name:
            return super().node(path)
        return GenroStorage(mount=mount).node(path)

    def _save(self, name: str, content: Any) -> str:
        mount, path = self.split(name)
        if mount == self.mount_name:
            saved = self.split(super()._save(path, content))[1]  # a new name comes back qualified
        else:
            saved = GenroStorage(mount=mount)._save(path, content)
        return f"{mount}:{saved}"

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        mount, path = self.split(name)
        room = None if max_length is None else max_length - len(mount) - 1
        return f"{mount}:{super().get_available_name(path, max_length=room)}"

    def generate_filename(self, filename: str) -> str:
        return super().generate_filename(self.split(filename)[1])

    def url(self, name: str | None) -> str:
        mount, path = self.split(name or "")
        if mount == self.mount_name:
            return super().url(path)
        return GenroStorage(mount=mount, url_expires=self._url_expires).url(path)

    def path(self, name: str) -> str:
        mount, path = self.split(name)
        return super().path(path) if mount == self.mount_name else GenroStorage(mount=mount).path(path)


class MountFieldFile(FieldFile):
    @property
    def node(self) -> StorageNode:
        """The core node of this file (copy_to, local_path, serve, url...)."""
        self._require_file()
        return self.storage.node(self.name)

    @property
    def mount(self) -> str:
        """The mount this row's file lies on."""
        self._require_file()
        return self.storage.split(self.name)[0]


class MountImageFieldFile(ImageFieldFile, MountFieldFile):
    pass


class _MountFieldMixin:
    """What both fields add to Django's: the mount, and a storage that records it."""

    def __init__(self, *args: Any, mount: str | None = None, **kwargs: Any):
        if "storage" in kwargs:
            raise TypeError("a mount-bound field takes mount=..., not storage= (use FileField for a storage)")
        self.mount = mount
        kwargs["storage"] = MountStorage(mount=mount)
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()  # type: ignore[misc]
        kwargs.pop("storage", None)  # the mount's configuration is the settings' business
        if self.mount is not None:
            kwargs["mount"] = self.mount
        return name, path, args, kwargs


class MountFileField(_MountFieldMixin, models.FileField):
    """A FileField on a mount (``mount=None``: ``GENRO_STORAGE['DEFAULT_MOUNT']``)."""

    attr_class = MountFieldFile


class MountImageField(_MountFieldMixin, models.ImageField):
    """An ImageField on a mount (Pillow reads the dimensions, as for ImageField)."""

    attr_class = MountImageFieldFile
