"""ASGI entry of the bench/django_serve.py site (``uvicorn django_asgi:application``): Django's handler."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_settings")
application = get_asgi_application()
