"""A StorageApp for servers started by the tests (``gunicorn tests.http_app:app``).

GS_TEST_ROOT is the local mount's root; GS_TEST_SECRET signs URLs.
"""

import os

from genro_storage import StorageManager
from genro_storage.http import StorageApp

storage = StorageManager([{"name": "files", "type": "local", "path": os.environ["GS_TEST_ROOT"]}])
storage.configure_urls(os.environ.get("GS_TEST_SECRET", "test-secret-of-32-characters-min"), "/")
app = StorageApp(storage)
