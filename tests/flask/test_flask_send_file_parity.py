"""send_node() takes what flask.send_file takes and answers as it does: from a POST view,
naive datetimes, callable max_age, SEND_FILE_MAX_AGE_DEFAULT and an app's own
get_send_file_max_age, the type from download_name, Expires, no text/html on an empty
refusal; ext.serve() with a mount from the URL."""

from __future__ import annotations

import datetime as dt
import email.utils
import time

import flask
import pytest
from flask import request
from flask_helpers import new_app

from genro_storage_flask import GenroStorage, send_node

DATA = b"0123456789" * 1000


@pytest.fixture
def app_ext(mount):
    # Public, as the files send_file answers are to caches (a private mount: test_flask_cache_scope).
    app, ext = new_app(GENRO_STORAGE_MOUNTS=[mount], GENRO_STORAGE_PUBLIC_MOUNTS=["m"])

    @app.errorhandler(404)
    def not_found(error):
        return "the app's own 404 page", 404

    with app.app_context():
        ext.node("m:doc.bin").write_bytes(DATA)
    return app, ext


def test_send_node_in_a_post_view_answers_the_file(app_ext):
    app, ext = app_ext

    @app.route("/export", methods=["POST"])
    def export():
        return send_node(ext.node("m:doc.bin"))

    response = app.test_client().post("/export", data={"format": "bin"})
    assert response.status_code == 200
    assert response.data == DATA


def test_serve_with_an_unknown_mount_from_the_url_is_the_apps_404(app_ext):
    app, ext = app_ext

    @app.route("/serve/<mount>/<path:path>")
    def serve(mount, path):
        return ext.serve(f"{mount}:{path}")

    client = app.test_client()
    assert client.get("/serve/m/doc.bin").data == DATA
    missing = client.get("/serve/nosuchmount/doc.bin")
    assert missing.status_code == 404
    assert missing.data == b"the app's own 404 page"


def test_a_naive_last_modified_is_utc_as_werkzeug_takes_it(app_ext):
    app, ext = app_ext
    when = dt.datetime(2024, 5, 6, 7, 8, 9)

    @app.route("/d")
    def dated():
        return send_node(ext.node("m:doc.bin"), last_modified=when)

    response = app.test_client().get("/d")
    assert response.status_code == 200
    assert response.headers["Last-Modified"] == "Mon, 06 May 2024 07:08:09 GMT"


def test_max_age_may_be_a_callable_given_the_path(app_ext):
    app, ext = app_ext
    seen = []

    def max_age(path):
        seen.append(path)
        return 90

    @app.route("/c")
    def cached():
        return send_node(ext.node("m:doc.bin"), max_age=max_age)

    @app.route("/flask-default")
    def flask_default():
        return send_node(ext.node("m:doc.bin"), max_age=app.get_send_file_max_age)

    client = app.test_client()
    assert client.get("/c").headers["Cache-Control"] == "public, max-age=90"
    assert seen == ["doc.bin"]
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = dt.timedelta(minutes=2)
    assert client.get("/flask-default").headers["Cache-Control"] == "public, max-age=120"


@pytest.mark.parametrize("default", [None, 45, dt.timedelta(minutes=2)], ids=["none", "int", "timedelta"])
def test_send_file_max_age_default_gives_what_send_file_gives(app_ext, tmp_path, default):
    app, ext = app_ext
    path = tmp_path / "same.bin"
    path.write_bytes(DATA)

    @app.route("/theirs")
    def theirs():
        return flask.send_file(path)

    @app.route("/ours")
    def ours():
        return send_node(ext.node("m:doc.bin"))

    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = default
    client = app.test_client()
    expected = client.get("/theirs").headers["Cache-Control"]
    assert client.get("/ours").headers["Cache-Control"] == expected
    assert ("Expires" in client.get("/ours").headers) == ("Expires" in client.get("/theirs").headers)


def test_an_overridden_get_send_file_max_age_is_asked_with_the_path(mount):
    seen = []

    class App(flask.Flask):
        def get_send_file_max_age(self, filename):
            seen.append(filename)
            return 7

    app = App("flask_tests")
    app.config.update(GENRO_STORAGE_MOUNTS=[mount], GENRO_STORAGE_PUBLIC_MOUNTS=["m"])
    ext = GenroStorage(app)
    with app.app_context():
        ext.node("m:doc.bin").write_bytes(DATA)

    @app.route("/o")
    def overridden():
        return send_node(ext.node("m:doc.bin"))

    assert app.test_client().get("/o").headers["Cache-Control"] == "public, max-age=7"
    assert seen == ["doc.bin"]


def test_a_custom_etag_string_is_sent_and_checked(app_ext):
    app, ext = app_ext

    @app.route("/tagged")
    def tagged():
        return send_node(ext.node("m:doc.bin"), etag="v1")

    client = app.test_client()
    assert client.get("/tagged").headers["ETag"] == '"v1"'
    assert client.get("/tagged", headers={"If-None-Match": '"v1"'}).status_code == 304
    assert client.get("/tagged", headers={"Range": "bytes=0-1", "If-Range": '"v1"'}).status_code == 206
    assert client.get("/tagged", headers={"Range": "bytes=0-1", "If-Range": '"v0"'}).status_code == 200
    with app.test_request_context("/"), pytest.raises(ValueError, match="etag"):
        send_node(ext.node("m:doc.bin"), etag='has "quotes"')


def test_max_age_sends_expires_too(app_ext):
    app, ext = app_ext

    @app.route("/e")
    def expiring():
        return send_node(ext.node("m:doc.bin"), max_age=3600)

    @app.route("/no-cache")
    def uncached():
        return send_node(ext.node("m:doc.bin"))

    before = time.time()
    response = app.test_client().get("/e")
    expires = email.utils.parsedate_to_datetime(response.headers["Expires"]).timestamp()
    assert before + 3600 - 2 <= expires <= time.time() + 3600 + 1
    tag = response.headers["ETag"]
    not_modified = app.test_client().get("/e", headers={"If-None-Match": tag})
    assert not_modified.status_code == 304
    assert "Expires" in not_modified.headers
    assert "Expires" not in app.test_client().get("/no-cache").headers


@pytest.mark.parametrize(
    ("download_name", "mimetype", "expected"),
    [
        ("report.pdf", None, "application/pdf"),
        ("notes.txt", None, "text/plain; charset=utf-8"),
        ("report.pdf", "application/x-given", "application/x-given"),
        ("no-extension", None, "application/octet-stream"),
    ],
)
def test_the_type_is_guessed_from_download_name(app_ext, download_name, mimetype, expected):
    app, ext = app_ext

    @app.route("/t")
    def typed():
        return send_node(ext.node("m:doc.bin"), download_name=download_name, mimetype=mimetype)

    assert app.test_client().get("/t").headers["Content-Type"] == expected


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"If-Match": '"other"'}, 412), ({"Range": "bytes=999999-"}, 416), ({"If-None-Match": "*"}, 304)],
)
def test_empty_answers_carry_no_flask_default_content_type(app_ext, headers, status):
    app, ext = app_ext

    @app.route("/x")
    def plain():
        return ext.serve("m:doc.bin")

    response = app.test_client().get("/x", headers=headers)
    assert response.status_code == status
    assert "Content-Type" not in response.headers
    assert response.data == b""


def test_head_in_a_view_taking_head_answers_headers_only(app_ext):
    app, ext = app_ext

    @app.route("/h", methods=["GET", "POST"])
    def both():
        return send_node(ext.node("m:doc.bin"), download_name=request.args.get("name"))

    response = app.test_client().head("/h")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(DATA))
    assert response.data == b""
