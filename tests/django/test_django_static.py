"""collectstatic into any mount; a second run with nothing changed uploads nothing and
asks the server nothing per file (one listing per folder)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.test.utils import override_settings
from helpers import counting_s3_requests, mount_config, server_for

from genro_storage_django import storage_manager

FILES = {
    "css/site.css": "body { background: url('../img/logo.png') }",
    "css/print.css": "body { color: black }",
    "img/logo.png": "not really a png",
    "js/app.js": "console.log('hi')",
    "js/vendor/lib.js": "var lib = 1",
    "robots.txt": "User-agent: *",
}


@pytest.fixture
def sources(tmp_path):
    root = tmp_path / "assets"
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@contextmanager
def settings_for(kind, tmp_path, request, sources, backend="GenroStaticStorage"):
    """Mount ``assets`` of ``kind`` as the staticfiles storage, built as STORAGES builds it.

    Django 4.2's override_settings(STORAGES=...) drops OPTIONS (it also overrides
    STATICFILES_STORAGE, which wins), so the storage is built here from the same entry."""
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.core.files.storage import StorageHandler
    from django.utils.functional import empty

    mounts = [mount_config(kind, "assets", tmp_path, server_for(kind, request))]
    entry = {
        "BACKEND": f"genro_storage_django.staticfiles.{backend}",
        "OPTIONS": {"mount": "assets", "location": "static"},
    }
    with override_settings(GENRO_STORAGE={"MOUNTS": mounts}, STATICFILES_DIRS=[str(sources)]):
        staticfiles_storage._wrapped = StorageHandler({"staticfiles": entry})["staticfiles"]
        try:
            yield
        finally:
            staticfiles_storage._wrapped = empty


@pytest.mark.parametrize("kind", ["local", "memory", "s3"])
def test_collectstatic_into_a_mount(kind, tmp_path, request, sources):
    with settings_for(kind, tmp_path, request, sources):
        call_command("collectstatic", interactive=False, verbosity=0)
        for name, text in FILES.items():
            assert storage_manager().node("assets", "static", name).read_text() == text


def test_a_second_collectstatic_on_s3_uploads_nothing_and_lists_once_per_folder(tmp_path, request, sources):
    with settings_for("s3", tmp_path, request, sources):
        call_command("collectstatic", interactive=False, verbosity=0)
        # Ours, and those of the other installed apps (the admin's).
        folders = sum(1 for _ in storage_manager().node("assets:static").walk())
        files = sum(len(names) for _, _, names in storage_manager().node("assets:static").walk())
        backend = storage_manager().get_backend("assets")
        with counting_s3_requests(backend) as seen:
            call_command("collectstatic", interactive=False, verbosity=0)
    assert files > folders >= 5
    uploads = seen["PutObject"] + seen["CreateMultipartUpload"] + seen["CopyObject"]
    assert uploads == 0, seen
    assert seen["HeadObject"] == 0 and seen["GetObject"] == 0, seen
    assert seen["ListObjectsV2"] <= folders, seen


def test_manifest_storage_hashes_names(tmp_path, request, sources):
    from django.contrib.staticfiles.storage import staticfiles_storage

    with settings_for("memory", tmp_path, request, sources, backend="GenroManifestStaticStorage"):
        call_command("collectstatic", interactive=False, verbosity=0)
        url = staticfiles_storage.url("css/site.css")
        assert url.startswith("/static/css/site.") and url.endswith(".css") and url != "/static/css/site.css"
        hashed = url.removeprefix("/static/")
        text = storage_manager().node("assets", "static", hashed).read_text()
        assert "../img/logo." in text and "logo.png'" not in text  # the reference was rewritten
