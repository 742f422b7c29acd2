"""Django settings for bench/django_serve.py: one site, the app chosen by ``BENCH_DJANGO_APP``.

- ``genro``: ``genro_storage_django.middleware.ServeMiddleware`` first in MIDDLEWARE and
  ``path("files/", include("genro_storage_django.urls"))`` (the README's set-up) over a
  local mount ``bench`` at ``BENCH_ROOT``, listed in ``PUBLIC_MOUNTS``.
- ``genro-wsgi``: ``genro_storage_django.wsgi.get_wsgi_application()`` (the files answered in
  front of Django's handler) with the same mount and urls, and SecurityMiddleware as a site has.
- ``genro-view``: the same without the middleware (every request through URL resolution).
- ``static``: ``django.views.static.serve`` (a ``FileResponse``) with ``document_root=BENCH_ROOT``.
- ``whitenoise``: ``WhiteNoiseMiddleware`` over ``STATIC_ROOT=BENCH_ROOT``.
- ``memory``: a view answering from the files' bytes read into memory at start-up (what
  Django and the server cost per request without any file: see django_urls.py).

Every app answers ``/files/bench/<name>``. No other middleware, no database, DEBUG off: the
rows compare the cost of serving a file, not of a site's middleware stack.
"""

import os

APP = os.environ.get("BENCH_DJANGO_APP", "")
APPS = ("genro", "genro-wsgi", "genro-view", "static", "whitenoise", "memory")
if APP not in APPS:
    raise RuntimeError(f"BENCH_DJANGO_APP must be one of {', '.join(APPS)}, not {APP!r}")
ROOT = os.environ["BENCH_ROOT"]

SECRET_KEY = "genro-storage-django-serve-benchmark-not-a-secret-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
ROOT_URLCONF = "django_urls"
DATABASES: dict = {}
INSTALLED_APPS = ["django.contrib.staticfiles"] if APP == "whitenoise" else []
MIDDLEWARE = {
    "whitenoise": ["whitenoise.middleware.WhiteNoiseMiddleware"],
    "genro": ["genro_storage_django.middleware.ServeMiddleware"],
    "genro-wsgi": ["django.middleware.security.SecurityMiddleware"],
}.get(APP, [])
STATIC_URL = "/files/bench/"
STATIC_ROOT = ROOT if APP == "whitenoise" else None
WHITENOISE_AUTOREFRESH = False

GENRO_STORAGE = {
    "MOUNTS": [{"name": "bench", "type": "local", "path": ROOT}],
    "PUBLIC_MOUNTS": ["bench"],
    "BASE_URL": "/files/",
}
if APP.startswith("genro"):
    INSTALLED_APPS.append("genro_storage_django")
