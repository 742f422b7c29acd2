"""URLs for bench/django_serve.py: ``/files/bench/<name>`` through the app of ``BENCH_DJANGO_APP``
(whitenoise answers in its middleware, before any URL is resolved).

``memory`` is an anchor: the files' bytes held in memory since start-up, one
``Range: bytes=a-b`` answered by slicing them, no stat, no open, no validators. What it costs
is what Django and the server cost per request; for a short body no view reading a file
beats it (for 1 MiB, sendfile can: the server copies these bytes through the socket).
"""

import re
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import include, path
from django.views.static import serve

RANGE = re.compile(r"bytes=(\d+)-(\d+)")


def _bodies() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in Path(settings.ROOT).iterdir() if p.is_file()}


def from_memory(request: HttpRequest, path: str) -> HttpResponse:
    data = BODIES.get(path)
    if data is None:
        raise Http404(path)
    asked = RANGE.fullmatch(request.headers.get("Range", ""))
    if asked is None:
        return HttpResponse(data, content_type="application/octet-stream")
    start, end = int(asked[1]), min(int(asked[2]), len(data) - 1)
    response = HttpResponse(data[start : end + 1], status=206, content_type="application/octet-stream")
    response.headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
    return response


if settings.APP.startswith("genro"):
    urlpatterns = [path("files/", include("genro_storage_django.urls"))]
elif settings.APP == "static":
    urlpatterns = [path("files/bench/<path:path>", serve, {"document_root": settings.ROOT})]
elif settings.APP == "memory":
    BODIES = _bodies()
    urlpatterns = [path("files/bench/<path:path>", from_memory)]
else:
    urlpatterns = []
