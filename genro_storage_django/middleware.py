"""``ServeMiddleware``: the serve view's fast path, answering before URL resolution and the
rest of the middleware stack, as WhiteNoise does for static files.

Put it right after ``SecurityMiddleware`` (which redirects to HTTPS and adds HSTS first),
before the session, authentication and CSRF middleware. It answers the files anyone may read (public mounts, valid
signed URLs) under ``BASE_URL``; everything else (refusals, ``AUTHORIZE`` decisions, which
need the session and the user, other methods) goes on to the serve view, which answers as
it always does. Include ``genro_storage_django.urls`` either way.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponseBase

from genro_storage.http import EnvironHeaders, Response

from . import conf
from .responses import to_django

__all__ = ["ServeMiddleware"]


class ServeMiddleware:
    """Serve public and signed files under ``GENRO_STORAGE['BASE_URL']`` first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        method = request.method
        if method == "GET" or method == "HEAD":
            route = conf.serve_route()
            prefix = urlsplit(route.base_url).path
            path = request.path_info
            if path.startswith(prefix):
                request.get_host()  # ALLOWED_HOSTS, as every view would check it: 400 otherwise
                meta = request.META
                found = route.resolve(path[len(prefix) :], meta.get("QUERY_STRING", ""))
                if not isinstance(found, Response):
                    response = route.respond(found, method, EnvironHeaders(meta))
                    if response.status not in (403, 404):
                        return to_django(response, request)
                    response.close()
        return self.get_response(request)
