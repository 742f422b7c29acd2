"""Offload: the app checks access, the front server (X-Sendfile, X-Accel-Redirect) or the
object store (a redirect to a presigned URL) sends the bytes."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from flask_helpers import new_app
from helpers import mount_config


@pytest.fixture
def local(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "report 1.pdf").write_bytes(b"%PDF-1.4 local")
    return {"name": "loc", "type": "local", "path": str(root)}


def _client(app, ext, spec):
    @app.route("/get")
    def get():
        return ext.serve(spec, as_attachment=True, download_name="rapport été.pdf")

    return app.test_client()


def test_use_x_sendfile_hands_local_files_to_the_front_server(local):
    app, ext = new_app(GENRO_STORAGE_MOUNTS=[local], USE_X_SENDFILE=True)
    response = _client(app, ext, "loc:report 1.pdf").get("/get")
    assert response.status_code == 200
    assert response.headers["X-Sendfile"] == os.path.join(local["path"], "report 1.pdf")
    assert response.data == b""
    assert response.headers["ETag"]
    assert "filename*=UTF-8''rapport%20%C3%A9t%C3%A9.pdf" in response.headers["Content-Disposition"]


def test_use_x_sendfile_is_read_at_each_call_as_send_file_does(local):
    app, ext = new_app(GENRO_STORAGE_MOUNTS=[local])
    client = _client(app, ext, "loc:report 1.pdf")
    assert "X-Sendfile" not in client.get("/get").headers
    app.config["USE_X_SENDFILE"] = True
    assert "X-Sendfile" in client.get("/get").headers


def test_offloaded_answers_still_answer_preconditions_themselves(local):
    app, ext = new_app(GENRO_STORAGE_MOUNTS=[local], USE_X_SENDFILE=True)
    client = _client(app, ext, "loc:report 1.pdf")
    tag = client.get("/get").headers["ETag"]
    response = client.get("/get", headers={"If-None-Match": tag})
    assert response.status_code == 304
    assert "X-Sendfile" not in response.headers


def test_x_accel_redirect_per_mount_escapes_the_uri(local):
    app, ext = new_app(
        GENRO_STORAGE_MOUNTS=[local],
        GENRO_STORAGE_OFFLOAD={"loc": {"mode": "x-accel-redirect", "location": "/protected/"}},
    )
    response = _client(app, ext, "loc:report 1.pdf").get("/get")
    assert response.headers["X-Accel-Redirect"] == "/protected/report%201.pdf"
    assert response.data == b""
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_missing_file_with_offload_is_a_404(local):
    app, ext = new_app(GENRO_STORAGE_MOUNTS=[local], USE_X_SENDFILE=True)
    assert _client(app, ext, "loc:nope.pdf").get("/get").status_code == 404


def test_redirect_to_a_presigned_url_for_s3(s3_server, tmp_path):
    mount = mount_config("s3", "s3", tmp_path, s3_server)
    app, ext = new_app(
        GENRO_STORAGE_MOUNTS=[mount], GENRO_STORAGE_OFFLOAD={"s3": {"mode": "redirect", "expires_in": 60}}
    )
    with app.app_context():
        ext.node("s3:docs/x.pdf").write_bytes(b"%PDF-1.4 s3")
    response = _client(app, ext, "s3:docs/x.pdf").get("/get")
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "private, no-store"
    location = response.headers["Location"]
    # Valid at least the configured minute (rounded up to a window, so the URL stays stable).
    assert 60 <= int(parse_qs(urlsplit(location).query)["X-Amz-Expires"][0]) <= 66
    fetched = httpx.get(location)
    assert fetched.status_code == 200
    assert fetched.content == b"%PDF-1.4 s3"
    assert "attachment" in fetched.headers["Content-Disposition"]
