"""The fastest way to serve files through Django: a WSGI application in front of Django's.

``ServeMiddleware`` answers inside Django's handler, which still builds a request, sends
the request signals and converts the response: about 100 µs a request before any file.
:class:`ServeApplication` answers the same files (public mounts, valid signed URLs under
``BASE_URL``, GET and HEAD) before Django's handler, as WhiteNoise's WSGI wrapper did for
static files, with the same headers as ``ServeMiddleware`` placed after
``SecurityMiddleware``. Everything else goes to Django as it is: the ``ALLOWED_HOSTS``
check, an HTTPS redirect, ``AUTHORIZE``, and every error answer (refusals, 412, 416), which
Django's handler answers and logs as it always does.

In ``wsgi.py``::

    from genro_storage_django.wsgi import get_wsgi_application

    application = get_wsgi_application()

No Django middleware runs for the files it answers (SecurityMiddleware's headers are added
from its settings), and no request signals are sent: put ``ServeMiddleware`` after any
middleware whose work files need (CORS headers, say) and use it instead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.signals import setting_changed
from django.core.wsgi import get_wsgi_application as django_wsgi_application
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from genro_storage.http import EnvironHeaders, Response, wsgi_path

from . import conf

__all__ = ["ServeApplication", "get_wsgi_application"]

SECURITY_MIDDLEWARE = "django.middleware.security.SecurityMiddleware"

_lock = threading.Lock()
#: (secure?) -> the headers SecurityMiddleware adds to a response, from the settings.
_security: dict[bool, list[tuple[str, str]]] = {}
#: Host header -> whether Django's ``get_host`` accepts it, under the settings as they are.
_hosts: dict[str, bool] = {}
#: Distinct Host headers remembered before the cache starts over (a client may send any).
_HOSTS_MAX = 256


class _EnvironRequest(HttpRequest):
    """Django's own host and scheme rules (``get_host``, ``is_secure``) on a WSGI environ,
    without building a request: they read nothing but ``META``."""

    def __init__(self, environ: dict[str, Any]):
        self.META = environ

    def _get_scheme(self) -> str:
        return self.META.get("wsgi.url_scheme", "http")


class _Secure:
    """What SecurityMiddleware asks a request: only whether it came over HTTPS."""

    def __init__(self, secure: bool):
        self.secure = secure

    def is_secure(self) -> bool:
        return self.secure


def security_headers(secure: bool) -> list[tuple[str, str]]:
    """The headers ``SecurityMiddleware`` (when in ``MIDDLEWARE``) adds to an answer over
    HTTPS or not: worked out once by running it, so they follow the settings exactly."""
    found = _security.get(secure)
    if found is None:
        found = []
        if SECURITY_MIDDLEWARE in settings.MIDDLEWARE:
            from django.middleware.security import SecurityMiddleware

            blank = HttpResponse()
            before = {name.lower() for name in blank.headers}
            middleware = SecurityMiddleware(lambda request: blank)
            answer = middleware.process_response(_Secure(secure), blank)
            found = [(name, value) for name, value in answer.items() if name.lower() not in before]
        with _lock:
            _security[secure] = found
    return found


def host_allowed(request: _EnvironRequest) -> bool:
    """Whether Django's ``get_host`` accepts the request's host (``ALLOWED_HOSTS``), the
    answer kept per ``Host`` header: the check costs more than the rest of a file's answer."""
    meta = request.META
    host = meta.get("HTTP_HOST")
    if host is None or settings.USE_X_FORWARDED_HOST:
        host = None  # the host comes from other fields: ask Django each time
    else:
        allowed = _hosts.get(host)
        if allowed is not None:
            return allowed
    try:
        request.get_host()
        allowed = True
    except DisallowedHost:
        allowed = False
    if host is not None:
        with _lock:
            if len(_hosts) >= _HOSTS_MAX:
                _hosts.clear()
            _hosts[host] = allowed
    return allowed


@receiver(setting_changed)
def _settings_changed(setting: str, **kwargs: Any) -> None:
    with _lock:
        if setting in ("ALLOWED_HOSTS", "DEBUG", "USE_X_FORWARDED_HOST"):
            _hosts.clear()
        if setting == "MIDDLEWARE" or setting.startswith("SECURE_"):
            _security.clear()


class ServeApplication:
    """``application`` (Django's WSGI handler, or any WSGI app in front of it) with the
    files anyone may read under ``BASE_URL`` answered first."""

    def __init__(self, application: Any):
        self.application = application
        self._prefix: tuple[Any, str] = (None, "")  # (route, the path part of its base_url)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method == "GET" or method == "HEAD":
            try:
                response = self.answer(environ, method)
            except Exception:  # bad settings, a backend failing: the serve view meets it
                response = None  # again, and Django answers and logs it its own way
            if response is not None:
                return response(environ, start_response)
        return self.application(environ, start_response)

    def answer(self, environ: dict[str, Any], method: str) -> Response | None:
        """The core's answer for a file this application serves, or None for Django to
        answer (not a file under ``BASE_URL``, an error answer, a host Django refuses,
        plain HTTP under ``SECURE_SSL_REDIRECT``). Raises what Django should report."""
        route = conf.serve_route()
        known = self._prefix
        if known[0] is not route:  # settings changed: a new route, maybe a new BASE_URL
            known = self._prefix = (route, urlsplit(route.base_url).path)
        path = wsgi_path(environ, known[1])
        if path is None:
            return None
        request = _EnvironRequest(environ)
        if not host_allowed(request):
            return None  # Django answers 400 and logs it
        secure = request.is_secure()
        if not secure and settings.SECURE_SSL_REDIRECT and SECURITY_MIDDLEWARE in settings.MIDDLEWARE:
            return None  # SecurityMiddleware redirects to HTTPS (or knows the path is exempt)
        extra = security_headers(secure)
        found = route.resolve(path, environ.get("QUERY_STRING", ""))
        if isinstance(found, Response):
            return None
        response = route.respond(found, method, EnvironHeaders(environ))
        if response.status >= 400:  # refusals, 412, 416, 503: Django answers and logs them
            response.close()
            return None
        if extra:
            present = {name.lower() for name, _ in response.headers}
            response.headers = [*response.headers, *(item for item in extra if item[0].lower() not in present)]
        return response


def get_wsgi_application() -> ServeApplication:
    """Django's ``get_wsgi_application()`` with stored files answered before it."""
    return ServeApplication(django_wsgi_application())
