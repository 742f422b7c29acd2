"""HTTP serving shared by every framework: the RFC 9110 file responder and a WSGI app."""

from .app import StorageApp
from .responder import MAX_RANGES, EnvironHeaders, Response, respond, serve

__all__ = ["StorageApp", "Response", "respond", "serve", "EnvironHeaders", "MAX_RANGES"]
