"""The site's WSGI application, for gunicorn (``run.py django`` starts it)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demosite.settings")
application = get_wsgi_application()
