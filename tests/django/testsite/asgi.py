import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testsite.settings")
application = get_asgi_application()

from testsite.seed import seed  # noqa: E402  (needs the app loaded)

seed()
