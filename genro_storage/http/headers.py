"""HTTP header values as small, exact pieces (RFC 9110), with no I/O.

Bad input comes back as ``None`` (a value to ignore), never as an exception: a client's
malformed header must not turn into a 500. Byte ranges are half-open ``(start, stop)``
inside; only :func:`parse_range` and :func:`content_range` speak the inclusive wire form.
"""

from __future__ import annotations

import re
from datetime import timezone
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import quote

__all__ = [
    "http_date",
    "parse_http_date",
    "quote_etag",
    "parse_etags",
    "ETagList",
    "parse_range",
    "coalesce",
    "content_range",
    "content_disposition",
]

_DIGITS = re.compile(r"[0-9]+\Z")
# entity-tag = [ W/ ] DQUOTE *etagc DQUOTE  (RFC 9110 section 8.8.3)
_ETAG = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|\Z)')


def http_date(timestamp: float) -> str:
    """``Sun, 06 Nov 1994 08:49:37 GMT`` (IMF-fixdate, RFC 9110 section 5.6.7)."""
    return formatdate(int(timestamp), usegmt=True)


def parse_http_date(value: str | None) -> float | None:
    """Seconds since the epoch from an HTTP date, or None if it is not one."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


def quote_etag(tag: str, weak: bool = False) -> str:
    """``"tag"`` (or ``W/"tag"``) for an unquoted opaque tag."""
    return f'{"W/" if weak else ""}"{tag}"'


class ETagList:
    """The entity-tags of an If-Match / If-None-Match header, or ``*``."""

    __slots__ = ("star", "tags")

    def __init__(self, tags: list[tuple[str, bool]], star: bool = False):
        self.tags = tags  # (quoted opaque tag, weak)
        self.star = star

    def contains_strong(self, etag: str) -> bool:
        """Strong comparison (RFC 9110 section 8.8.3.2): both tags strong and identical."""
        return self.star or any(not weak and tag == etag for tag, weak in self.tags)

    def contains_weak(self, etag: str) -> bool:
        """Weak comparison: opaque tags identical, weakness ignored."""
        return self.star or any(tag == etag for tag, _ in self.tags)


def parse_etags(value: str | None) -> ETagList | None:
    """Parse an If-Match / If-None-Match value; None when absent or malformed."""
    if value is None:
        return None
    value = value.strip()
    if value == "*":
        return ETagList([], star=True)
    tags: list[tuple[str, bool]] = []
    pos = 0
    while pos < len(value):
        match = _ETAG.match(value, pos)
        if match is None:
            return None
        tags.append((match.group(2), bool(match.group(1))))
        pos = match.end()
    return ETagList(tags) if tags else None


def _plain_int(value: str) -> int | None:
    """A non-negative decimal integer, or None: no sign, ``_`` or non-ASCII digits."""
    value = value.strip(" \t")
    if not _DIGITS.match(value):
        return None
    return int(value)


_ONE_RANGE = re.compile(r"bytes=([0-9]+)-([0-9]*)")


def parse_range(value: str | None, size: int) -> list[tuple[int, int]] | None:
    """The satisfiable byte ranges of a Range header, as half-open ``(start, stop)``.

    Returns None when the header is absent, malformed or not in bytes (RFC 9110 section
    14.2: such a Range is ignored), and ``[]`` when it is valid but nothing in it is
    satisfiable (answered with 416). Ranges are clipped to ``size`` and kept in order.
    """
    if not value:
        return None
    simple = _ONE_RANGE.fullmatch(value)
    if simple is not None:  # the common "bytes=first-[last]", without the general parse
        start, last = int(simple.group(1)), simple.group(2)
        stop = int(last) + 1 if last else size
        if last and stop <= start:
            return None  # "last-pos < first-pos" makes the whole field invalid
        return [(start, min(stop, size))] if start < size else []
    return _parse_ranges(value, size)


def _parse_ranges(value: str, size: int) -> list[tuple[int, int]] | None:
    """:func:`parse_range` for any header value: units, lists, suffixes, whitespace."""
    unit, sep, specs = value.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    ranges: list[tuple[int, int]] = []
    seen_any = False
    for spec in specs.split(","):
        spec = spec.strip(" \t")
        if not spec:
            continue  # empty list elements are allowed (RFC 9110 section 5.6.1)
        first, dash, last = spec.partition("-")
        if not dash:
            return None
        seen_any = True
        if not first.strip(" \t"):
            # suffix-range: the last N bytes; satisfiable if N > 0 (section 14.1.3)
            length = _plain_int(last)
            if length is None:
                return None
            if length > 0 and size > 0:
                ranges.append((max(size - length, 0), size))
            continue
        start = _plain_int(first)
        if start is None:
            return None
        if last.strip(" \t"):
            end = _plain_int(last)
            if end is None or end < start:
                return None  # "last-pos < first-pos" makes the whole field invalid
            stop = min(end + 1, size)
        else:
            stop = size
        if start < size:  # int-range satisfiable when first-pos < length
            ranges.append((start, stop))
    if not seen_any:
        return None
    return ranges


def coalesce(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping or adjacent ranges (RFC 9110 section 14.2 allows it), sorted."""
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def content_range(start: int, stop: int, size: int) -> str:
    """``bytes 0-499/1234`` for the half-open range ``(start, stop)``."""
    return f"bytes {start}-{stop - 1}/{size}"


# attr-char (RFC 8187 section 3.2.1): ALPHA / DIGIT / "!#$&+-.^_`|~"
_ATTR_SAFE = "!#$&+-.^_`|~"


def content_disposition(disposition: str, filename: str | None) -> str:
    """``attachment; filename="x.pdf"`` with an RFC 8187 ``filename*`` for non-ASCII names.

    The plain ``filename`` is an ASCII fallback (non-ASCII replaced, quotes escaped) for
    clients that predate RFC 6266.
    """
    if not filename:
        return disposition
    try:
        filename.encode("ascii")
        simple = True
    except UnicodeEncodeError:
        simple = False
    fallback = filename.encode("ascii", "replace").decode("ascii") if not simple else filename
    fallback = "".join(c if c.isprintable() else "_" for c in fallback)
    fallback = fallback.replace("\\", "\\\\").replace('"', '\\"')
    value = f'{disposition}; filename="{fallback}"'
    if not simple:
        value += f"; filename*=UTF-8''{quote(filename, safe=_ATTR_SAFE)}"
    return value
