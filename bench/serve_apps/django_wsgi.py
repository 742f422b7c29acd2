"""WSGI entry of the bench/django_serve.py site (``gunicorn django_wsgi:application``).

For ``BENCH_DJANGO_APP=genro-wsgi`` it is the README's ``genro_storage_django.wsgi``
entry: the files answered in front of Django's handler.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_settings")

if os.environ.get("BENCH_DJANGO_APP") == "genro-wsgi":
    from genro_storage_django.wsgi import get_wsgi_application
else:
    from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
