"""The blueprint's serving and listing routes: url_for endpoints, public and private mounts,
authorize per action, signed URLs, registration checks, one blueprint on two apps."""

from __future__ import annotations

import time

import pytest
from flask import Flask, url_for
from flask_helpers import new_app

from genro_storage_flask import GenroStorage

MOUNTS = [{"name": "pub", "type": "memory"}, {"name": "priv", "type": "memory"}]


def _app(*, authorize=None, listing=False, **config):
    app, ext = new_app(GENRO_STORAGE_MOUNTS=[dict(m) for m in MOUNTS], GENRO_STORAGE_PUBLIC_MOUNTS=["pub"], **config)
    app.register_blueprint(ext.blueprint(listing=listing, authorize=authorize))
    with app.app_context():
        for mount in ("pub", "priv"):
            ext.node(f"{mount}:docs/a.txt").write_text(f"{mount} a")
            ext.node(f"{mount}:docs/sub/b.txt").write_text(f"{mount} b")
    return app, ext


def test_endpoints_work_with_url_for():
    app, _ = _app()
    with app.test_request_context():
        assert url_for("genro_storage.serve", mount="pub", path="docs/a.txt") == "/files/pub/docs/a.txt"
    assert app.test_client().get("/files/pub/docs/a.txt").data == b"pub a"


def test_public_mount_is_served_to_anyone_private_needs_a_signature():
    app, _ = _app()
    client = app.test_client()
    assert client.get("/files/pub/docs/a.txt").status_code == 200
    assert client.get("/files/priv/docs/a.txt").status_code == 403
    assert client.get("/files/nosuchmount/a.txt").status_code == 404
    assert client.get("/files/pub/docs/missing.txt").status_code == 404


def test_signed_url_valid_tampered_expired():
    app, ext = _app()
    client = app.test_client()
    with app.app_context():
        url = ext.node("priv:docs/a.txt").url(60)
        signer = ext.storage.url_signer()
        expired = "/files/priv/docs/a.txt?" + signer.query("priv", "docs/a.txt", 10, now=time.time() - 3600)
    assert url.startswith("/files/priv/docs/a.txt?expires=")
    assert client.get(url).data == b"priv a"
    assert client.get(url.replace("docs/a.txt", "docs/sub/b.txt")).status_code == 403
    assert client.get(url[:-2] + ("AA" if not url.endswith("AA") else "BB")).status_code == 403
    assert client.get(expired).status_code == 403


def test_authorize_decides_reads_of_private_mounts():
    seen = []

    def authorize(node, action):
        seen.append((node.fullpath, action))
        return node.path.startswith("docs/sub/")

    app, _ = _app(authorize=authorize)
    client = app.test_client()
    assert client.get("/files/priv/docs/sub/b.txt").data == b"priv b"
    assert client.get("/files/priv/docs/a.txt").status_code == 403
    assert client.get("/files/pub/docs/a.txt").status_code == 200  # public: not asked
    assert seen == [("priv:docs/sub/b.txt", "read"), ("priv:docs/a.txt", "read")]


def test_a_signed_url_passes_without_authorize():
    app, ext = _app(authorize=lambda node, action: False)
    with app.app_context():
        url = ext.node("priv:docs/a.txt").url()
    assert app.test_client().get(url).status_code == 200


def test_listing_json_and_html():
    app, _ = _app(listing=True)
    client = app.test_client()
    listed = client.get("/files/pub/docs/", headers={"Accept": "application/json"})
    assert listed.status_code == 200
    entries = {e["name"]: e for e in listed.get_json()["entries"]}
    assert entries["a.txt"]["url"] == "/files/pub/docs/a.txt"
    assert entries["sub"]["url"] == "/files/pub/docs/sub/"
    page = client.get("/files/pub/docs/")
    assert page.headers["Content-Type"].startswith("text/html")
    assert b'href="/files/pub/docs/a.txt"' in page.data


def test_listing_off_refuses_folders():
    app, _ = _app()
    assert app.test_client().get("/files/pub/docs/").status_code == 403


def test_folder_without_slash_redirects_to_its_listing():
    app, _ = _app(listing=True)
    response = app.test_client().get("/files/pub/docs")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/files/pub/docs/")


@pytest.mark.parametrize("name", ["a?b", "a#b", "%41", "x%2Fy", "é", "sp ace"])
def test_the_redirect_to_a_folder_keeps_its_name(name):
    app, ext = _app(listing=True)
    with app.app_context():
        ext.node(f"pub:{name}/in.txt").write_text("in")
    client = app.test_client()
    with app.test_request_context():
        url = url_for("genro_storage.serve", mount="pub", path=name)
    response = client.get(url, query_string={"v": "1"})
    assert response.status_code == 308
    listing = client.get(response.headers["Location"], headers={"Accept": "application/json"})
    assert listing.status_code == 200
    assert listing.json["path"] == f"pub:{name}" and [e["name"] for e in listing.json["entries"]] == ["in.txt"]
    assert response.headers["Location"].endswith("/?v=1")


def test_a_folder_without_slash_goes_to_its_listing_for_whoever_may_list_it():
    app, _ = _app(listing=True, authorize=lambda node, action: action == "list")
    client = app.test_client()
    response = client.get("/files/priv/docs")
    assert response.status_code == 308 and response.headers["Location"].endswith("/files/priv/docs/")
    nobody, _ = _app(listing=True, authorize=lambda node, action: False)
    assert nobody.test_client().get("/files/priv/docs").status_code == 403


def test_a_file_url_with_a_slash_is_no_folder():
    app, _ = _app(listing=True, authorize=lambda node, action: action == "list")
    client = app.test_client()
    assert client.get("/files/priv/docs/a.txt/").status_code == 404
    assert client.get("/files/priv/docs/a.txt").status_code == 403  # 'list' does not grant 'read'


def test_listing_of_a_private_mount_asks_for_list():
    actions = []
    app, _ = _app(listing=True, authorize=lambda node, action: actions.append(action) or action == "list")
    client = app.test_client()
    assert client.get("/files/priv/docs/").status_code == 200
    assert client.get("/files/priv/docs/a.txt").status_code == 403
    assert actions == ["list", "read"]


def test_listing_a_public_mount_asks_authorize_too_reading_does_not():
    asked = []

    def authorize(node, action):
        asked.append((node.fullpath, action))
        return node.path != "docs/sub"

    app, _ = _app(listing=True, authorize=authorize)
    client = app.test_client()
    assert client.get("/files/pub/docs/").status_code == 200
    assert client.get("/files/pub/docs/sub/").status_code == 403
    assert client.get("/files/pub/docs/sub/b.txt").status_code == 200
    assert asked == [("pub:docs", "list"), ("pub:docs/sub", "list")]


def test_the_blueprint_honours_send_file_max_age_default_as_send_node_does():
    app, _ = _app()
    client = app.test_client()
    assert client.get("/files/pub/docs/a.txt").headers["Cache-Control"] == "no-cache"
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 600
    served = client.get("/files/pub/docs/a.txt")
    assert served.headers["Cache-Control"] == "public, max-age=600"
    assert "Expires" in served.headers


def test_the_serve_config_max_age_wins_over_send_file_max_age_default():
    app, _ = _app(GENRO_STORAGE_SERVE={"MAX_AGE": 30}, SEND_FILE_MAX_AGE_DEFAULT=600)
    assert app.test_client().get("/files/pub/docs/a.txt").headers["Cache-Control"] == "public, max-age=30"


def test_authorize_denial_runs_the_apps_403_handler():
    app, _ = _app(authorize=lambda node, action: False)

    @app.errorhandler(403)
    def forbidden(error):
        return "please log in", 403

    response = app.test_client().get("/files/priv/docs/a.txt")
    assert response.status_code == 403
    assert response.data == b"please log in"


def test_post_without_upload_is_not_allowed():
    app, _ = _app()
    assert app.test_client().post("/files/pub/docs/").status_code == 405


def test_mounts_limits_what_is_reachable():
    app, ext = new_app(GENRO_STORAGE_MOUNTS=[dict(m) for m in MOUNTS], GENRO_STORAGE_PUBLIC_MOUNTS=["pub", "priv"])
    app.register_blueprint(ext.blueprint(mounts=["pub"]))
    with app.app_context():
        ext.node("priv:x").write_text("x")
    assert app.test_client().get("/files/priv/x").status_code == 404


def test_registering_before_init_app_says_so():
    ext = GenroStorage()
    app = Flask("early")
    with pytest.raises(RuntimeError, match="init_app"):
        app.register_blueprint(ext.blueprint())


def test_registration_checks_mount_names():
    app, ext = new_app(GENRO_STORAGE_MOUNTS=[dict(m) for m in MOUNTS])
    with pytest.raises(ValueError, match="'nope'"):
        app.register_blueprint(ext.blueprint(mounts=["nope"]))


def test_private_mounts_need_a_secret():
    app = Flask("nosecret")
    app.config["GENRO_STORAGE_MOUNTS"] = [{"name": "priv", "type": "memory"}]
    ext = GenroStorage(app)
    with pytest.raises(RuntimeError, match="SECRET_KEY or GENRO_STORAGE_URL_SECRET"):
        app.register_blueprint(ext.blueprint())


def test_prefix_other_than_base_url_with_private_mounts_is_refused():
    app, ext = new_app(GENRO_STORAGE_MOUNTS=[dict(m) for m in MOUNTS])
    with pytest.raises(RuntimeError, match="GENRO_STORAGE_BASE_URL"):
        app.register_blueprint(ext.blueprint(url_prefix="/media"))


def test_prefix_follows_base_url():
    app, ext = new_app(GENRO_STORAGE_MOUNTS=[dict(m) for m in MOUNTS], GENRO_STORAGE_BASE_URL="/media/")
    app.register_blueprint(ext.blueprint())
    with app.app_context():
        ext.node("priv:x.txt").write_text("x")
        url = ext.node("priv:x.txt").url()
    assert url.startswith("/media/priv/x.txt?")
    assert app.test_client().get(url).data == b"x"


@pytest.mark.parametrize("config", [{}, {"GENRO_STORAGE_BASE_URL": "/app/files/"}])
def test_an_app_mounted_under_a_prefix_signs_urls_that_work(config):
    # The app is reached under /app (DispatcherMiddleware here, a server's SCRIPT_NAME alike);
    # APPLICATION_ROOT says so, as Flask has it, and BASE_URL is the public URL.
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.test import Client
    from werkzeug.wrappers import Response as Plain

    app, ext = new_app(GENRO_STORAGE_MOUNTS=[dict(m) for m in MOUNTS], APPLICATION_ROOT="/app", **config)
    app.register_blueprint(ext.blueprint(listing=True, upload=True, authorize=lambda node, action: action != "read"))
    assert sorted(rule.rule for rule in app.url_map.iter_rules() if rule.endpoint == "genro_storage.serve") == [
        "/files/<mount>/",
        "/files/<mount>/<path:path>",
    ]
    with app.app_context():
        ext.node("priv:d/a.txt").write_text("private a")
        signed = ext.node("priv:d/a.txt").url()
    assert signed.startswith("/app/files/priv/d/a.txt?")
    site = Client(DispatcherMiddleware(Plain("not the app", 404), {"/app": app}))
    assert site.get(signed).get_data() == b"private a"
    put = site.put("/app/files/priv/d/b.txt", data=b"new")
    assert put.status_code == 201 and put.headers["Location"] == "/app/files/priv/d/b.txt"
    listing = site.get("/app/files/priv/d/", headers={"Accept": "application/json"})
    assert [e["url"] for e in listing.json["entries"]] == ["/app/files/priv/d/a.txt", "/app/files/priv/d/b.txt"]


def test_upload_needs_authorize():
    _, ext = new_app()
    with pytest.raises(ValueError, match="authorize"):
        ext.blueprint(upload=True)


def test_one_blueprint_two_apps_each_its_own_mounts(tmp_path):
    ext = GenroStorage()
    blueprint = ext.blueprint()
    apps = []
    for name in ("one", "two"):
        app = Flask(name)
        app.config.update(
            GENRO_STORAGE_MOUNTS=[{"name": "m", "type": "local", "path": str(tmp_path / name)}],
            GENRO_STORAGE_PUBLIC_MOUNTS=["m"],
        )
        ext.init_app(app)
        app.register_blueprint(blueprint)
        with app.app_context():
            ext.node("m:who.txt").write_text(name)
        apps.append(app)
    assert [app.test_client().get("/files/m/who.txt").data for app in apps] == [b"one", b"two"]


def test_one_app_two_registrations():
    app, ext = new_app(GENRO_STORAGE_MOUNTS=[dict(m) for m in MOUNTS], GENRO_STORAGE_PUBLIC_MOUNTS=["pub"])
    app.register_blueprint(ext.blueprint())
    app.register_blueprint(ext.blueprint("public_files", "/pub-files", mounts=["pub"], listing=True))
    with app.app_context():
        ext.node("pub:x.txt").write_text("x")
    client = app.test_client()
    assert client.get("/pub-files/pub/x.txt").data == b"x"
    assert client.get("/pub-files/pub/").status_code == 200
    assert client.get("/files/pub/").status_code == 403
    with app.test_request_context():
        assert url_for("public_files.serve", mount="pub", path="x.txt") == "/pub-files/pub/x.txt"


def test_files_of_private_mounts_are_marked_private_for_caches():
    app, ext = _app(GENRO_STORAGE_SERVE={"MAX_AGE": 30})
    client = app.test_client()
    with app.test_request_context():
        signed = ext.node("priv:docs/a.txt").url(60)
    assert client.get("/files/pub/docs/a.txt").headers["Cache-Control"] == "public, max-age=30"
    private = client.get(signed)
    assert private.status_code == 200 and private.headers["Cache-Control"] == "private, max-age=30"
