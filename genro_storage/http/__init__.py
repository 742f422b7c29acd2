"""HTTP serving shared by every framework: the RFC 9110 file responder, the request
pipeline (:class:`ServeRoute`), the serving options, and a WSGI app on top of them.

An integration (Django view, Flask blueprint, another framework) builds a
:class:`ServeRoute` and a :class:`ServeOptions` once at start-up, and per request calls
``route.resolve(path, query)`` then ``route.respond(target, method, headers)``, turning
the :class:`Response` it gets into its own response object.
"""

from .app import StorageApp
from .asyncbody import AsyncBody
from .offload import OFFLOAD_MODES, Offload, offloads
from .options import ACTIVE_CONTENT, MAX_RANGES, ServeOptions
from .pipeline import ServeRoute, Target, listing_response, wsgi_path
from .responder import EnvironHeaders, Response, request_headers, respond, serve, status_for

__all__ = [
    "StorageApp",
    "AsyncBody",
    "ServeRoute",
    "ServeOptions",
    "Offload",
    "offloads",
    "OFFLOAD_MODES",
    "Target",
    "Response",
    "respond",
    "serve",
    "listing_response",
    "wsgi_path",
    "request_headers",
    "status_for",
    "EnvironHeaders",
    "MAX_RANGES",
    "ACTIVE_CONTENT",
]
