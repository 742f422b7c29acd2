"""The serve view over a real socket: the test site under gunicorn (WSGI, gthread) and
under uvicorn (ASGI), on local, memory and S3 mounts, fetched with a real client."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from helpers import mount_config, server_for

from genro_storage import StorageManager

HERE = Path(__file__).resolve().parent
SECRET = "a-url-secret-for-the-wire-tests-0123456789"
DATA = os.urandom(700 * 1024)
SERVERS = ["gunicorn", "uvicorn"]
#: gunicorn with genro_storage_django.wsgi in front of Django's handler as well.
WITH_ENTRY = [*SERVERS, "gunicorn-entry"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveSite:
    """The test site in a server process of its own, stopped (its whole group) on exit."""

    def __init__(self, server: str, storage: dict, tmp_path: Path, seed: dict | None = None):
        self.port = free_port()
        env = {
            **os.environ,
            "GENRO_TEST_STORAGE": json.dumps(storage),
            "GENRO_TEST_SEED": json.dumps(seed or {}),
            "GENRO_TEST_DB": str(tmp_path / "site.sqlite3"),
            "PYTHONPATH": str(HERE),
        }
        bind = f"127.0.0.1:{self.port}"
        if server.startswith("gunicorn"):
            module = "testsite.wsgi_entry" if server == "gunicorn-entry" else "testsite.wsgi"
            command = ["-m", "gunicorn", "-k", "gthread", "--threads", "4", "-w", "1", "-b", bind, module]
        else:
            command = ["-m", "uvicorn", "--host", "127.0.0.1", "--port", str(self.port), "testsite.asgi:application"]
        self.log = open(tmp_path / f"{server}.log", "wb")  # noqa: SIM115  (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, *command],
            cwd=HERE,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{server} exited: {(tmp_path / f'{server}.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def request(self, method: str, path: str, **headers: str) -> tuple[http.client.HTTPResponse, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, headers=headers)
            response = conn.getresponse()
            return response, response.read()
        finally:
            conn.close()

    def pids(self) -> list[int]:
        """The server's processes (gunicorn's master and worker)."""
        found = [self.proc.pid]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    found.append(int(entry))
        return found

    def open_count(self, path: str) -> int:
        """Descriptors the server's processes hold on ``path``."""
        count = 0
        for pid in self.pids():
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    try:
                        count += os.readlink(f"/proc/{pid}/fd/{fd}") == path
                    except OSError:
                        pass
            except OSError:
                pass
        return count

    def peak_rss_kib(self) -> int:
        worker = self.pids()[-1]
        for line in Path(f"/proc/{worker}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


FILES = {"dir/data.bin": DATA, "shared/ok.txt": b"shared", "été/ça va.txt": b"non-ascii", "page.html": b"<b>x</b>"}


def start(server, kind, tmp_path, request, **settings) -> LiveSite:
    """The site on mounts ``pub`` (public) and ``priv`` of ``kind``, each holding FILES."""
    backend = server_for(kind, request)
    mounts = [mount_config(kind, "pub", tmp_path, backend), mount_config(kind, "priv", tmp_path, backend)]
    seed = {}
    if kind == "memory":  # the server's own process holds them
        for rel, data in FILES.items():
            local = tmp_path / "seed" / rel
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(data)
            seed.update({f"pub:{rel}": str(local), f"priv:{rel}": str(local)})
    else:
        writer = StorageManager(mounts)
        for rel, data in FILES.items():
            writer.node(f"pub:{rel}").write_bytes(data)
            writer.node(f"priv:{rel}").write_bytes(data)
    storage = {
        "MOUNTS": [*mounts, {"name": "a", "type": "memory"}],
        "DEFAULT_MOUNT": "a",
        "PUBLIC_MOUNTS": ["pub"],
        "URL_SECRET": SECRET,
        "AUTHORIZE": "testapp.views.authorize_shared",
        **settings,
    }
    site = LiveSite(server, storage, tmp_path, seed)
    request.addfinalizer(site.stop)
    return site


def signed(mount: str, path: str, expires_in: int = 600) -> str:
    signer = StorageManager([{"name": mount, "type": "memory"}])
    signer.configure_urls(SECRET, "/files/")
    return signer.url_signer(mount).url(mount, path, expires_in)


@pytest.mark.parametrize("server", WITH_ENTRY)
def test_serve_view_on_the_wire(server, kind, tmp_path, request):
    site = start(server, kind, tmp_path, request)
    whole, body = site.request("GET", "/files/pub/dir/data.bin")
    assert whole.status == 200 and body == DATA
    assert whole.getheader("Content-Length") == str(len(DATA)) and whole.getheader("Accept-Ranges") == "bytes"
    assert whole.getheader("X-Content-Type-Options") == "nosniff"
    tag = whole.getheader("ETag")
    part, body = site.request("GET", "/files/pub/dir/data.bin", Range="bytes=1000-1999")
    assert part.status == 206 and body == DATA[1000:2000]
    assert part.getheader("Content-Range") == f"bytes 1000-1999/{len(DATA)}"
    multi, body = site.request("GET", "/files/pub/dir/data.bin", Range="bytes=0-99,-100")
    assert multi.status == 206 and multi.getheader("Content-Type").startswith("multipart/byteranges")
    assert DATA[:100] in body and DATA[-100:] in body and len(body) == int(multi.getheader("Content-Length"))
    cached, body = site.request("GET", "/files/pub/dir/data.bin", **{"If-None-Match": tag})
    assert cached.status == 304 and body == b"" and cached.getheader("Content-Type") is None
    head, body = site.request("HEAD", "/files/pub/dir/data.bin")
    assert head.status == 200 and body == b"" and head.getheader("Content-Length") == str(len(DATA))
    bad_range, _ = site.request("GET", "/files/pub/dir/data.bin", Range=f"bytes={len(DATA)}-")
    assert bad_range.status == 416
    named, body = site.request("GET", "/files/pub/" + quote("été/ça va.txt"))
    assert named.status == 200 and body == b"non-ascii"
    assert site.request("GET", "/files/pub/dir/none.bin")[0].status == 404
    assert site.request("GET", "/files/none/x")[0].status == 404
    # Private: a signed URL, or AUTHORIZE (here: shared/ only).
    assert site.request("GET", "/files/priv/dir/data.bin")[0].status == 403
    ok, body = site.request("GET", signed("priv", "dir/data.bin"), Range="bytes=0-9")
    assert ok.status == 206 and body == DATA[:10]
    assert site.request("GET", signed("priv", "dir/data.bin").replace("signature=", "signature=0"))[0].status == 403
    signer = StorageManager([{"name": "priv", "type": "memory"}])
    signer.configure_urls(SECRET, "/files/")
    stale = signer.url_signer("priv").query("priv", "dir/data.bin", 60, now=time.time() - 3600)
    assert site.request("GET", f"/files/priv/dir/data.bin?{stale}")[0].status == 403  # validly signed, expired
    assert site.request("GET", "/files/priv/shared/ok.txt")[1] == b"shared"
    assert site.request("GET", "/files/priv/page.html")[0].status == 403


@pytest.mark.parametrize("server", WITH_ENTRY)
def test_offload_headers_on_the_wire(server, tmp_path, request, s3_server):
    kind_mounts = {
        "OFFLOAD": {"pub": {"mode": "x-accel-redirect", "location": "/internal/"}, "priv": "x-sendfile"},
    }
    site = start(server, "local", tmp_path, request, **kind_mounts)
    answer, body = site.request("GET", "/files/pub/" + quote("été/ça va.txt"), Range="bytes=0-1")
    assert answer.status == 200 and body == b""
    assert answer.getheader("X-Accel-Redirect") == "/internal/%C3%A9t%C3%A9/%C3%A7a%20va.txt"
    answer, body = site.request("GET", signed("priv", "dir/data.bin"))
    assert answer.getheader("X-Sendfile").encode("latin-1") == str(tmp_path / "priv-root/dir/data.bin").encode()
    answer, _ = site.request("GET", "/files/priv/dir/data.bin")
    assert answer.status == 403 and answer.getheader("X-Sendfile") is None


@pytest.mark.parametrize("server", WITH_ENTRY)
def test_redirect_offload_on_the_wire(server, tmp_path, request, s3_server):
    site = start(server, "s3", tmp_path, request, OFFLOAD={"pub": "redirect"})
    answer, body = site.request("GET", "/files/pub/dir/data.bin")
    assert answer.status == 302 and body == b""
    location = answer.getheader("Location")
    assert location.startswith(s3_server.endpoint_url)
    import urllib.request

    with urllib.request.urlopen(location) as got:
        assert got.read() == DATA


def test_a_64_mib_download_under_asgi_holds_little_memory(tmp_path, request):
    site = start("uvicorn", "local", tmp_path, request)
    big = tmp_path / "pub-root" / "big.bin"
    with open(big, "wb") as out:
        for _ in range(64):
            out.write(os.urandom(1 << 20))
    site.request("GET", "/files/pub/dir/data.bin")  # warm: every module imported
    before = site.peak_rss_kib()
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=60)
    conn.request("GET", "/files/pub/big.bin")
    response = conn.getresponse()
    first = response.read(1 << 20)
    time.sleep(1)  # a slow client: a server that buffers the file has read it all by now
    total = len(first)
    while chunk := response.read(1 << 20):
        total += len(chunk)
    conn.close()
    grown = site.peak_rss_kib() - before
    assert total == 64 << 20
    assert grown < 4 * 1024, f"peak RSS grew {grown} KiB during a 64 MiB download"


@pytest.mark.parametrize("server", SERVERS)
def test_a_client_going_away_closes_the_file(server, tmp_path, request):
    site = start(server, "local", tmp_path, request)
    big = tmp_path / "pub-root" / "big.bin"
    with open(big, "wb") as out:
        for _ in range(64):
            out.write(os.urandom(1 << 20))
    site.request("HEAD", "/files/pub/big.bin")
    baseline = site.open_count(str(big))
    sock = socket.create_connection(("127.0.0.1", site.port))
    sock.sendall(b"GET /files/pub/big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    received = 0
    while received < 512 * 1024:
        received += len(sock.recv(65536))
    assert site.open_count(str(big)) > baseline  # the body's own descriptor, mid-download
    sock.close()
    deadline = time.monotonic() + 20
    while site.open_count(str(big)) > baseline and time.monotonic() < deadline:
        time.sleep(0.1)
    assert site.open_count(str(big)) == baseline
