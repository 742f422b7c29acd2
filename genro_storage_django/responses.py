"""A core :class:`~genro_storage.http.Response` as a Django response, for either handler.

Under WSGI a local file slice becomes a :class:`FileResponse` whose headers are already
complete, so the server's ``wsgi.file_wrapper`` sends it with ``sendfile``; under ASGI
every body is an :class:`~genro_storage.http.AsyncBody`, sent chunk by chunk as it is
read (Django's handler would otherwise read a sync iterator to the end first).
"""

from __future__ import annotations

from django.core.handlers.asgi import ASGIRequest
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse

from genro_storage.backends.base import CHUNK_SIZE
from genro_storage.http import AsyncBody, Response

__all__ = ["to_django"]


class SliceResponse(FileResponse):
    """A FileResponse for a :class:`~genro_storage.http.responder.FileSlice`: the core
    set every header (Content-Length of the slice, Content-Range), nothing is guessed."""

    block_size = CHUNK_SIZE

    def set_headers(self, filelike: object) -> None:
        """Keep the core's headers: Django's would size the whole file, wrong for a 206."""


def to_django(response: Response, request: HttpRequest) -> HttpResponseBase:
    """``response`` as the Django response the request's handler sends best."""
    body = response.body
    if response.status in (200, 206):
        # A file's bytes go as they are: GZipMiddleware would compress a range (then wrong
        # against its Content-Range) and weaken the ETag that If-Range resumes with.
        request.META.pop("HTTP_ACCEPT_ENCODING", None)
    if response.status == 304:
        # Streaming, so CommonMiddleware adds no Content-Length: 0 to it (RFC 9110 8.6).
        answer: HttpResponseBase = StreamingHttpResponse((), status=304)
    elif isinstance(request, ASGIRequest) and (response.file is not None or not isinstance(body, (list, tuple))):
        answer = StreamingHttpResponse(AsyncBody(response), status=response.status)
    elif response.file is not None:
        answer = SliceResponse(response.file, status=response.status)
        answer._resource_closers.append(response.close)
    elif isinstance(body, (list, tuple)):
        answer = HttpResponse(b"".join(body), status=response.status)
    else:
        answer = StreamingHttpResponse(body, status=response.status)
    if "Content-Type" in answer.headers:
        del answer.headers["Content-Type"]  # Django's text/html default: a 304 or 416 has none
    for name, value in response.headers:
        answer.headers[name] = value
    return answer
