"""TransferOptions: how a copy or move runs, as one value checked when it is built.

``copy_to``, ``move_to`` and :func:`~genro_storage.transfer.transfer` take it, and so do
the command-line front ends (``manage.py storage_copy``, ``flask storage cp``,
``genro-storage cp``), which build it from their arguments: a bad value fails there, with
a message naming the option, before any file is touched.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..node import StorageNode
    from .report import TransferProgress

__all__ = ["TransferOptions", "SKIP_STRATEGIES", "ON_ERROR", "SkipRule"]

#: What ``skip`` may name: the destination file is left alone when it already exists,
#: has the same size, is at least as recent, or holds the same bytes (by MD5).
SKIP_STRATEGIES = ("exists", "size", "mtime", "hash")
#: What ``on_error`` may name: stop at the first failure, or collect them in the report.
ON_ERROR = ("raise", "continue")

SkipRule = str | Callable[["StorageNode", "StorageNode"], bool] | None


@dataclass(frozen=True)
class _Pattern:
    """One include/exclude glob, split into segments (see :meth:`StorageNode.copy_to`)."""

    parts: tuple[str, ...]
    folders_only: bool

    @classmethod
    def parse(cls, pattern: str) -> _Pattern:
        folders_only = pattern.endswith("/")
        body = pattern.rstrip("/")
        anchored = "/" in body  # gitignore: a slash at the start or in the middle anchors it
        parts = body.lstrip("/").split("/")
        if not anchored:
            parts = ["**", *parts]  # a bare name matches at any depth
        if parts[-1] == "**":
            parts.append("*")  # 'dir/**' is everything inside dir, not dir itself
        return cls(tuple(parts), folders_only)

    def matches(self, parts: list[str], is_folder: bool) -> bool:
        """Whether the pattern names this path, or one of the folders holding it."""
        last = len(parts) if is_folder or not self.folders_only else len(parts) - 1
        return any(_match_segments(self.parts, parts[:depth]) for depth in range(1, last + 1))


def _match_segments(pattern: tuple[str, ...], parts: list[str]) -> bool:
    """Segment by segment: ``*``, ``?`` and ``[...]`` stay inside one segment; ``**``
    stands for any number of segments, none included."""
    if not pattern:
        return not parts
    head = pattern[0]
    if head == "**":
        return any(_match_segments(pattern[1:], parts[skip:]) for skip in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], head) and _match_segments(pattern[1:], parts[1:])


def _pattern_list(name: str, value: str | Iterable[str] | None) -> tuple[str, ...]:
    """``include``/``exclude`` as a tuple of non-empty strings, or a TypeError naming the option."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = (value,)
    elif isinstance(value, (bytes, bytearray)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a pattern string or a list of them, not {type(value).__name__}")
    patterns = tuple(value)
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise TypeError(f"{name} patterns must be strings, not {type(pattern).__name__} ({pattern!r})")
        if not pattern.strip("/"):
            raise ValueError(f"{name} pattern {pattern!r} is empty")
    return patterns


@dataclass(frozen=True)
class TransferOptions:
    """How a copy or move runs (see :meth:`StorageNode.copy_to` for each option's meaning).

    ``skip``: ``'exists'``, ``'size'``, ``'mtime'``, ``'hash'``, ``callable(src, dest)``
    or None; ``include``/``exclude``: a pattern or a list of them; ``workers``: threads
    for folders (None: up to 8); ``on_error``: ``'raise'`` or ``'continue'``;
    ``dry_run``: report without copying; ``progress``: ``callable(TransferProgress)``.
    """

    skip: SkipRule = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    workers: int | None = None
    on_error: str = "raise"
    dry_run: bool = False
    progress: Callable[[TransferProgress], Any] | None = None
    _include: tuple[_Pattern, ...] = field(init=False, repr=False, compare=False)
    _exclude: tuple[_Pattern, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        skip = self.skip
        if skip is not None and not callable(skip) and skip not in SKIP_STRATEGIES:
            raise ValueError(f"skip must be one of {', '.join(SKIP_STRATEGIES)}, a callable or None, not {skip!r}")
        include = _pattern_list("include", self.include)
        exclude = _pattern_list("exclude", self.exclude)
        object.__setattr__(self, "include", include)
        object.__setattr__(self, "exclude", exclude)
        object.__setattr__(self, "_include", tuple(_Pattern.parse(p) for p in include))
        object.__setattr__(self, "_exclude", tuple(_Pattern.parse(p) for p in exclude))
        workers = self.workers
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be a whole number of at least 1, or None, not {workers!r}")
        if self.on_error not in ON_ERROR:
            raise ValueError(f"on_error must be 'raise' or 'continue', not {self.on_error!r}")
        if not isinstance(self.dry_run, bool):
            raise TypeError(f"dry_run must be True or False, not {self.dry_run!r}")
        if self.progress is not None and not callable(self.progress):
            raise TypeError(f"progress must be a callable receiving TransferProgress, not {self.progress!r}")

    @classmethod
    def build(cls, options: TransferOptions | None = None, /, **overrides: Any) -> TransferOptions:
        """``options`` (or the defaults) with every override that is not None applied."""
        if options is not None and not isinstance(options, TransferOptions):
            raise TypeError(f"options must be a TransferOptions, not {type(options).__name__}")
        known = {f.name for f in fields(cls) if f.init}
        for name in overrides:
            if name not in known:
                raise TypeError(f"unknown transfer option {name!r} (known: {', '.join(sorted(known))})")
        given = {name: value for name, value in overrides.items() if value is not None}
        if options is None:
            return cls(**given)
        return replace(options, **given) if given else options

    def selects(self, rel: str, is_folder: bool) -> bool:
        """Whether the filters keep ``rel`` (a file, or an empty folder when ``is_folder``)."""
        if not self._include and not self._exclude:
            return True
        parts = rel.split("/")
        if self._include and not any(p.matches(parts, is_folder) for p in self._include):
            return False
        return not any(p.matches(parts, is_folder) for p in self._exclude)
