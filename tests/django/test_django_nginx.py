"""The README's nginx configuration for X-Accel-Redirect, with a real nginx in front of the
test site under gunicorn: Django checks access, nginx sends the bytes (ranges included),
and the security headers the app set survive the internal redirect."""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from test_django_wire import DATA, free_port, signed, start

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONFIG = """
{user}
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
{snippet}
    }}
}}
"""


def readme_snippet() -> str:
    """The nginx ``location`` blocks from the README, with this test's ports and paths."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start_at = readme.index("```nginx\n") + len("```nginx\n")
    return readme[start_at : readme.index("```", start_at)]


@pytest.fixture
def nginx_site(tmp_path, request):
    site = start(
        "gunicorn",
        "local",
        tmp_path,
        request,
        OFFLOAD={"pub": {"mode": "x-accel-redirect", "location": "/_protected/pub/"}},
    )
    port = free_port()
    snippet = (
        readme_snippet()
        .replace("127.0.0.1:8000", f"127.0.0.1:{site.port}")
        .replace("/srv/media/uploads/", f"{tmp_path}/pub-root/")
        .replace("/_protected/uploads/", "/_protected/pub/")
    )
    # As root, nginx's workers would be another user, who cannot read pytest's private tmp_path.
    user = "user root;" if os.geteuid() == 0 else ""
    (tmp_path / "nginx.conf").write_text(CONFIG.format(user=user, tmp=tmp_path, port=port, snippet=snippet))
    proc = subprocess.Popen([NGINX, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while True:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start: {proc.stderr.read().decode()}") from None
            time.sleep(0.1)
    yield port, tmp_path
    proc.terminate()
    proc.wait(timeout=10)


def fetch(port, path, **headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


def test_nginx_sends_what_django_allowed(nginx_site):
    port, tmp_path = nginx_site
    (tmp_path / "pub-root" / "page.html").write_bytes(b"<script>alert(1)</script>")
    whole, body = fetch(port, "/files/pub/dir/data.bin")
    assert whole.status == 200 and body == DATA and whole.getheader("X-Accel-Redirect") is None
    assert whole.getheader("X-Content-Type-Options") == "nosniff"
    part, body = fetch(port, "/files/pub/dir/data.bin", Range="bytes=100-199")
    assert part.status == 206 and body == DATA[100:200]  # nginx answers the range
    # The ETag a client holds is nginx's: the app judges that one too (a resumed download,
    # a revalidation), and only nginx's Accept-Ranges is sent.
    tag = whole.getheader("ETag")
    resumed, body = fetch(port, "/files/pub/dir/data.bin", Range="bytes=100-199", **{"If-Match": tag})
    assert resumed.status == 206 and body == DATA[100:200]
    assert fetch(port, "/files/pub/dir/data.bin", **{"If-None-Match": tag})[0].status == 304
    assert whole.getheader("Accept-Ranges") == "bytes"
    named, body = fetch(port, "/files/pub/" + quote("été/ça va.txt"))
    assert named.status == 200 and body == b"non-ascii"  # an escaped URI, as nginx expects
    page, body = fetch(port, "/files/pub/page.html")
    assert page.status == 200 and "sandbox" in page.getheader("Content-Security-Policy")
    assert page.getheader("Content-Disposition") == 'attachment; filename="page.html"'  # kept by nginx
    assert fetch(port, "/files/pub/dir/none.bin")[0].status == 404  # Django's answer
    assert fetch(port, "/_protected/pub/dir/data.bin")[0].status == 404  # internal only
    assert fetch(port, "/files/priv/dir/data.bin")[0].status == 403
    assert fetch(port, signed("priv", "dir/data.bin"))[1] == DATA  # not offloaded: Django sends it
