"""Who may keep a served file: files of GENRO_STORAGE_PUBLIC_MOUNTS are ``public`` to caches,
any other mount's are ``private`` (the browser only, never a shared cache), whether
``send_node``, ``ext.serve`` or the blueprint answers, for 200, 206 and 304 alike."""

from __future__ import annotations

import pytest
from flask import request
from flask_helpers import new_app
from helpers import mount_config

from genro_storage_flask import send_node

DATA = b"0123456789" * 500


def _app(kind, tmp_path, request_, **config):
    """Mounts ``pub`` (public) and ``priv`` of ``kind``, each holding ``f.bin``; views
    /node/<mount> (send_node) and /serve/<mount> (ext.serve), passing ``max_age`` from the
    query when given, and the blueprint at /files/ (``priv`` read with a signed URL or the
    ``X-User: alice`` header, which ``authorize`` lets in)."""
    server = request_.getfixturevalue("s3_server") if kind == "s3" else None
    mounts = [mount_config(kind, name, tmp_path, server) for name in ("pub", "priv")]
    app, ext = new_app(GENRO_STORAGE_MOUNTS=mounts, GENRO_STORAGE_PUBLIC_MOUNTS=["pub"], **config)
    app.register_blueprint(ext.blueprint(authorize=lambda node, action: request.headers.get("X-User") == "alice"))

    def keywords():
        return {"max_age": int(request.args["max_age"])} if "max_age" in request.args else {}

    @app.route("/node/<mount>")
    def by_node(mount):
        return send_node(ext.node(mount, "f.bin"), **keywords())

    @app.route("/serve/<mount>")
    def by_serve(mount):
        return ext.serve(f"{mount}:f.bin", **keywords())

    with app.app_context():
        for mount in ("pub", "priv"):
            ext.node(mount, "f.bin").write_bytes(DATA)
    return app, ext


def _urls(app, ext, mount: str, query: str) -> dict[str, tuple[str, dict]]:
    """The URL of ``mount``'s file through each way of answering, with the headers to send."""
    with app.test_request_context():
        signed = ext.node(mount, "f.bin").url(300)
    blueprint = f"/files/{mount}/f.bin"
    urls = {
        "send_node": (f"/node/{mount}?{query}", {}),
        "ext.serve": (f"/serve/{mount}?{query}", {}),
        "blueprint": (blueprint, {}),
    }
    if mount == "priv":
        del urls["blueprint"]
        if signed.startswith("/files/"):  # an object store's node.url() is the store's own presigned URL
            urls["blueprint+signed"] = (signed, {})
        urls["blueprint+authorize"] = (blueprint, {"X-User": "alice"})
    return urls


def _answers(client, url: str, headers: dict) -> list:
    """The 200, a 206 and the 304 revalidating the 200, for ``url``."""
    whole = client.get(url, headers=headers)
    part = client.get(url, headers={**headers, "Range": "bytes=10-19"})
    again = client.get(url, headers={**headers, "If-None-Match": whole.headers["ETag"]})
    assert [whole.status_code, part.status_code, again.status_code] == [200, 206, 304]
    assert whole.data == DATA and part.data == DATA[10:20]
    return [whole, part, again]


@pytest.mark.parametrize(
    ("config", "query"),
    [
        ({}, "max_age=60"),  # the view's keyword (the blueprint: SEND_FILE_MAX_AGE_DEFAULT)
        ({"GENRO_STORAGE_SERVE": {"MAX_AGE": 60}}, ""),  # the app's serving options, no keyword
    ],
    ids=["keyword", "config"],
)
def test_public_mounts_are_public_others_private_for_every_status(kind, tmp_path, request, config, query):
    app, ext = _app(kind, tmp_path, request, **config)
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 60
    client = app.test_client()
    for mount, expected in (("pub", "public, max-age=60"), ("priv", "private, max-age=60")):
        for way, (url, headers) in _urls(app, ext, mount, query).items():
            for answer in _answers(client, url, headers):
                seen = (mount, way, answer.status_code, answer.headers.get("Cache-Control"))
                assert seen == (mount, way, answer.status_code, expected)
                assert "Expires" in answer.headers


def test_without_max_age_a_private_mount_is_still_never_public(kind, tmp_path, request):
    app, ext = _app(kind, tmp_path, request)
    client = app.test_client()
    for mount, expected in (("pub", "no-cache"), ("priv", "private, no-cache")):
        for way, (url, headers) in _urls(app, ext, mount, "").items():
            for answer in _answers(client, url, headers):
                assert (mount, way, answer.headers.get("Cache-Control")) == (mount, way, expected)
                assert "Expires" not in answer.headers


def test_a_mount_made_public_by_config_private_by_serve_options_stays_private(tmp_path):
    app, ext = new_app(
        GENRO_STORAGE_MOUNTS=[{"name": "pub", "type": "memory"}],
        GENRO_STORAGE_PUBLIC_MOUNTS=["pub"],
        GENRO_STORAGE_SERVE={"PRIVATE": True, "MAX_AGE": 30},
    )

    @app.route("/n")
    def by_node():
        return send_node(ext.node("pub:f.bin"), as_attachment=True)

    with app.app_context():
        ext.node("pub:f.bin").write_bytes(DATA)
    assert app.test_client().get("/n").headers["Cache-Control"] == "private, max-age=30"
