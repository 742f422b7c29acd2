"""Uploads the store or the request gets in the way of: the right 4xx (409 for an entry of
the other kind in the way, 404 for an unknown mount, 400 for unsafe folders and bad
boundaries, 403 from another site, 503 out of file handles), never a 500."""

from __future__ import annotations

import errno
import io
import json
import socket
import subprocess
import sys

import pytest
from flask_helpers import HERE, REPO, new_app


def _app(mount, **config):
    app, ext = new_app(GENRO_STORAGE_MOUNTS=[mount], GENRO_STORAGE_PUBLIC_MOUNTS=[mount["name"]], **config)
    app.register_blueprint(ext.blueprint(upload=True, authorize=lambda node, action: True))
    with app.app_context():
        ext.node("m:f.txt").write_bytes(b"a file")
        ext.node("m:dir/inside.txt").write_bytes(b"in a folder")
    return app, ext


def _read(app, ext, spec):
    with app.app_context():
        node = ext.node(spec)
        return node.read_bytes() if node.isfile else None


def test_a_form_posted_to_a_files_url_is_409(mount):
    app, ext = _app(mount)
    client = app.test_client()
    for url in ("/files/m/f.txt/", "/files/m/f.txt"):
        response = client.post(url, data={"x": (io.BytesIO(b"new"), "h.txt")})
        assert response.status_code == 409, response.get_json()
        assert "is a file, not a folder" in response.get_json()["error"]
    assert _read(app, ext, "m:f.txt") == b"a file"


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_a_put_through_a_file_is_409(mount):
    app, ext = _app(mount)
    client = app.test_client()
    assert client.put("/files/m/f.txt/h.txt", data=b"x").status_code == 409
    posted = client.post("/files/m/f.txt/sub/", data={"x": (io.BytesIO(b"x"), "h.txt")})
    assert posted.status_code == 409
    assert _read(app, ext, "m:f.txt") == b"a file"


@pytest.mark.parametrize("query", ["", "?overwrite=1"])
def test_a_put_onto_a_folder_is_409(mount, query):
    app, ext = _app(mount)
    response = app.test_client().put(f"/files/m/dir{query}", data=b"x")
    assert response.status_code == 409
    assert "is a folder" in response.get_json()["error"]
    assert _read(app, ext, "m:dir/inside.txt") == b"in a folder"


def test_uploads_to_an_unknown_mount_are_404(mount):
    app, _ = _app(mount)
    client = app.test_client()
    assert client.put("/files/nosuch/x.txt", data=b"x").status_code == 404
    assert client.post("/files/nosuch/", data={"x": (io.BytesIO(b"x"), "x.txt")}).status_code == 404


@pytest.mark.parametrize("folder", [".git", "a/.git", "sub/.htaccess", "x:y", "CON"])
def test_a_form_into_an_unsafe_folder_is_refused(mount, folder):
    app, ext = _app(mount)
    response = app.test_client().post(f"/files/m/{folder}/", data={"x": (io.BytesIO(b"[core]"), "config")})
    assert response.status_code == 400, response.get_json()
    assert "not a safe file name" in response.get_json()["error"]
    with app.app_context():
        assert sorted(node.basename for node in ext.node("m:").children()) == ["dir", "f.txt"]


def _form(boundary: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="x"; filename="b.txt"\r\n\r\nbody\r\n--{boundary}--\r\n'
    ).encode("latin-1")


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data; boundary*=UTF-8''%E2%98%83",
        "multipart/form-data; boundary=" + "b" * 201,
        'multipart/form-data; boundary="ends in a space "',
        'multipart/form-data; boundary="café"',
        'multipart/form-data; boundary="a\\"quote"',
    ],
)
def test_a_boundary_rfc_2046_does_not_allow_is_400(mount, content_type):
    app, _ = _app(mount)
    response = app.test_client().post("/files/m/", data=_form("b"), content_type=content_type)
    assert response.status_code == 400
    assert "boundary" in response.get_json()["error"]


# 75 characters: werkzeug's test client makes such boundaries, past RFC 2046's 70.
@pytest.mark.parametrize(
    "boundary",
    ["b" * 70, "-" * 15 + "WerkzeugFormPart_1796168668.88349840.00330853319718449123456", "'()+_,-./:=? x", "0"],
)
def test_every_boundary_rfc_2046_allows_is_taken(mount, boundary):
    app, ext = _app(mount)
    response = app.test_client().post(
        "/files/m/", data=_form(boundary), content_type=f'multipart/form-data; boundary="{boundary}"'
    )
    assert response.status_code == 201, response.get_json()
    assert _read(app, ext, "m:b.txt") == b"body"


def test_the_form_buffer_is_bounded_when_the_app_sets_no_limit(mount):
    app, _ = _app(mount)
    app.config["MAX_FORM_MEMORY_SIZE"] = None
    body = b"--B\r\n" + b"no part headers ever end " * 100_000  # 2.5 MB the decoder can never parse
    response = app.test_client().post("/files/m/", data=body, content_type="multipart/form-data; boundary=B")
    assert response.status_code == 413


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost:8080"},
    ],
)
def test_uploads_from_another_site_are_403(mount, headers):
    app, ext = _app(mount)
    client = app.test_client()
    put = client.put("/files/m/x.txt", data=b"x", headers=headers)
    assert put.status_code == 403
    assert "refused" in put.get_json()["error"]
    post = client.post("/files/m/", data={"x": (io.BytesIO(b"x"), "x.txt")}, headers=headers)
    assert post.status_code == 403
    assert _read(app, ext, "m:x.txt") is None


@pytest.mark.parametrize(
    "headers",
    [{}, {"Sec-Fetch-Site": "same-origin"}, {"Origin": "http://localhost"}, {"Sec-Fetch-Site": "none"}],
)
def test_uploads_from_the_same_origin_are_taken(mount, headers):
    app, ext = _app(mount)
    assert app.test_client().put("/files/m/x.txt", data=b"x", headers=headers).status_code == 201
    assert _read(app, ext, "m:x.txt") == b"x"


def test_the_same_origin_check_can_be_turned_off(mount):
    app, ext = _app(mount, GENRO_STORAGE_UPLOAD_SAME_ORIGIN=False)
    response = app.test_client().put("/files/m/x.txt", data=b"x", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 201


def test_a_chunked_put_through_a_server_that_drops_it_is_411_not_an_empty_file(tmp_path):
    # werkzeug reads a chunked body as empty unless the server sets wsgi.input_terminated.
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    app, ext = _app({"name": "m", "type": "local", "path": str(tmp_path)})
    answers = {}
    for terminated in (False, True):
        environ = EnvironBuilder(path=f"/files/m/chunked{int(terminated)}.bin", method="PUT").get_environ()
        environ.pop("CONTENT_LENGTH", None)
        environ.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(b"a body " * 100)})
        if terminated:
            environ["wsgi.input_terminated"] = True
        body, status, _ = run_wsgi_app(app, environ)
        answers[terminated] = (status, json.loads(b"".join(body)))
    assert answers[False][0].startswith("411") and "Content-Length" in answers[False][1]["error"]
    assert answers[True][0].startswith("201")
    assert not (tmp_path / "chunked0.bin").exists()
    assert (tmp_path / "chunked1.bin").read_bytes() == b"a body " * 100


def test_a_path_too_long_for_the_file_system_is_400(tmp_path):
    app, _ = _app({"name": "m", "type": "local", "path": str(tmp_path)})
    deep = "/".join(["d" * 200] * 30) + "/x.txt"  # each name fits; the whole path is past PATH_MAX
    response = app.test_client().put(f"/files/m/{deep}", data=b"x")
    assert response.status_code == 400, response.get_json()


def test_a_store_out_of_reach_is_503_without_its_endpoint():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{probe.getsockname()[1]}"  # nothing listens there once closed
    s3 = {"name": "m", "type": "s3", "bucket": "b", "endpoint_url": endpoint, "key": "k", "secret": "s"}
    s3["config_kwargs"] = {"retries": {"max_attempts": 1}, "connect_timeout": 1}
    app, ext = new_app(GENRO_STORAGE_MOUNTS=[s3], GENRO_STORAGE_PUBLIC_MOUNTS=["m"])
    app.register_blueprint(ext.blueprint(upload=True, authorize=lambda node, action: True))
    response = app.test_client().put("/files/m/a.txt", data=b"x")
    assert response.status_code == 503
    assert response.get_json()["error"].startswith("m:a.txt: ")
    assert "127.0.0.1" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "exc, status",
    [
        (OSError(errno.ENOSPC, "No space left on device", "m:a.txt"), 507),
        (OSError(errno.EDQUOT, "Disk quota exceeded", "m:a.txt"), 507),
        (OSError(errno.ENAMETOOLONG, "File name too long", "m:a.txt"), 400),
        (FileExistsError(errno.EEXIST, "File exists", "m:a.txt"), 409),
        (ConnectionError("http://10.0.0.5:9000/bucket/a.txt refused"), 503),
    ],
)
def test_each_store_refusal_of_a_write_has_its_status(exc, status):
    from genro_storage_flask.uploads import _store_refusal

    app, _ = new_app()
    with app.app_context():
        got, message = _store_refusal(exc, "m:a.txt")
    assert got == status
    assert "m:a.txt" in message  # the upload's own name, whatever the store said
    assert "10.0.0.5" not in message


#: Run in a child process: an upload with no file descriptor to spare (RLIMIT_NOFILE at
#: the number open), then a 300-file form with only a few to spare.
_OUT_OF_HANDLES = """
import io, json, os, resource, sys
from flask_helpers import new_app
app, ext = new_app(GENRO_STORAGE_MOUNTS=[{"name": "m", "type": "local", "path": sys.argv[1]}],
                   GENRO_STORAGE_PUBLIC_MOUNTS=["m"])
app.register_blueprint(ext.blueprint(upload=True, authorize=lambda node, action: True))
client = app.test_client()
client.put("/files/m/warm.txt", data=b"w")
form = {"x": [(io.BytesIO(b"%d" % (i % 10)), "f%03d.txt" % i) for i in range(300)]}
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
in_use = len(os.listdir("/proc/self/fd")) - 1  # less the one listing them
resource.setrlimit(resource.RLIMIT_NOFILE, (in_use, hard))
starved = client.put("/files/m/starved.txt", data=b"x")
resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + 12, hard))
many = client.post("/files/m/many/", data=form)
print(json.dumps([starved.status_code, starved.get_json(), many.status_code, len(os.listdir(sys.argv[1] + "/many"))]))
"""


def test_out_of_file_handles_is_503_and_a_large_form_needs_one_at_a_time(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", _OUT_OF_HANDLES, str(tmp_path)],
        env={"PYTHONPATH": f"{HERE}:{REPO}:{REPO / 'tests'}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    starved, answer, many, saved = json.loads(result.stdout)
    assert starved == 503, answer
    assert "error" in answer
    assert (many, saved) == (201, 300)
