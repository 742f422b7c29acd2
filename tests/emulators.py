"""Cloud emulators on 127.0.0.1 for the tests: GCS (gcp-storage-emulator) and Azure (azurite).

Each is started by a session fixture and stopped after the tests. Where an emulator lacks
an endpoint the real service has, it is named here, and the smallest stand-in is added
to the emulator itself (never to genro-storage).
"""

from __future__ import annotations

import http.server
import os
import types
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http import HTTPStatus

# gcsfs asks each bucket's type over gRPC, which the emulator does not serve: each call
# would wait ~60 s. Must be set before gcsfs is imported.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")


@contextmanager
def gcs_emulator(*buckets: str) -> Iterator[dict]:
    """Run gcp-storage-emulator in memory on a free port; yield the gcs mount options."""
    import gcp_storage_emulator.server as gserver
    from gcp_storage_emulator.exceptions import NotFound
    from gcp_storage_emulator.handlers import objects

    class APIThread(gserver.APIThread):
        # Emulator gap: a listen backlog of 5, so concurrent clients stall for seconds.
        def run(self):
            server_class = type("Server", (http.server.HTTPServer,), {"request_queue_size": 1024})
            self._httpd = server_class((self._host, self._port), partial(gserver.RequestHandler, self._storage))
            self.is_running.set()
            self._httpd.serve_forever()

    def move(req, res, storage, *args, **kwargs):
        # Emulator gap: objects.move (moveTo) answers 501; GCS moves within a bucket.
        params = req.params
        try:
            res.json(
                objects._copy(
                    req.base_url,
                    storage,
                    params["bucket_name"],
                    params["object_id"],
                    params["bucket_name"],
                    params["dest_object_id"],
                )
            )
            storage.delete_file(params["bucket_name"], params["object_id"])
        except NotFound:
            res.status = HTTPStatus.NOT_FOUND

    def cancel_upload(req, res, storage, *args, **kwargs):
        # Emulator gap: DELETE on a resumable upload session (cancel) answers 501.
        try:
            storage.delete_resumable_file_obj(req.query["upload_id"][0])
        except (NotFound, KeyError):
            pass
        res.status = types.SimpleNamespace(value=499, phrase="Client Closed Request")

    bucket, obj = r"(?P<bucket_name>[-.\w]+)", r"(?P<object_id>.*[^/]+)"
    handlers = gserver.HANDLERS
    gserver.HANDLERS = (
        (rf"^/storage/v1/b/{bucket}/o/{obj}/moveTo/o/(?P<dest_object_id>.*[^/]+)$", {"POST": move}),
        (
            rf"^/upload/storage/v1/b/{bucket}/o$",
            {"POST": objects.insert, "PUT": objects.upload_partial, "DELETE": cancel_upload},
        ),
    ) + tuple(handlers)
    server = gserver.create_server("127.0.0.1", 0, in_memory=True)
    server._api = APIThread("127.0.0.1", 0, server._storage)
    server.start()
    try:
        host, port = server._api._httpd.server_address
        options = {"endpoint_url": f"http://{host}:{port}", "token": "anon", "project": "test"}
        import gcsfs

        fs = gcsfs.GCSFileSystem(skip_instance_cache=True, **options)
        for name in buckets:
            fs.mkdir(name)
        yield options
    finally:
        server.stop()
        gserver.HANDLERS = handlers
