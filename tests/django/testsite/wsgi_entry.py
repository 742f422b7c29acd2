"""The test site behind ``genro_storage_django.wsgi``: files answered in front of Django."""

import os

from genro_storage_django.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testsite.settings")
application = get_wsgi_application()

from testsite.seed import seed  # noqa: E402  (needs the app loaded)

seed()
