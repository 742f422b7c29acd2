"""send_node() and ext.serve() from a view, through app.test_client(), on local, memory and
S3 nodes: the core responder's answers as Flask responses."""

from __future__ import annotations

import os
import re

import pytest
from flask import request
from flask_helpers import new_app

from genro_storage_flask import send_node

DATA = os.urandom(300_000) + b"\n"  # over the responder's one-read size: a streamed body


@pytest.fixture
def served(mount):
    """(client, app, ext) with ``m:doc.bin`` holding DATA, served at /f/<path> by
    ``ext.serve`` (keywords from the query) and at /n/<path> by ``send_node``."""
    app, ext = new_app(GENRO_STORAGE_MOUNTS=[mount])

    @app.route("/f/<path:path>")
    def by_spec(path):
        options = {}
        if "download_name" in request.args:
            options["download_name"] = request.args["download_name"]
        if "as_attachment" in request.args:
            options["as_attachment"] = True
        if "max_age" in request.args:
            options["max_age"] = int(request.args["max_age"])
        return ext.serve(f"m:{path}", **options)

    @app.route("/n/<path:path>")
    def by_node(path):
        return send_node(ext.node("m", path), mimetype="application/x-test")

    @app.errorhandler(404)
    def not_found(error):
        return "the app's own 404 page", 404

    with app.app_context():
        ext.node("m:doc.bin").write_bytes(DATA)
        ext.node("m:page.html").write_bytes(b"<script>alert(1)</script>")
    return app.test_client(), app, ext


def test_get_streams_the_whole_file_with_validators(served):
    client, _, _ = served
    response = client.get("/f/doc.bin")
    assert response.status_code == 200
    assert response.data == DATA
    assert response.headers["Content-Length"] == str(len(DATA))
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["ETag"].startswith('"')
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-cache"  # m is not a public mount


def test_head_has_the_headers_and_no_body(served):
    client, _, _ = served
    response = client.head("/f/doc.bin")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(DATA))
    assert response.data == b""


def test_if_none_match_gets_304(served):
    client, _, _ = served
    tag = client.get("/f/doc.bin").headers["ETag"]
    response = client.get("/f/doc.bin", headers={"If-None-Match": tag})
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == tag


def test_if_match_mismatch_gets_412(served):
    client, _, _ = served
    assert client.get("/f/doc.bin", headers={"If-Match": '"other"'}).status_code == 412


def test_single_range(served):
    client, _, _ = served
    response = client.get("/f/doc.bin", headers={"Range": "bytes=100-199"})
    assert response.status_code == 206
    assert response.data == DATA[100:200]
    assert response.headers["Content-Range"] == f"bytes 100-199/{len(DATA)}"


def test_suffix_range(served):
    client, _, _ = served
    response = client.get("/f/doc.bin", headers={"Range": "bytes=-500"})
    assert response.status_code == 206
    assert response.data == DATA[-500:]


def test_multiple_ranges_are_multipart_byteranges(served):
    client, _, _ = served
    response = client.get("/f/doc.bin", headers={"Range": "bytes=0-9,200000-200009"})
    assert response.status_code == 206
    ctype = response.headers["Content-Type"]
    boundary = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", ctype).group(1)
    parts = response.data.split(f"--{boundary}".encode())
    assert DATA[0:10] in parts[1] and DATA[200000:200010] in parts[2]
    assert int(response.headers["Content-Length"]) == len(response.data)


def test_if_range_with_a_stale_tag_gets_the_whole_file(served):
    client, _, _ = served
    response = client.get("/f/doc.bin", headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert response.status_code == 200
    assert response.data == DATA


def test_unsatisfiable_range_gets_416(served):
    client, _, _ = served
    response = client.get("/f/doc.bin", headers={"Range": f"bytes={len(DATA) + 10}-"})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(DATA)}"


def test_missing_file_runs_the_apps_404_handler(served):
    client, _, _ = served
    response = client.get("/f/missing.bin")
    assert response.status_code == 404
    assert response.data == b"the app's own 404 page"


def test_a_path_leaving_the_mount_is_a_404(served):
    client, _, _ = served
    response = client.get("/f/a/%2e%2e/%2e%2e/etc/passwd")
    assert response.status_code == 404
    assert response.data == b"the app's own 404 page"


def test_a_folder_is_refused(served):
    client, _, ext = served
    app = client.application
    with app.app_context():
        ext.node("m:sub/x.txt").write_text("x")
    assert client.get("/f/sub").status_code == 403  # a folder exists: it is not a file to send


def test_download_name_with_non_ascii_characters(served):
    client, _, _ = served
    response = client.get("/f/doc.bin", query_string={"download_name": "résumé ☃.pdf", "as_attachment": "1"})
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%98%83.pdf" in disposition
    assert disposition.encode("latin-1").isascii()


@pytest.mark.parametrize(
    "download_name, content_type",
    [("report.pdf", "application/pdf"), ("report.csv.gz", "application/gzip"), ("report", "application/octet-stream")],
)
def test_the_type_follows_the_download_name_a_compressed_one_too(served, download_name, content_type):
    # 'report.csv.gz' holds gzip bytes, not CSV: typed as the node's own name would be.
    client, _, _ = served
    response = client.get("/f/doc.bin", query_string={"download_name": download_name})
    assert response.headers["Content-Type"] == content_type


def test_send_node_keyword_mimetype(served):
    client, _, _ = served
    response = client.get("/n/doc.bin")
    assert response.headers["Content-Type"] == "application/x-test"
    assert response.data == DATA


def test_max_age_and_send_file_max_age_default(served):
    client, app, _ = served
    assert client.get("/f/doc.bin", query_string={"max_age": "60"}).headers["Cache-Control"] == "private, max-age=60"
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 120
    assert client.get("/f/doc.bin").headers["Cache-Control"] == "private, max-age=120"


def test_html_is_sandboxed_by_default(served):
    client, _, _ = served
    response = client.get("/f/page.html")
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Content-Security-Policy"].startswith("sandbox")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_send_node_refuses_what_is_not_a_node(served):
    _, app, _ = served
    with app.test_request_context("/"), pytest.raises(TypeError, match="StorageNode"):
        send_node("m:doc.bin")


def test_serve_options_from_config_apply(mount):
    app, ext = new_app(
        GENRO_STORAGE_MOUNTS=[mount], GENRO_STORAGE_SERVE={"MAX_AGE": 30, "ACTIVE_CONTENT": "attachment"}
    )
    with app.app_context():
        ext.node("m:p.svg").write_text("<svg/>")

    @app.route("/s")
    def svg():
        return ext.serve("m:p.svg")

    response = app.test_client().get("/s")
    assert response.headers["Cache-Control"] == "private, max-age=30"
    assert response.headers["Content-Disposition"].startswith("attachment")
