"""Django for the adapter's tests: settings configured here (no settings module needed),
and a ``genro`` fixture giving a GenroStorage on a fresh mount of each backend kind."""

from __future__ import annotations

import django
import pytest
from django.conf import settings
from django.test.utils import override_settings
from helpers import mount_config, server_for

if not settings.configured:
    settings.configure(
        SECRET_KEY="a-django-secret-key-for-the-genro-storage-tests-0123456789",
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "genro_storage_django",
            "testapp",
        ],
        STATIC_URL="/static/",
        ROOT_URLCONF="testapp.urls",
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
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
def genro(kind, tmp_path, request):
    """A GenroStorage on mount ``m`` of ``kind`` (settings overridden for the test)."""
    from genro_storage_django.storage import GenroStorage

    mounts = [mount_config(kind, "m", tmp_path, server_for(kind, request))]
    with override_settings(GENRO_STORAGE={"MOUNTS": mounts, "DEFAULT_MOUNT": "m"}):
        yield GenroStorage()
