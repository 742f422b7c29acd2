"""The site's WSGI application, for gunicorn (``run.py django`` starts it).

``genro_storage_django.wsgi`` answers public files and signed URLs before Django's handler
(the fastest way through Django); everything else is Django's, as usual.
"""

import os

from genro_storage_django.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demosite.settings")
application = get_wsgi_application()
