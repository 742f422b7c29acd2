"""The serve view (``/<mount>/<path>``) and :func:`serve_node` for the site's own views.

Both are the core pipeline plus a translation: resolve (mount, path safety, signature,
``PUBLIC_MOUNTS``, ``AUTHORIZE``), respond (RFC 9110, or the mount's offload), then
:func:`~genro_storage_django.responses.to_django`. Refusals go through Django's own error
handling (``Http404``, ``PermissionDenied``), so the site's 404 and 403 pages answer.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from django.views.decorators.http import require_safe

from genro_storage.http import EnvironHeaders, Response, ServeOptions, Target

from . import conf
from .responses import to_django

if TYPE_CHECKING:
    from genro_storage import StorageNode

__all__ = ["serve", "serve_node"]


def _answer(response: Response, request: HttpRequest, what: str) -> HttpResponseBase:
    if response.status == 404:
        raise Http404(f"no file {what}")
    if response.status == 403:
        raise PermissionDenied(f"no access to {what}")
    return to_django(response, request)


@require_safe
def serve(request: HttpRequest, path: str) -> HttpResponseBase:
    """``GET``/``HEAD`` of the file at ``<mount>/<path>``: public mounts as they are, others
    with a valid signed URL from ``storage.url()`` / ``node.url()`` or when ``AUTHORIZE``
    (``callable(request, node)``) says yes."""
    route, check = conf.serving()
    meta = request.META
    found = route.resolve(path, meta.get("QUERY_STRING", ""), authorize=check and partial(check, request))
    if isinstance(found, Response):
        return _answer(found, request, path)
    # META holds the request's headers under both handlers: no HttpHeaders built per request.
    return _answer(route.respond(found, request.method, EnvironHeaders(meta)), request, path)


def serve_node(request: HttpRequest, node: StorageNode, **options: Any) -> HttpResponseBase:
    """Answer ``request`` with the file ``node`` (the view has checked access): ranges,
    validators and the mount's offload as the serve view, ``options`` over ``SERVE``
    (``as_attachment=True``, ``download_name="report.pdf"``, ``max_age``...)."""
    route = conf.serve_route()
    method = request.method if request.method in ("GET", "HEAD") else "GET"
    response = route.respond(
        Target(node, signed=False), method, EnvironHeaders(request.META), ServeOptions.build(route.options, **options)
    )
    return _answer(response, request, node.fullpath)
