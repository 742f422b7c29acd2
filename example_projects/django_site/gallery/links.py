"""Signed serve-view URLs for files of any mount, so every byte goes through the site.

``storage.url()`` presigns files on S3 (the browser then fetches them from the bucket);
these pages rather link every file to ``genro_storage:serve``, signed for a while.
"""

from __future__ import annotations

from typing import Any

from genro_storage import StorageNode
from genro_storage_django import storage_manager

#: Seconds a link on a page stays valid.
EXPIRES = 3600


def served_url(file: Any, expires: int = EXPIRES) -> str:
    """The signed serve-view URL of a node or a mount-bound field's file ('' when empty)."""
    if not file:
        return ""
    node: StorageNode = file if isinstance(file, StorageNode) else file.node
    return storage_manager().url_signer(node.mount_name).url(node.mount_name, node.path, expires)
