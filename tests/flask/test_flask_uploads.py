"""Uploads through the blueprint (test client): multipart POST and raw PUT on local,
memory and S3 mounts; sizes, names, overwrites, types and authorize."""

from __future__ import annotations

import io
import os

import pytest
from flask_helpers import new_app

from genro_storage_flask import safe_name


def _app(mount, *, authorize=lambda node, action: True, upload=True, **config):
    app, ext = new_app(GENRO_STORAGE_MOUNTS=[mount], GENRO_STORAGE_PUBLIC_MOUNTS=[mount["name"]], **config)
    app.register_blueprint(ext.blueprint(upload=upload, authorize=authorize))
    return app, ext


def _read(app, ext, spec):
    with app.app_context():
        node = ext.node(spec)
        return node.read_bytes() if node.exists else None


def test_multipart_post_saves_each_file_and_answers_their_urls(mount):
    app, ext = _app(mount)
    response = app.test_client().post(
        "/files/m/inbox/",
        data={"note": "a field", "f": [(io.BytesIO(b"one"), "one.txt"), (io.BytesIO(b"two" * 1000), "two.bin")]},
    )
    assert response.status_code == 201, response.get_json()
    files = response.get_json()["files"]
    assert [(f["path"], f["size"]) for f in files] == [("inbox/one.txt", 3), ("inbox/two.bin", 3000)]
    assert response.headers["Location"] == "/files/m/inbox/one.txt"
    assert app.test_client().get(files[1]["url"]).data == b"two" * 1000
    assert _read(app, ext, "m:inbox/one.txt") == b"one"


def test_put_saves_the_raw_body(mount):
    app, ext = _app(mount)
    response = app.test_client().put("/files/m/raw/data.bin", data=b"\x00\x01" * 5000)
    assert response.status_code == 201
    assert response.get_json()["files"][0]["url"] == "/files/m/raw/data.bin"
    assert _read(app, ext, "m:raw/data.bin") == b"\x00\x01" * 5000


def test_no_silent_overwrite(mount):
    app, ext = _app(mount)
    client = app.test_client()
    assert client.put("/files/m/x.txt", data=b"first").status_code == 201
    refused = client.put("/files/m/x.txt", data=b"second")
    assert refused.status_code == 409
    assert "overwrite" in refused.get_json()["error"]
    again = client.post("/files/m/", data={"f": (io.BytesIO(b"third"), "x.txt")})
    assert again.status_code == 409, again.get_json()
    assert _read(app, ext, "m:x.txt") == b"first"
    assert client.put("/files/m/x.txt?overwrite=1", data=b"fourth").status_code == 201
    assert _read(app, ext, "m:x.txt") == b"fourth"


def test_too_large_is_413_and_nothing_is_saved(mount):
    app, ext = _app(mount, GENRO_STORAGE_MAX_UPLOAD_SIZE=1000)
    client = app.test_client()
    assert client.put("/files/m/big.bin", data=b"x" * 1001).status_code == 413
    posted = client.post("/files/m/", data={"f": (io.BytesIO(b"x" * 5000), "big.bin")})
    assert posted.status_code == 413
    assert _read(app, ext, "m:big.bin") is None
    assert client.put("/files/m/small.bin", data=b"x" * 900).status_code == 201


@pytest.mark.parametrize("name", ["../evil.txt", "..", "a/b.txt", "/etc/passwd"])
def test_names_carrying_a_path_are_refused(mount, name):
    app, ext = _app(mount)
    response = app.test_client().post("/files/m/", data={"f": (io.BytesIO(b"x"), name)})
    assert response.status_code == 400
    assert "path" in response.get_json()["error"]
    with app.app_context():
        assert ext.node("m:").children() == []


@pytest.mark.parametrize("quoted", [r"..\\..\\evil.txt", r"C:\\fakepath\\x.txt"])
def test_backslashed_names_are_refused(mount, quoted):
    # Backslashes quoted inside the header's quoted string reach the app as backslashes.
    app, ext = _app(mount)
    body = f'--B\r\nContent-Disposition: form-data; name="f"; filename="{quoted}"\r\n\r\nx\r\n--B--\r\n'
    response = app.test_client().post("/files/m/", data=body.encode(), content_type="multipart/form-data; boundary=B")
    assert response.status_code == 400
    with app.app_context():
        assert ext.node("m:").children() == []


def test_put_paths_leaving_the_mount_are_refused(mount):
    app, _ = _app(mount)
    client = app.test_client()
    assert client.put("/files/m/a/%2e%2e/%2e%2e/x.txt", data=b"x").status_code == 400
    assert client.put("/files/m/.htaccess", data=b"x").status_code == 400
    assert client.put("/files/m/folder/", data=b"x").status_code == 400


def test_names_are_made_safe():
    assert safe_name("résumé 2024.pdf") == "résumé 2024.pdf"
    assert safe_name(".htaccess") == "htaccess"
    assert safe_name("a\u202egpj.exe") == "a_gpj.exe"
    assert safe_name("x<y>:z.txt") == "x_y__z.txt"
    assert safe_name("CON.txt") == "_CON.txt"
    assert safe_name("e\u0301t\u00e9.txt") == "\u00e9t\u00e9.txt"
    long = safe_name("é" * 300 + ".jpeg")
    assert long.endswith(".jpeg") and len(long.encode()) <= 255
    with pytest.raises(ValueError):
        safe_name(" . ")


def test_made_safe_names_are_what_is_saved(mount):
    app, ext = _app(mount)
    response = app.test_client().post("/files/m/", data={"f": (io.BytesIO(b"x"), ".bashrc")})
    assert response.get_json()["files"][0]["path"] == "bashrc"


def test_authorize_write_denied_stops_the_form_there(mount):
    asked = []

    def authorize(node, action):
        asked.append((node.fullpath, action))
        return node.basename != "no.txt"

    app, ext = _app(mount, authorize=authorize)
    client = app.test_client()
    form = {"f": [(io.BytesIO(b"ok"), "ok.txt"), (io.BytesIO(b"no"), "no.txt"), (io.BytesIO(b"later"), "later.txt")]}
    refused = client.post("/files/m/", data=form)
    assert refused.status_code == 403
    assert asked == [("m:ok.txt", "write"), ("m:no.txt", "write")]
    # Each file is published when its part ends: the refusal says which are saved.
    assert [f["path"] for f in refused.get_json()["files"]] == ["ok.txt"]
    assert _read(app, ext, "m:ok.txt") == b"ok"
    assert _read(app, ext, "m:no.txt") is None and _read(app, ext, "m:later.txt") is None
    assert client.put("/files/m/no.txt", data=b"x").status_code == 403


def test_a_form_broken_off_keeps_the_files_before_the_break(mount):
    app, ext = _app(mount)
    body = (
        b'--B\r\nContent-Disposition: form-data; name="f"; filename="whole.txt"\r\n\r\nwhole\r\n'
        b'--B\r\nContent-Disposition: form-data; name="f"; filename="cut.txt"\r\n\r\npartial'
    )
    response = app.test_client().post("/files/m/", data=body, content_type="multipart/form-data; boundary=B")
    assert response.status_code == 400
    assert [f["path"] for f in response.get_json()["files"]] == ["whole.txt"]
    assert _read(app, ext, "m:whole.txt") == b"whole"
    assert _read(app, ext, "m:cut.txt") is None


def test_a_many_file_form_holds_one_open_file_at_a_time(tmp_path):
    mount = {"name": "m", "type": "local", "path": str(tmp_path)}
    open_files = []

    def authorize(node, action):
        open_files.append(len(os.listdir("/proc/self/fd")))  # as each file's part begins
        return True

    app, ext = _app(mount, authorize=authorize)
    form = {"f": [(io.BytesIO(b"%d" % i), f"f{i:03d}.txt") for i in range(200)]}
    response = app.test_client().post("/files/m/many/", data=form)
    assert response.status_code == 201
    assert len(response.get_json()["files"]) == 200
    assert max(open_files) - min(open_files) <= 2, "files of earlier parts are still open"
    assert (tmp_path / "many" / "f199.txt").read_bytes() == b"199"


def test_allowed_types_per_mount(mount):
    app, ext = _app(mount, GENRO_STORAGE_UPLOAD_TYPES={"m": ["image/*", "application/pdf"]})
    client = app.test_client()
    assert client.put("/files/m/a.png", data=b"png").status_code == 201
    assert client.put("/files/m/a.pdf", data=b"pdf").status_code == 201
    refused = client.post("/files/m/", data={"f": (io.BytesIO(b"<script>"), "x.html")})
    assert refused.status_code == 415
    assert "text/html" in refused.get_json()["error"]
    assert _read(app, ext, "m:x.html") is None


def test_uploaded_html_is_served_sandboxed(mount):
    app, _ = _app(mount)
    client = app.test_client()
    client.post("/files/m/", data={"f": (io.BytesIO(b"<script>steal()</script>"), "x.html")})
    served = client.get("/files/m/x.html")
    assert served.headers["Content-Security-Policy"].startswith("sandbox")
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_post_that_is_not_a_form(mount):
    app, _ = _app(mount)
    response = app.test_client().post("/files/m/", data=b"raw", content_type="application/octet-stream")
    assert response.status_code == 415


def test_form_without_a_file(mount):
    app, _ = _app(mount)
    response = app.test_client().post("/files/m/", data={"note": "x"}, content_type="multipart/form-data")
    assert response.status_code == 400


def test_truncated_multipart_body(mount):
    app, ext = _app(mount)
    body = b'--B\r\nContent-Disposition: form-data; name="f"; filename="cut.txt"\r\n\r\npartial data'
    response = app.test_client().post("/files/m/", data=body, content_type="multipart/form-data; boundary=B")
    assert response.status_code == 400
    assert _read(app, ext, "m:cut.txt") is None


def test_upload_only_to_the_mounts_named(tmp_path):
    app, ext = new_app(
        GENRO_STORAGE_MOUNTS=[{"name": "in", "type": "memory"}, {"name": "out", "type": "memory"}],
        GENRO_STORAGE_PUBLIC_MOUNTS=["in", "out"],
    )
    app.register_blueprint(ext.blueprint(upload=["in"], authorize=lambda node, action: True))
    client = app.test_client()
    assert client.put("/files/in/x", data=b"x").status_code == 201
    assert client.put("/files/out/x", data=b"x").status_code == 405


def test_readonly_mount_refuses_uploads(tmp_path):
    app, ext = new_app(
        GENRO_STORAGE_MOUNTS=[{"name": "ro", "type": "local", "path": str(tmp_path), "permissions": "readonly"}],
        GENRO_STORAGE_PUBLIC_MOUNTS=["ro"],
    )
    app.register_blueprint(ext.blueprint(upload=True, authorize=lambda node, action: True))
    response = app.test_client().put("/files/ro/x.txt", data=b"x")
    assert response.status_code == 403
    assert "readonly" in response.get_json()["error"]
    assert not (tmp_path / "x.txt").exists()
