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


#: Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_binary() -> str:
    """azurite-blob installed by scripts/test.sh (npm), or named by $AZURITE_BLOB."""
    import shutil
    from pathlib import Path

    candidates = [
        os.environ.get("AZURITE_BLOB", ""),
        str(Path(__file__).resolve().parent.parent / ".cache/azurite/node_modules/.bin/azurite-blob"),
        shutil.which("azurite-blob") or "",
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("azurite-blob not found: run scripts/test.sh (it installs azurite with npm)")


@contextmanager
def azurite(location, *containers: str) -> Iterator[dict]:
    """Run azurite's blob service on a free port; yield the azure mount options."""
    import socket
    import subprocess
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(os.path.join(location, "azurite.log"), "w")
    proc = subprocess.Popen(
        [
            azurite_binary(),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            str(location),
            "--silent",
            "--skipApiVersionCheck",  # azurite lags the SDK's API version
            "--disableTelemetry",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"azurite exited: {open(log.name).read()}")
            try:
                urllib.request.urlopen(url + "?comp=list", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # any HTTP answer means it listens
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        options = {
            "connection_string": (
                f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
                f"AccountKey={AZURITE_KEY};BlobEndpoint={url};"
            )
        }
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient.from_connection_string(options["connection_string"])
        for name in containers:
            service.create_container(name)
        yield options
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
