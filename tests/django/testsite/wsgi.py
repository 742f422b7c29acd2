import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testsite.settings")
application = get_wsgi_application()

from testsite.seed import seed  # noqa: E402  (needs the app loaded)

seed()
