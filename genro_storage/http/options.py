"""ServeOptions: how files are answered, as one frozen value checked when it is built.

``StorageApp(**options)``, ``node.serve(..., **options)``, Django's
``GENRO_STORAGE["SERVE"]`` and Flask's ``GENRO_STORAGE_SERVE`` all become one
:class:`ServeOptions` at start-up, so a typo or a bad value fails there, naming the key,
instead of answering 500 to every request. The names are those werkzeug, Flask's
``send_file`` and whitenoise use (``max_age``, ``as_attachment``, ``download_name``...).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..errors import StorageConfigError

__all__ = ["ServeOptions", "MAX_RANGES", "ACTIVE_CONTENT", "ACTIVE_TYPES", "SANDBOX_POLICY"]

#: More ranges than this in one request get the whole file (RFC 9110 section 14.2 lets a
#: server ignore a Range it finds excessive; many small ranges are a known DoS pattern).
MAX_RANGES = 16

#: What to do with files a browser would run as a page of the serving site (HTML, SVG,
#: XML): ``'sandbox'`` sends them inline under :data:`SANDBOX_POLICY`, ``'attachment'``
#: makes them downloads, ``'inline'`` serves them as any file (only for trusted mounts).
ACTIVE_CONTENT = ("sandbox", "attachment", "inline")

#: Media types a browser renders as a document that can run scripts on the site's origin.
ACTIVE_TYPES = frozenset(
    {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml", "application/xslt+xml"}
)

#: The Content-Security-Policy of an active file served inline: a unique origin, no
#: scripts, no requests; inline styles and embedded images still render.
SANDBOX_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


#: RFC 9111 section 1.2.2: a cache takes a larger delta-seconds as 2**31; say no more.
MAX_AGE_LIMIT = 2**31
#: The last second an HTTP date can name (Fri, 31 Dec 9999 23:59:59 GMT).
_LAST_HTTP_DATE = 253402300799
#: type "/" subtype, then parameters: visible ASCII only (a header value must be latin-1,
#: and CR/LF would split the header).
_MEDIA_TYPE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]*;[ \t]*[\x21-\x7e]+)*")


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"


#: One number per distinct set of header-shaping options: values, not state (two managers
#: with the same options share a number, and never each other's cached headers).
_TOKENS: dict[tuple[Any, ...], int] = {}
_TOKENS_MAX = 1024

#: Old or other spellings users bring from elsewhere, pointed at ours.
_RENAMED = {"cache_max_age": "max_age", "attachment": "as_attachment", "filename": "download_name"}


@dataclass(frozen=True)
class ServeOptions:
    """How a file is answered; every field is checked when the value is built.

    ``mimetype``: the Content-Type (guessed from the name when None); ``as_attachment``
    and ``download_name``: Content-Disposition; ``conditional``: honour preconditions and
    Range (False: always a plain 200); ``etag``: send an ETag (True: the file's own; a string: that one, as
    ``send_file`` takes it, for preconditions and If-Range too); ``last_modified``: a
    Last-Modified to send instead of the file's (seconds or an aware datetime);
    ``max_age``: seconds a cache may reuse the answer (None or 0: ``no-cache``, always
    revalidated); ``immutable``: add ``immutable`` to Cache-Control; ``private``: only
    the browser may keep it, never a shared cache (files of non-public mounts); ``max_ranges``:
    more ranges than this get the whole file; ``nosniff``: send
    ``X-Content-Type-Options: nosniff``; ``active_content``: see :data:`ACTIVE_CONTENT`.
    """

    mimetype: str | None = None
    as_attachment: bool = False
    download_name: str | None = None
    conditional: bool = True
    etag: bool | str = True
    last_modified: float | _dt.datetime | None = None
    max_age: int | None = None
    immutable: bool = False
    private: bool = False
    max_ranges: int = MAX_RANGES
    nosniff: bool = True
    active_content: str = "sandbox"
    #: A small number for the fields a file's cached headers depend on: equal options
    #: share it, so the responder's per-file cache key stays short and cheap to hash.
    token: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.etag, str):
            if not self.etag or not all(0x21 <= ord(c) <= 0x7E and c != '"' for c in self.etag):
                raise ValueError(
                    f"serve option 'etag' must be True, False or printable ASCII without quotes, not {self.etag!r}"
                )
        for name in ("as_attachment", "conditional", "immutable", "private", "nosniff"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"serve option {name!r} must be True or False, not {getattr(self, name)!r}")
        for name in ("mimetype", "download_name"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise TypeError(f"serve option {name!r} must be a non-empty string or None, not {value!r}")
        if self.mimetype is not None and not _MEDIA_TYPE.fullmatch(self.mimetype):
            raise ValueError(f"serve option 'mimetype' must be a media type like 'text/plain', not {self.mimetype!r}")
        max_age = self.max_age
        if max_age is not None and (
            isinstance(max_age, bool) or not isinstance(max_age, int) or not 0 <= max_age <= MAX_AGE_LIMIT
        ):
            raise ValueError(f"serve option 'max_age' must be whole seconds from 0 to 2**31, or None, not {max_age!r}")
        ranges = self.max_ranges
        if isinstance(ranges, bool) or not isinstance(ranges, int) or ranges < 1:
            raise ValueError(f"serve option 'max_ranges' must be a whole number >= 1, not {ranges!r}")
        if self.active_content not in ACTIVE_CONTENT:
            raise ValueError(
                f"serve option 'active_content' must be one of {', '.join(map(repr, ACTIVE_CONTENT))}, "
                f"not {self.active_content!r}"
            )
        modified = self.last_modified
        if isinstance(modified, _dt.datetime):
            if modified.tzinfo is None:
                raise ValueError("serve option 'last_modified' must be an aware datetime (or seconds since the epoch)")
            object.__setattr__(self, "last_modified", modified.timestamp())
        elif modified is not None and (isinstance(modified, bool) or not isinstance(modified, (int, float))):
            raise TypeError(f"serve option 'last_modified' must be seconds or a datetime, not {modified!r}")
        if self.last_modified is not None and not 0 <= self.last_modified <= _LAST_HTTP_DATE:
            # NaN fails the comparison too.
            raise ValueError(
                f"serve option 'last_modified' must be a time from 1970 to 9999, not {self.last_modified!r}"
            )
        key = (self.mimetype, self.etag, self.last_modified, self.max_age, self.immutable, self.private, self.nosniff)
        token = _TOKENS.get(key)
        if token is None:
            # Bounded: past that many distinct sets (a per-call last_modified...), the key itself.
            token = _TOKENS.setdefault(key, len(_TOKENS)) if len(_TOKENS) < _TOKENS_MAX else key
        object.__setattr__(self, "token", token)

    @classmethod
    def names(cls) -> list[str]:
        """The option names, as keywords and settings keys take them."""
        return [f.name for f in fields(cls) if f.init]

    @classmethod
    def build(cls, options: ServeOptions | None = None, /, **overrides: Any) -> ServeOptions:
        """``options`` (or the defaults) with ``overrides`` applied; an unknown keyword is a
        ``TypeError`` naming it (and the closest option name)."""
        if options is not None and not isinstance(options, ServeOptions):
            raise TypeError(f"options must be a ServeOptions, not {type(options).__name__}")
        known = cls.names()
        for name in overrides:
            if name not in known:
                hint = f" (use {_RENAMED[name]!r})" if name in _RENAMED else _suggest(name, known)
                raise TypeError(f"unknown serve option {name!r}{hint}")
        if options is None:
            return cls(**overrides)
        return replace(options, **overrides) if overrides else options

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any] | None, *, source: str = "serve options") -> ServeOptions:
        """From a settings dict (keys in either case: ``MAX_AGE`` or ``max_age``); any
        mistake is a :class:`~genro_storage.errors.StorageConfigError` naming
        ``source`` and the key."""
        if settings is None:
            return cls()
        if not isinstance(settings, Mapping):
            raise StorageConfigError(f"{source} must be a mapping of options, not {type(settings).__name__}")
        known = cls.names()
        values = {}
        for key, value in settings.items():
            name = key.lower() if isinstance(key, str) else key
            if name not in known:
                hint = f" (use {_RENAMED[name]!r})" if name in _RENAMED else _suggest(str(name), known)
                raise StorageConfigError(f"{source}: unknown option{hint}", key=str(key))
            if name in values:
                raise StorageConfigError(f"{source}: given twice (in two spellings)", key=str(key))
            try:
                cls(**{name: value})  # each value alone first, so the error names its key
            except (TypeError, ValueError) as exc:
                raise StorageConfigError(f"{source}: {exc}", key=str(key)) from exc
            values[name] = value
        return cls(**values)
