"""What every command line shares: ``MOUNT:PATH`` arguments, the copy options, a progress
bar, the summary, listings and info.

``manage.py storage_copy`` (argparse), ``flask storage cp`` and ``genro-storage cp``
(click) declare their options from :data:`COPY_OPTIONS`, turn the parsed values into
:class:`~genro_storage.transfer.TransferOptions` with :func:`transfer_options`, and run
:func:`run_transfer`; each adds only its own framing (how errors and output are written).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any

from .transfer import SKIP_STRATEGIES, TransferOptions, TransferProgress, TransferReport, transfer

if TYPE_CHECKING:
    from .manager import StorageManager
    from .node import StorageNode

__all__ = [
    "CliOption",
    "whole_number",
    "COPY_OPTIONS",
    "copy_options",
    "transfer_options",
    "parse_node",
    "parse_destination",
    "removals",
    "ProgressBar",
    "run_transfer",
    "listing_records",
    "listing_lines",
    "info_record",
    "info_lines",
    "to_json",
]


def whole_number(minimum: int) -> Callable[[str], int]:
    """argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    parse.__name__ = "whole number"
    return parse


@dataclass(frozen=True)
class CliOption:
    """One command-line option, declared once and given to argparse or click."""

    flag: str
    dest: str
    help: str
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    multiple: bool = False
    switch: bool = False
    minimum: int | None = None
    default: Any = None

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        """Declare this option on an argparse parser (Django's ``add_arguments``)."""
        kwargs: dict[str, Any] = {"dest": self.dest, "help": self.help}
        if self.switch:
            kwargs["action"] = "store_true"
        else:
            kwargs["default"] = [] if self.multiple else self.default
            if self.multiple:
                kwargs["action"] = "append"
            if self.choices:
                kwargs["choices"] = self.choices
            if self.minimum is not None:
                kwargs["type"] = whole_number(self.minimum)
            if self.metavar:
                kwargs["metavar"] = self.metavar
        parser.add_argument(self.flag, **kwargs)

    def click_option(self) -> Callable[[Any], Any]:
        """This option as a click decorator (``flask storage cp``, ``genro-storage cp``)."""
        import click

        kwargs: dict[str, Any] = {"help": self.help}
        if self.switch:
            kwargs["is_flag"] = True
        else:
            kwargs["default"] = self.default
            kwargs["multiple"] = self.multiple
            if self.choices:
                kwargs["type"] = click.Choice(self.choices)
            elif self.minimum is not None:
                kwargs["type"] = click.IntRange(min=self.minimum)
            if self.metavar:
                kwargs["metavar"] = self.metavar
        return click.option(self.flag, self.dest, **kwargs)


#: The options of every copy command, in the order ``--help`` lists them.
COPY_OPTIONS: tuple[CliOption, ...] = (
    CliOption(
        "--skip",
        "skip",
        "leave a file alone when the destination already has it: same name (exists), same size, "
        "same content (hash) or not older (mtime)",
        choices=SKIP_STRATEGIES,
    ),
    CliOption("--workers", "workers", "files copied at once (default: up to 8)", metavar="N", minimum=1),
    CliOption(
        "--include",
        "include",
        "copy only paths matching PATTERN (repeat for several)",
        metavar="PATTERN",
        multiple=True,
    ),
    CliOption(
        "--exclude",
        "exclude",
        "leave out paths matching PATTERN (repeat for several)",
        metavar="PATTERN",
        multiple=True,
    ),
    CliOption("--dry-run", "dry_run", "say what would be copied, copy nothing", switch=True),
    CliOption("--move", "move", "delete each source file once its copy is verified", switch=True),
    CliOption(
        "--on-error",
        "on_error",
        "stop at the first failure (raise, the default) or copy the rest and report the failures (continue)",
        choices=("raise", "continue"),
        default="raise",
    ),
)


def copy_options(*, move: bool = True, filters: bool = True) -> tuple[CliOption, ...]:
    """:data:`COPY_OPTIONS` without ``--move`` (a command that always or never moves) or
    without ``--include``/``--exclude``."""
    dropped = set() if move else {"move"}
    if not filters:
        dropped |= {"include", "exclude"}
    return tuple(option for option in COPY_OPTIONS if option.dest not in dropped)


def transfer_options(values: Mapping[str, Any], **overrides: Any) -> TransferOptions:
    """The :class:`TransferOptions` for parsed option ``values`` (argparse's ``vars()`` or
    click's keywords); keys that are not transfer options (``move``...) are ignored."""
    names = {option.dest for option in COPY_OPTIONS} - {"move"}
    given = {name: values[name] for name in names if values.get(name) not in (None, (), [])}
    given.update(overrides)
    return TransferOptions.build(**given)


def parse_node(storage: StorageManager, text: str) -> StorageNode:
    """The node ``text`` (``MOUNT:PATH``) names; ValueError in one line otherwise."""
    mount, sep, path = text.partition(":")
    if not sep or not mount:
        raise ValueError(f"{text!r} is not MOUNT:PATH (for example uploads:reports/2024)")
    if mount not in storage.mounts:
        known = ", ".join(sorted(storage.mounts)) or "none configured"
        raise ValueError(f"unknown mount {mount!r} in {text!r} (mounts: {known})")
    try:
        return storage.node(text)
    except ValueError as exc:
        raise ValueError(f"{text!r}: {exc}") from None


def parse_destination(storage: StorageManager, text: str, src: StorageNode) -> StorageNode:
    """Where copying ``src`` to ``text`` writes: ``MOUNT:FOLDER/`` (a trailing slash)
    means into that folder under the source's name, as ``cp`` does."""
    dest = parse_node(storage, text)
    if text.endswith("/") and src.basename:
        return dest.child(src.basename)
    return dest


def removals(nodes: Iterable[StorageNode], *, recursive: bool = False, force: bool = False) -> list[StorageNode]:
    """The nodes ``rm`` deletes, after checking every one (so either all go or none):
    never a mount's root, never without delete permission, a folder only when
    ``recursive``, a missing file only when ``force`` (then left out). ValueError or the
    mount's permission error, in one line, otherwise."""
    doomed = []
    for node in nodes:
        if not node.path:
            raise ValueError(f"{node.fullpath}: refusing to delete the root of a mount")
        node.mount.require_delete(node.path)
        if not node.exists:
            if force:
                continue
            raise ValueError(f"{node.fullpath}: No such file or directory")
        if node.isdir and not recursive:
            raise ValueError(f"{node.fullpath}: is a folder; pass -r to delete it and everything in it")
        doomed.append(node)
    return doomed


class ProgressBar:
    """A progress callback drawing a bar of bytes and files on a terminal (tqdm); silent
    when ``stream`` is not a terminal, unless ``enabled=True``."""

    def __init__(self, stream: IO[str] | None = None, *, enabled: bool | None = None, label: str = "copying"):
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.label = label
        self._bar: Any = None

    def __call__(self, progress: TransferProgress) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=progress.bytes_total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=self.label,
                file=self.stream,
                leave=False,
                dynamic_ncols=True,
            )
        bar = self._bar
        bar.set_postfix_str(f"{progress.files_done}/{progress.files_total} files", refresh=False)
        bar.update(progress.bytes_done - bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def run_transfer(
    src: StorageNode,
    dest: StorageNode,
    values: Mapping[str, Any],
    *,
    stream: IO[str] | None = None,
    progress: bool | None = None,
) -> TransferReport:
    """Copy (or move, when ``values['move']``) ``src`` to ``dest`` with the parsed copy
    options, drawing a progress bar on ``stream`` (stderr) when it is a terminal or
    ``progress=True``. The caller prints ``str(report)`` and exits 1 unless ``report.ok``."""
    options = transfer_options(values)
    with ProgressBar(stream, enabled=progress, label="moving" if values.get("move") else "copying") as bar:
        return transfer(src, dest, replace(options, progress=bar), move=bool(values.get("move")))


def _when(mtime: float | None) -> str | None:
    if mtime is None:
        return None
    return datetime.fromtimestamp(mtime, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def listing_records(node: StorageNode, *, recursive: bool = False) -> Iterator[dict[str, Any]]:
    """Each entry of folder ``node`` (or the file itself) as a dict: ``path`` (from the
    mount's root), ``name``, ``type``, ``size``, ``mtime`` (ISO 8601 UTC). Recursive
    listings come from one walk (one listing request on object stores)."""
    info = node.info()
    if info["type"] != "directory":
        yield _record(node.path, info)
        return
    base = f"{node.path}/" if node.path else ""
    if recursive:
        for rel, child in sorted(node.walk_files()):
            yield _record(base + rel, child)
        return
    for child, child_info in node.entries():
        yield _record(child.path, child_info)


def _record(path: str, info: Mapping[str, Any]) -> dict[str, Any]:
    is_dir = info["type"] == "directory"
    return {
        "path": path,
        "name": path.rpartition("/")[2],
        "type": "directory" if is_dir else "file",
        "size": None if is_dir else info.get("size"),
        "mtime": _when(info.get("mtime")),
    }


def listing_lines(records: Iterable[Mapping[str, Any]], *, long: bool = False, relative_to: str = "") -> Iterator[str]:
    """``ls`` lines: names (folders end with ``/``), or with ``long`` size, time and name."""
    prefix = f"{relative_to}/" if relative_to else ""
    for record in records:
        name = record["path"][len(prefix) :] if record["path"].startswith(prefix) else record["path"]
        name = "".join("?" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in name)  # as ls: no line spoofing
        name += "/" if record["type"] == "directory" else ""
        if long:
            size = "-" if record["size"] is None else str(record["size"])
            yield f"{size:>12}  {record['mtime'] or '-':20}  {name}"
        else:
            yield name


def info_record(node: StorageNode) -> dict[str, Any]:
    """What ``info`` shows: the backend's metadata plus the node's name, mount, media type."""
    info = node.info()
    record: dict[str, Any] = {"node": node.fullpath, "mount": node.mount_name, "path": node.path}
    record["type"] = "directory" if info["type"] == "directory" else "file"
    if record["type"] == "file":
        record["size"] = info.get("size")
        record["mimetype"] = node.mimetype
        record["etag"] = node.etag_for(info)
    record["mtime"] = _when(info.get("mtime"))
    for key in ("md5", "version_id", "content_type"):
        if info.get(key):
            record[key] = info[key]
    record["capabilities"] = sorted(node.capabilities)
    return record


def info_lines(record: Mapping[str, Any]) -> Iterator[str]:
    """``info`` as aligned ``key: value`` lines."""
    width = max(len(key) for key in record)
    for key, value in record.items():
        shown = ", ".join(value) if isinstance(value, list) else ("-" if value is None else value)
        yield f"{key + ':':{width + 1}} {shown}"


def to_json(value: Any) -> str:
    """``--json`` output: indented, non-ASCII kept."""
    return json.dumps(value, indent=2, ensure_ascii=False)
