"""GenroStorage on Flask apps: config from app.config, checked in init_app; state per app."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask_helpers import SECRET_KEY, new_app

from genro_storage import MountNotFoundError, StorageConfigError, StorageManager
from genro_storage.signing import derive_secret as derive_url_secret
from genro_storage_flask import DEFAULTS, GenroStorage


def test_init_app_sets_every_default_and_builds_the_mounts(tmp_path):
    app = Flask("a")
    app.config["GENRO_STORAGE_MOUNTS"] = [{"name": "loc", "type": "local", "path": str(tmp_path)}]
    ext = GenroStorage()
    ext.init_app(app)
    for key in DEFAULTS:
        assert f"GENRO_STORAGE_{key}" in app.config
    with app.app_context():
        assert isinstance(ext.storage, StorageManager)
        assert list(ext.storage.mounts) == ["loc"]
        ext.node("loc:a.txt").write_text("hi")
        assert ext.node("loc", "a.txt").read_text() == "hi"
    assert (tmp_path / "a.txt").read_text() == "hi"


def test_mounts_from_a_file(tmp_path):
    path = tmp_path / "mounts.json"
    path.write_text(json.dumps([{"name": "scratch", "type": "memory"}]))
    app, ext = new_app(GENRO_STORAGE_MOUNTS=str(path))
    with app.app_context():
        assert list(ext.storage.mounts) == ["scratch"]


def test_two_apps_never_see_each_others_mounts(tmp_path):
    ext = GenroStorage()
    one, two = Flask("one"), Flask("two")
    one.config["GENRO_STORAGE_MOUNTS"] = [{"name": "m", "type": "local", "path": str(tmp_path / "one")}]
    two.config["GENRO_STORAGE_MOUNTS"] = [{"name": "m", "type": "memory"}, {"name": "only_two", "type": "memory"}]
    ext.init_app(one)
    ext.init_app(two)
    with one.app_context():
        ext.node("m:x.txt").write_text("one")
    with two.app_context():
        assert not ext.node("m:x.txt").exists
        ext.node("m:x.txt").write_text("two")
        assert set(ext.storage.mounts) == {"m", "only_two"}
    with one.app_context():
        assert ext.node("m:x.txt").read_text() == "one"
        with pytest.raises(MountNotFoundError):
            ext.node("only_two:x")


def test_using_the_extension_without_init_app_says_so():
    ext = GenroStorage()
    app = Flask("bare")
    with app.app_context(), pytest.raises(RuntimeError, match="init_app"):
        _ = ext.storage


def test_a_second_registration_is_refused():
    app, _ = new_app()
    with pytest.raises(RuntimeError, match="already been registered"):
        GenroStorage(app)


@pytest.mark.parametrize(
    "base_url", ["/files/", "/files", "https://cdn.example.com/files/", "http://127.0.0.1:8000/f/"]
)
def test_base_url_takes_a_path_or_an_absolute_url(base_url):
    app = Flask("ok")
    app.config.update(SECRET_KEY=SECRET_KEY, GENRO_STORAGE_BASE_URL=base_url)
    GenroStorage(app)
    assert app.extensions["genro_storage"].base_url == base_url.rstrip("/") + "/"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"GENRO_STORAGE_MOUNT": []}, r"GENRO_STORAGE_MOUNT.*did you mean 'GENRO_STORAGE_MOUNTS'"),
        (
            {"GENRO_STORAGE_MOUNTS": [{"name": "x", "type": "nosuchtype"}]},
            r"GENRO_STORAGE_MOUNTS: mount 'x', key 'type'",
        ),
        ({"GENRO_STORAGE_MOUNTS": [{"type": "memory"}]}, r"GENRO_STORAGE_MOUNTS: .*key 'name'"),
        ({"GENRO_STORAGE_MOUNTS": "/no/such/mounts.yaml"}, r"GENRO_STORAGE_MOUNTS: config file not found"),
        ({"GENRO_STORAGE_PUBLIC_MOUNTS": ["nope"]}, r"GENRO_STORAGE_PUBLIC_MOUNTS.*'nope'"),
        ({"GENRO_STORAGE_PUBLIC_MOUNTS": "scratch"}, r"GENRO_STORAGE_PUBLIC_MOUNTS.*list of mount names"),
        ({"GENRO_STORAGE_SERVE": {"MAX_AGEE": 3}}, r"GENRO_STORAGE_SERVE.*did you mean 'max_age'"),
        ({"GENRO_STORAGE_SERVE": {"max_age": -1}}, r"GENRO_STORAGE_SERVE.*max_age"),
        ({"GENRO_STORAGE_OFFLOAD": {"scratch": "x-accel-redirect"}}, r"GENRO_STORAGE_OFFLOAD: mount 'scratch'"),
        ({"GENRO_STORAGE_OFFLOAD": {"scratch": "teleport"}}, r"GENRO_STORAGE_OFFLOAD: .*offload mode"),
        ({"GENRO_STORAGE_URL_SECRET": "short"}, r"GENRO_STORAGE_URL_SECRET.*at least 16"),
        ({"GENRO_STORAGE_MAX_UPLOAD_SIZE": "10MB"}, r"GENRO_STORAGE_MAX_UPLOAD_SIZE"),
        ({"GENRO_STORAGE_UPLOAD_TYPES": {"scratch": ["png"]}}, r"GENRO_STORAGE_UPLOAD_TYPES.*'png'"),
        ({"GENRO_STORAGE_UPLOAD_TYPES": {"nope": ["image/*"]}}, r"GENRO_STORAGE_UPLOAD_TYPES.*'nope'"),
        ({"GENRO_STORAGE_BASE_URL": ""}, r"GENRO_STORAGE_BASE_URL"),
        ({"GENRO_STORAGE_BASE_URL": "files"}, r"GENRO_STORAGE_BASE_URL.*'/files/'"),
        ({"GENRO_STORAGE_BASE_URL": "//cdn.example.com/files/"}, r"GENRO_STORAGE_BASE_URL"),
        ({"GENRO_STORAGE_BASE_URL": "ftp://example.com/files/"}, r"GENRO_STORAGE_BASE_URL"),
        ({"GENRO_STORAGE_PUBLIC_MOUNTS": [{"a": 1}]}, r"GENRO_STORAGE_PUBLIC_MOUNTS.*strings.*\{'a': 1\}"),
        ({"GENRO_STORAGE_UPLOAD_TYPES": {"scratch": ["image/"]}}, r"GENRO_STORAGE_UPLOAD_TYPES.*'image/'"),
        ({"GENRO_STORAGE_UPLOAD_TYPES": {"scratch": ["*/*"]}}, r"GENRO_STORAGE_UPLOAD_TYPES.*'\*/\*'"),
        ({"GENRO_STORAGE_UPLOAD_TYPES": {"scratch": ["/png"]}}, r"GENRO_STORAGE_UPLOAD_TYPES.*'/png'"),
        ({"GENRO_STORAGE_UPLOAD_SAME_ORIGIN": "no"}, r"GENRO_STORAGE_UPLOAD_SAME_ORIGIN.*True or False"),
    ],
)
def test_misconfiguration_fails_in_init_app_naming_the_key(config, message):
    app = Flask("bad")
    app.config["GENRO_STORAGE_MOUNTS"] = [{"name": "scratch", "type": "memory"}]
    app.config.update(config)
    with pytest.raises(StorageConfigError, match=message):
        GenroStorage(app)


def test_url_secret_is_derived_from_secret_key_never_the_key_itself():
    app, ext = new_app(GENRO_STORAGE_MOUNTS=[{"name": "scratch", "type": "memory"}])
    other, other_ext = new_app(
        GENRO_STORAGE_MOUNTS=[{"name": "scratch", "type": "memory"}], GENRO_STORAGE_URL_SECRET=SECRET_KEY
    )
    with app.app_context():
        signer = ext.storage.url_signer()
        derived = signer.signature("scratch", "x", 2_000_000_000)
    with other.app_context():
        with_key_itself = other_ext.storage.url_signer().signature("scratch", "x", 2_000_000_000)
    assert derived != with_key_itself
    assert derive_url_secret(SECRET_KEY) != SECRET_KEY
    assert derive_url_secret(SECRET_KEY) == derive_url_secret(SECRET_KEY.encode())


@pytest.mark.parametrize("secret_key", [12345, True, "dev", b"x", "k" * 32])
def test_a_guessable_secret_key_fails_at_init_app(secret_key):
    # The URL key derived from a short or repeated SECRET_KEY (or from bytes(12345), NULs)
    # would let anyone sign a URL to a private file.
    app = Flask("weak")
    app.config.update(SECRET_KEY=secret_key, GENRO_STORAGE_MOUNTS=[{"name": "scratch", "type": "memory"}])
    with pytest.raises(StorageConfigError, match="key 'SECRET_KEY'.*GENRO_STORAGE_URL_SECRET"):
        GenroStorage(app)


def test_a_url_secret_makes_the_secret_key_irrelevant():
    app = Flask("own")
    app.config.update(
        SECRET_KEY="dev", GENRO_STORAGE_URL_SECRET=SECRET_KEY, GENRO_STORAGE_MOUNTS=[{"name": "m", "type": "memory"}]
    )
    ext = GenroStorage(app)
    with app.app_context():
        assert "signature=" in ext.node("m:x").url()


def test_without_any_secret_signed_urls_say_what_is_missing():
    app = Flask("nosecret")
    app.config["GENRO_STORAGE_MOUNTS"] = [{"name": "scratch", "type": "memory"}]
    ext = GenroStorage(app)
    with app.app_context(), pytest.raises(StorageConfigError, match="configure_urls"):
        ext.node("scratch:x").url()
