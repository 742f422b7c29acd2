"""WSGI entry of the bench/django_serve.py site (``gunicorn django_wsgi:application``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_settings")
application = get_wsgi_application()
