"""HTTP header values as small, exact pieces (RFC 9110), with no I/O.

Bad input comes back as ``None`` (a value to ignore), never as an exception: a client's
malformed header must not turn into a 500. Byte ranges are half-open ``(start, stop)``
inside; only :func:`parse_range` and :func:`content_range` speak the inclusive wire form.
"""

from __future__ import annotations

import re
import unicodedata
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
_ETAG = re.compile(r'(W/)?("[\x21\x23-\x7e\x80-\xff]*")[ \t]*(?:,|\Z)')
_LIST_GAP = re.compile(r"[ \t,]*")


_DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = "[0-9]{2}:[0-9]{2}:[0-9]{2}"
_HTTP_DATE = re.compile(
    rf"{_DAY}, [0-9]{{2}} {_MONTH} [0-9]{{4}} {_TIME} GMT"  # IMF-fixdate
    rf"|(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), [0-9]{{2}}-{_MONTH}-[0-9]{{2}} {_TIME} GMT"
    rf"|{_DAY} {_MONTH} [ 0-9][0-9] {_TIME} [0-9]{{4}}"  # asctime
)


def http_date(timestamp: float) -> str:
    """``Sun, 06 Nov 1994 08:49:37 GMT`` (IMF-fixdate, RFC 9110 section 5.6.7)."""
    return formatdate(int(timestamp), usegmt=True)


def parse_http_date(value: str | None) -> float | None:
    """Seconds since the epoch from an HTTP date, or None if it is not exactly one.

    Only the three forms of RFC 9110 section 5.6.7 are accepted, each whole: a value that
    is anything else (a list of dates, trailing text) is invalid and must be ignored
    (sections 13.1.3 and 13.1.4).
    """
    if not value:
        return None
    value = value.strip(" \t")
    if not _HTTP_DATE.fullmatch(value):
        return None
    try:
        parsed = parsedate_to_datetime(value)
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
        if self.star:
            return True
        return not etag.startswith("W/") and any(not weak and tag == etag for tag, weak in self.tags)

    def contains_weak(self, etag: str) -> bool:
        """Weak comparison: opaque tags identical, weakness ignored."""
        opaque = etag[2:] if etag.startswith("W/") else etag
        return self.star or any(tag == opaque for tag, _ in self.tags)


def parse_etags(value: str | None) -> ETagList | None:
    """Parse an If-Match / If-None-Match value; None when absent or malformed.

    Empty list elements (``"a", , "b"``) are skipped, as RFC 9110 section 5.6.1.2 requires.
    """
    if value is None:
        return None
    value = value.strip()
    if value == "*":
        return ETagList([], star=True)
    tags: list[tuple[str, bool]] = []
    pos = 0
    while True:
        pos = _LIST_GAP.match(value, pos).end()  # type: ignore[union-attr]  # always matches
        if pos == len(value):
            break
        match = _ETAG.match(value, pos)
        if match is None:
            return None
        tags.append((match.group(2), bool(match.group(1))))
        pos = match.end()
    return ETagList(tags) if tags else None


#: Larger than any file: digit strings past 18 digits stand for it (``int()`` refuses
#: strings of over 4,300 digits, and a Range must never become a 500).
_HUGE = 10**18


def _digits(value: str) -> int:
    return int(value) if len(value) <= 18 else _HUGE


def _plain_int(value: str) -> int | None:
    """A non-negative decimal integer, or None: no sign, ``_`` or non-ASCII digits."""
    value = value.strip(" \t")
    if not _DIGITS.match(value):
        return None
    return _digits(value)


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
        first, last = simple.groups()
        start = int(first) if len(first) <= 18 else _HUGE  # _digits, without the call
        stop = (int(last) if len(last) <= 18 else _HUGE) + 1 if last else size
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
    seen_any = whole = False
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
            if length > 0:
                if size > 0:
                    ranges.append((max(size - length, 0), size))
                else:
                    # "If the selected representation has zero length, the only satisfiable
                    # form of range-spec is a suffix-range with a non-zero suffix-length"
                    # (section 14.1.1): there is nothing to cut, so the whole file is sent.
                    whole = True
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
    if not seen_any or whole:
        return None
    return ranges


def coalesce(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping or adjacent ranges (RFC 9110 section 14.2 allows it).

    The result keeps the order the ranges were asked in, each merged range where its first
    member was (section 14.6: parts SHOULD follow the order of the range-specs).
    """
    groups: list[list[int]] = []  # [start, stop, position of its first member]
    for position in sorted(range(len(ranges)), key=ranges.__getitem__):
        start, stop = ranges[position]
        if groups and start <= groups[-1][1]:
            group = groups[-1]
            group[1] = max(group[1], stop)
            group[2] = min(group[2], position)
        else:
            groups.append([start, stop, position])
    groups.sort(key=lambda group: group[2])
    return [(start, stop) for start, stop, _ in groups]


def content_range(start: int, stop: int, size: int) -> str:
    """``bytes 0-499/1234`` for the half-open range ``(start, stop)``."""
    return f"bytes {start}-{stop - 1}/{size}"


# attr-char (RFC 8187 section 3.2.1): ALPHA / DIGIT / "!#$&+-.^_`|~"
_ATTR_SAFE = "!#$&+-.^_`|~"


def content_disposition(disposition: str, filename: str | None) -> str:
    """``attachment; filename="x.pdf"`` with an RFC 8187 ``filename*`` for non-ASCII names.

    The plain ``filename`` is an ASCII fallback for clients that predate RFC 6266: accents
    dropped as werkzeug's ``send_file`` drops them (``résumé.pdf`` is ``resume.pdf``), any
    other non-ASCII or unprintable character made ``_``, quotes escaped.
    """
    if not filename:
        return disposition
    simple = filename.isascii()
    fallback = filename
    if not simple:
        letters = unicodedata.normalize("NFKD", filename)
        fallback = "".join(c if c.isascii() else "_" for c in letters if not unicodedata.combining(c))
    fallback = "".join(c if c.isprintable() else "_" for c in fallback)
    fallback = fallback.replace("\\", "\\\\").replace('"', '\\"')
    value = f'{disposition}; filename="{fallback}"'
    if not simple:
        value += f"; filename*=UTF-8''{quote(filename, safe=_ATTR_SAFE)}"
    return value
