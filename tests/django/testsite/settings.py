"""Settings for tests/django/testsite: GENRO_STORAGE and the database from the environment."""

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # testapp

SECRET_KEY = "a-django-secret-key-for-the-genro-storage-test-site-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "genro_storage_django",
    "testapp",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "testsite.urls"
TEMPLATES = [
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
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("GENRO_TEST_DB", ":memory:"),
        "OPTIONS": {"timeout": 30},
    }
}
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
GENRO_STORAGE = json.loads(os.environ.get("GENRO_TEST_STORAGE", "{}")) or {
    "MOUNTS": [{"name": "a", "type": "memory"}],
    "DEFAULT_MOUNT": "a",
}
if "AUTHORIZE" in GENRO_STORAGE:  # a dotted path in the JSON: the callable itself here
    from django.utils.module_loading import import_string

    GENRO_STORAGE["AUTHORIZE"] = import_string(GENRO_STORAGE["AUTHORIZE"])
