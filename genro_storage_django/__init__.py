"""Django integration of genro-storage: ``GenroStorage`` for ``STORAGES``, mounts from
``settings.GENRO_STORAGE``, system checks ``genro_storage.E0NN``.

``storage_manager()`` is the process's :class:`genro_storage.StorageManager`, built from
settings on first use and rebuilt when they change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from genro_storage import StorageManager

__all__ = ["storage_manager"]


def storage_manager() -> StorageManager:
    """The manager of this process's ``GENRO_STORAGE`` mounts."""
    from .conf import storage_manager as current

    return current()
