"""genro-storage: one API for files on local disk, memory, S3 and any fsspec backend.

>>> from genro_storage import StorageManager
>>> storage = StorageManager()
>>> storage.configure([{'name': 'scratch', 'type': 'memory'}])
>>> storage.node('scratch:hello.txt').write('hi')
2
"""

from .backends import StorageBackend
from .errors import (
    MountNotFoundError,
    StorageConfigError,
    StorageConnectionError,
    StorageError,
    StorageExistsError,
    StorageIsADirectoryError,
    StorageNotADirectoryError,
    StorageNotFoundError,
    StorageOSError,
    StoragePathError,
    StoragePermissionError,
    UnsupportedOperationError,
)
from .manager import Mount, StorageManager, check_config
from .node import StorageNode
from .transfer import TransferOptions, TransferProgress, TransferReport

__version__ = "0.1.0"

__all__ = [
    "StorageManager",
    "StorageNode",
    "check_config",
    "TransferOptions",
    "TransferProgress",
    "TransferReport",
    "StorageBackend",
    "Mount",
    "StorageError",
    "StorageConfigError",
    "StoragePathError",
    "MountNotFoundError",
    "UnsupportedOperationError",
    "StorageOSError",
    "StorageConnectionError",
    "StorageNotFoundError",
    "StorageExistsError",
    "StoragePermissionError",
    "StorageIsADirectoryError",
    "StorageNotADirectoryError",
]
