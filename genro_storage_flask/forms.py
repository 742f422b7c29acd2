"""A multipart/form-data upload, read as it arrives: each file part is written to its
writer while its bytes come and published as soon as the part ends, so one part at a time
is pending (one temporary file, or one buffered object-store part), whatever the form holds.

A form is therefore not all-or-nothing: when a later part is refused (a bad name, a type
not taken, an existing file, an error of the store) or the body breaks off, the files
published before it stay, and the refusal lists them (``files``) beside its ``error``.
Rolling them back is left out on purpose: with ``?overwrite=1`` it would delete what the
replaced files were, which no one can restore.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flask import request
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Event, Field, File, MultipartDecoder, NeedData

from genro_storage import StorageNode

from .config import AppState
from .names import safe_name
from .routes import BlueprintRoute
from .writing import UploadRefused, check_writable, chunks, open_writer, publish

__all__ = ["save_form", "form_boundary"]

#: RFC 2046 section 5.1.1: ``bchars``, not ending in a space. The RFC says at most 70; up
#: to 200 are taken, as werkzeug's own test client makes boundaries of 70 to 75 characters.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,./:=? -]{0,199}[0-9A-Za-z'()+_,./:=?-]")
#: The multipart decoder's buffer limit when the app sets none (werkzeug's default).
FORM_MEMORY = 500_000


def form_boundary() -> str:
    """The current request's multipart boundary: 415 for a body that is no form, 400 for
    a boundary RFC 2046 does not allow (a character outside its set, a trailing space) or
    longer than 200 characters."""
    ctype, params = parse_options_header(request.headers.get("Content-Type", ""))
    boundary = params.get("boundary", "")
    if ctype != "multipart/form-data" or not boundary:
        raise UploadRefused(
            415, "POST a multipart/form-data form to a folder's URL (or PUT the raw body to the file's)"
        )
    if not _BOUNDARY.fullmatch(boundary):
        raise UploadRefused(
            400, f"{boundary!r} is not a multipart boundary (RFC 2046: A-Z a-z 0-9 '()+_,-./:=? and space)"
        )
    return boundary


def _events(decoder: MultipartDecoder, chunk: bytes | None) -> Iterator[Event]:
    """The decoder's events once it has ``chunk`` (None: the body is over); 400 if malformed."""
    try:
        decoder.receive_data(chunk)
        event = decoder.next_event()
        while not isinstance(event, NeedData):
            yield event
            event = decoder.next_event()
    except ValueError as exc:
        raise UploadRefused(400, f"malformed multipart body: {exc}") from None


def _with_end(body: Iterator[bytes]) -> Iterator[bytes | None]:
    yield from body
    yield None  # tells the decoder the body is over


def save_form(
    state: AppState,
    route: BlueprintRoute,
    folder: StorageNode,
    overwrite: bool,
    limit: int | None,
    saved: list[tuple[StorageNode, int]],
) -> None:
    """Save the current request's form files into ``folder``, appending each to ``saved``
    once published (the caller answers with ``saved``, refused or not)."""
    decoder = MultipartDecoder(
        form_boundary().encode("ascii"),
        request.max_form_memory_size or FORM_MEMORY,
        max_parts=request.max_form_parts,
    )
    names: set[str] = set()
    current: list[Any] | None = None  # [node, writer, size] of the part arriving
    try:
        for chunk in _with_end(chunks(limit)):
            for event in _events(decoder, chunk):
                if isinstance(event, Epilogue):
                    if not saved:
                        raise UploadRefused(400, "no file in the form (a file field with a file name)")
                    return
                if isinstance(event, File):
                    current = _start_file(state, route, folder, event.filename, overwrite, names)
                elif isinstance(event, Field):
                    current = None  # form fields are not kept
                elif isinstance(event, Data) and current is not None:
                    current[1].write(event.data)
                    current[2] += len(event.data)
                    if not event.more_data:
                        node, writer, size = current
                        current = None
                        publish(node, writer)
                        saved.append((node, size))
        raise UploadRefused(400, "the multipart body ended early")
    finally:
        if current is not None:
            current[1].discard()


def _start_file(
    state: AppState,
    route: BlueprintRoute,
    folder: StorageNode,
    filename: str,
    overwrite: bool,
    names: set[str],
) -> list[Any] | None:
    if not filename:
        return None  # a file field left empty
    try:
        node = folder.child(safe_name(filename))
    except ValueError as exc:
        raise UploadRefused(400, str(exc)) from None
    if node.basename in names:
        raise UploadRefused(409, f"{node.basename} is sent twice in one form")
    names.add(node.basename)
    check_writable(state, route, node)
    return [node, open_writer(node, overwrite), 0]
