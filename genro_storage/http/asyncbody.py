"""A :class:`Response` body for ASGI servers: read in worker threads, sent as it is read.

An ASGI handler given a sync iterator either blocks its event loop or (Django) reads it to
the end before the first byte. :class:`AsyncBody` reads each chunk in a thread of its own
pool, so the loop stays free and memory holds one chunk per download; closing it (the
response finished, or the client went away) closes the backend stream.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from .responder import Response

__all__ = ["AsyncBody", "ASYNC_CHUNK"]

#: Bytes read per hop from a local file: each hop costs a thread switch and a send, so
#: fewer, larger ones move twice the bytes of 64 KiB ones; a download still holds well
#: under 1 MiB.
ASYNC_CHUNK = 256 * 1024

_END = object()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """The threads reading bodies: apart from the loop's default pool (and from Django's
    single thread for sync code), so many slow downloads never starve other work."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="genro-storage-body")
        return _pool


def _slices(file: Any) -> Iterator[bytes]:
    while chunk := file.read(ASYNC_CHUNK):
        yield chunk


class AsyncBody:
    """``async for chunk in AsyncBody(response)``: the response's bytes, each chunk read
    in a worker thread. ``close()`` and ``aclose()`` release the body once, after any read
    in progress ends (never under a thread still reading)."""

    def __init__(self, response: Response | Iterable[bytes]):
        if isinstance(response, Response):
            self._body: Any = response.body
            self._chunks: Iterator[bytes] | None = _slices(response.file) if response.file is not None else None
        else:
            self._body = response
            self._chunks = None
        self._pending: Future[Any] | None = None
        self._closed = False

    def __aiter__(self) -> AsyncBody:
        return self

    async def __anext__(self) -> bytes:
        if self._closed:
            raise StopAsyncIteration
        if self._chunks is None:
            self._chunks = iter(self._body)
        self._pending = _executor().submit(next, self._chunks, _END)
        try:
            chunk = await asyncio.wrap_future(self._pending)
        except BaseException:
            self.close()  # a failed read, or the task cancelled because the client left
            raise
        if chunk is _END:
            self.close()
            raise StopAsyncIteration
        return chunk

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        pending = self._pending
        if pending is not None and not pending.done():
            pending.add_done_callback(lambda _: self._release())
        else:
            self._release()

    async def aclose(self) -> None:
        self.close()

    def _release(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            close()
