"""Every system check id, triggered by the setting it is about."""

from __future__ import annotations

import pytest
from django.core import checks
from django.test.utils import override_settings

from genro_storage_django.checks import check_settings

STORAGE = "genro_storage_django.storage.GenroStorage"
STATIC = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}


def ids(**overrides) -> list[str]:
    with override_settings(**overrides):
        return [message.id for message in check_settings()]


def test_good_settings_pass(tmp_path):
    mounts = [{"name": "up", "type": "local", "path": str(tmp_path)}, {"name": "a", "type": "memory"}]
    storages = {"default": {"BACKEND": STORAGE, "OPTIONS": {"mount": "up"}}, "staticfiles": STATIC}
    assert ids(GENRO_STORAGE={"MOUNTS": mounts, "PUBLIC_MOUNTS": ["up"]}, STORAGES=storages) == []


def test_a_field_naming_an_unknown_mount_is_flagged():
    with override_settings(GENRO_STORAGE={"MOUNTS": [{"name": "other", "type": "memory"}]}):
        messages = [m for m in check_settings() if m.id == "genro_storage.E004"]
    assert any("testapp.Document.file" in m.msg and "'a'" in m.msg for m in messages)


def test_the_checks_are_registered():
    assert check_settings in checks.registry.registry.get_checks()


@pytest.mark.parametrize(
    "genro, expected",
    [
        ({"MOUNT": []}, "genro_storage.E001"),
        ({"MOUNTS": [{"name": "x", "type": "memory", "bogus": 1}]}, "genro_storage.E002"),
        ({"MOUNTS": [{"name": "x", "type": "nosuchtype"}]}, "genro_storage.E002"),
        ({"MOUNTS": [{"name": "x", "type": "memory"}], "DEFAULT_MOUNT": "y"}, "genro_storage.E004"),
        ({"MOUNTS": [{"name": "x", "type": "memory"}], "PUBLIC_MOUNTS": ["y"]}, "genro_storage.E004"),
        ({"MOUNTS": [], "SERVE": {"MAX_AGES": 3}}, "genro_storage.E006"),
        ({"MOUNTS": [], "URL_SECRET": 12345}, "genro_storage.E007"),
        ({"MOUNTS": [], "URL_SECRET": "short"}, "genro_storage.E007"),
    ],
)
def test_each_mistake_has_its_id(genro, expected):
    found = ids(GENRO_STORAGE=genro)
    assert expected in found, found


def test_a_missing_package_names_the_extra(monkeypatch):
    import genro_storage.backends as backends

    def missing(type_name):
        raise ImportError(f"backend type {type_name!r} needs 'gcsfs': pip install 'genro-storage[gcs]'")

    monkeypatch.setattr("genro_storage.manager.load_builtin", missing)
    assert backends  # the registry stays; only loading fails
    found = ids(GENRO_STORAGE={"MOUNTS": [{"name": "g", "type": "gcs", "bucket": "b"}]})
    assert "genro_storage.E003" in found


def test_storages_options_are_checked():
    mounts = [{"name": "up", "type": "memory"}]
    unknown = {"default": {"BACKEND": STORAGE, "OPTIONS": {"mount": "nope"}}, "staticfiles": STATIC}
    assert "genro_storage.E004" in ids(GENRO_STORAGE={"MOUNTS": mounts}, STORAGES=unknown)
    typo = {"default": {"BACKEND": STORAGE, "OPTIONS": {"mount": "up", "locaton": "x"}}, "staticfiles": STATIC}
    assert "genro_storage.E008" in ids(GENRO_STORAGE={"MOUNTS": mounts}, STORAGES=typo)
    nomount = {"default": {"BACKEND": STORAGE}, "staticfiles": STATIC}
    assert "genro_storage.E004" in ids(GENRO_STORAGE={"MOUNTS": mounts}, STORAGES=nomount)
    static = {
        "default": {"BACKEND": STORAGE, "OPTIONS": {"mount": "up"}},
        "staticfiles": {"BACKEND": "genro_storage_django.staticfiles.GenroStaticStorage", "OPTIONS": {"mount": "x"}},
    }
    assert "genro_storage.E004" in ids(GENRO_STORAGE={"MOUNTS": mounts}, STORAGES=static)


def test_default_file_storage_is_flagged_where_django_ignores_it():
    import django

    if django.VERSION < (5, 1):
        # Django 4.2 still reads it (and overriding it rewrites STORAGES in place): no error.
        assert "genro_storage.E005" not in ids(GENRO_STORAGE={"MOUNTS": []})
        return
    assert "genro_storage.E005" in ids(GENRO_STORAGE={"MOUNTS": []}, DEFAULT_FILE_STORAGE=STORAGE)


@pytest.mark.parametrize("secret_key", ["dev", "k" * 40])
def test_a_guessable_secret_key_cannot_sign_urls(secret_key):
    # With no URL_SECRET, the URL key is derived from SECRET_KEY: anyone guessing it could
    # sign a URL to any private file.
    with override_settings(GENRO_STORAGE={"MOUNTS": []}, SECRET_KEY=secret_key):
        messages = [m for m in check_settings() if m.id == "genro_storage.E007"]
    assert messages and "SECRET_KEY" in messages[0].msg and "URL_SECRET" in messages[0].hint
