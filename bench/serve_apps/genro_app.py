"""genro-storage peer for bench/serve.py: StorageApp serving BENCH_ROOT at /files/<path>."""

import os

from genro_storage import StorageManager
from genro_storage.http import StorageApp

storage = StorageManager([{"name": "files", "type": "local", "path": os.environ["BENCH_ROOT"]}])
app = StorageApp(storage)
