"""Settings of the example site: every upload on a genro-storage mount, served by its view.

Mounts: ``local`` (a folder in the state directory), ``s3`` (the embedded S3 of
``run.py``, or the bucket ``GENRO_S3_*`` names) and ``static`` (collected static files,
served publicly by the same view). New uploads go to ``GENRO_UPLOADS_MOUNT`` (``local``);
``manage.py storage_migrate`` moves existing ones. ``manage.py check --deploy`` asks only
for what plain HTTP on 127.0.0.1 cannot have (HSTS, HTTPS redirect, secure cookies).
"""

import os
import sys
from pathlib import Path

SITE = Path(__file__).resolve().parents[1]
EXAMPLES = SITE.parent
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))  # embedded.py, shared with the Flask app

from embedded import mounts, persistent_secret, state_dir  # noqa: E402

STATE = state_dir("django")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or persistent_secret(STATE / "secret-key")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", *filter(None, os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(","))]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "genro_storage_django",
    "gallery",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "demosite.urls"
WSGI_APPLICATION = "demosite.wsgi.application"
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
        "NAME": STATE / "db.sqlite3",
        "OPTIONS": {"timeout": 20},
    }
}
USE_TZ = True
TIME_ZONE = "UTC"
LOGIN_URL = "admin:login"
# An upload streams to its mount in chunks; past this size Django spools it to a
# temporary file first instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

GENRO_STORAGE = {
    "MOUNTS": [*mounts(STATE / "files"), {"name": "static", "type": "local", "path": str(STATE / "static")}],
    # Fields built with no mount= (all of gallery's) save new files here.
    "DEFAULT_MOUNT": os.environ.get("GENRO_UPLOADS_MOUNT", "local"),
    "BASE_URL": "/files/",
    # Static files are public; every other file needs a signed URL (or the site's own view).
    "PUBLIC_MOUNTS": ["static"],
}
STORAGES = {
    "default": {"BACKEND": "genro_storage_django.storage.GenroStorage"},
    "staticfiles": {"BACKEND": "genro_storage_django.staticfiles.GenroStaticStorage", "OPTIONS": {"mount": "static"}},
}
STATIC_URL = "/files/static/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # Errors only: a refused signature (403) or a missing file (404) is no news here.
    "loggers": {"django": {"handlers": ["console"], "level": "ERROR"}},
}
