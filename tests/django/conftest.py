"""Django for the adapter's tests: settings configured here (no settings module needed),
and a ``genro`` fixture giving a GenroStorage on a fresh mount of each backend kind."""

from __future__ import annotations

import django
import pytest
from django.conf import settings
from django.test.utils import override_settings
from helpers import mount_config, server_for
from testsite import settings as site  # the apps, middleware and templates of the test site

if not settings.configured:
    settings.configure(
        SECRET_KEY="a-django-secret-key-for-the-genro-storage-tests-0123456789",
        USE_TZ=True,
        INSTALLED_APPS=site.INSTALLED_APPS,
        STATIC_URL="/static/",
        ROOT_URLCONF="testapp.urls",
        MIDDLEWARE=site.MIDDLEWARE,
        TEMPLATES=site.TEMPLATES,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        GENRO_STORAGE={
            "MOUNTS": [{"name": "scratch", "type": "memory"}, {"name": "a", "type": "memory"}],
            "DEFAULT_MOUNT": "scratch",
        },
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()

KINDS = ["local", "memory", "s3"]


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


@pytest.fixture
def pub_priv(kind, tmp_path, request) -> dict:
    """GENRO_STORAGE for the serving tests: mounts ``pub`` (public) and ``priv`` of ``kind``,
    ``priv`` the default, and ``a`` (memory, the test models')."""
    server = server_for(kind, request)
    mounts = [mount_config(kind, "pub", tmp_path, server), mount_config(kind, "priv", tmp_path, server)]
    return {"MOUNTS": [*mounts, {"name": "a", "type": "memory"}], "DEFAULT_MOUNT": "priv", "PUBLIC_MOUNTS": ["pub"]}


@pytest.fixture
def genro(kind, tmp_path, request):
    """A GenroStorage on mount ``m`` of ``kind`` (settings overridden for the test)."""
    from genro_storage_django.storage import GenroStorage

    mounts = [mount_config(kind, "m", tmp_path, server_for(kind, request))]
    with override_settings(GENRO_STORAGE={"MOUNTS": mounts, "DEFAULT_MOUNT": "m"}):
        yield GenroStorage()
