"""What every command shares: the configuration (read and checked on first use, so that
``--help`` never needs one), ``MOUNT:PATH`` arguments, and storage errors turned into one
line on stderr with an exit status (1: the operation failed; 2: bad usage or config)."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import click

from ..console import parse_node
from ..errors import MountNotFoundError, StorageConfigError, StorageError, StoragePathError
from ..manager import StorageManager
from ..node import StorageNode

__all__ = [
    "CONFIG_ENV",
    "SECRET_ENV",
    "BASE_URL_ENV",
    "Session",
    "ConfigProblems",
    "NodeArg",
    "DestArg",
    "Destination",
    "Duration",
    "one_line",
    "reporting_errors",
    "reports_errors",
    "session",
]

CONFIG_ENV = "GENRO_STORAGE_CONFIG"
SECRET_ENV = "GENRO_STORAGE_URL_SECRET"
BASE_URL_ENV = "GENRO_STORAGE_BASE_URL"

F = TypeVar("F", bound=Callable[..., Any])


def one_line(exc: BaseException | str) -> str:
    """A message on one line; an OS error as ``mount:path: reason`` (as coreutils say it)."""
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        reason = exc.strerror
        path = getattr(exc, "path", None)
        if path and exc.errno and reason.endswith(path):
            # Some fsspec filesystems give the path as the whole message: say what errno says.
            reason = os.strerror(exc.errno)
        text = f"{exc.filename}: {reason}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


class ConfigProblems(click.ClickException):
    """Every problem of the configuration, one ``Error:`` line each (exit status 2)."""

    exit_code = 2

    def __init__(self, source: str, problems: list[StorageConfigError]):
        self.lines = [message if source in message else f"{source}: {message}" for message in map(one_line, problems)]
        super().__init__(self.lines[0])

    def show(self, file: Any = None) -> None:
        for line in self.lines:
            click.echo(f"Error: {line}", err=True, file=file)


@dataclass
class Session:
    """The configuration the group was given, and the manager built from it when a
    command first needs it. A program embedding the CLI may pass a configured manager as
    ``obj`` (``main(args, obj=storage)``); its mounts are then used as they are."""

    config: str | None
    given: StorageManager | None = None
    _storage: StorageManager | None = None

    def build(self) -> StorageManager:
        """A new manager from the configuration, after checking it (every problem reported)."""
        if self.given is not None:
            return self.given
        if self.config is None:
            raise click.UsageError(f"no mounts configured: pass --config FILE or set {CONFIG_ENV}")
        manager = StorageManager()
        problems = manager.check_config(self.config)
        if problems:
            raise ConfigProblems(self.config, problems)
        with reporting_errors():
            manager.configure(self.config)
        return manager

    def storage(self) -> StorageManager:
        """The manager every command of this run uses."""
        if self._storage is None:
            self._storage = self.build()
        return self._storage


def session(ctx: click.Context | None = None) -> Session:
    """The :class:`Session` of the running command."""
    ctx = ctx or click.get_current_context()
    found = ctx.find_object(Session)
    if found is None:
        raise RuntimeError("genro-storage commands run under the genro_storage.cli.main group")
    return found


class NodeArg(click.ParamType):
    """A ``MOUNT:PATH`` argument, converted to its node (the configuration is read then)."""

    name = "MOUNT:PATH"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, StorageNode):
            return value
        try:
            return parse_node(session(ctx).storage(), value)
        except ValueError as exc:
            self.fail(one_line(exc), param, ctx)


class Destination(NamedTuple):
    """Where a copy goes, and whether ``MOUNT:FOLDER/`` asked for "into that folder"."""

    node: StorageNode
    into: bool

    def for_source(self, src: StorageNode) -> StorageNode:
        """The destination node: into the folder, keeping the name, for ``MOUNT:FOLDER/``."""
        return self.node.child(src.basename) if self.into and src.basename else self.node


class DestArg(NodeArg):
    """A destination ``MOUNT:PATH``; a trailing ``/`` means into that folder."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Destination):
            return value
        return Destination(super().convert(value, param, ctx), str(value).endswith("/"))


_DURATION = re.compile(r"(\d+)([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class Duration(click.ParamType):
    """Seconds: ``3600``, or a number with a unit: ``90s``, ``15m``, ``2h``, ``7d``."""

    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int):
            return value
        match = _DURATION.fullmatch(str(value).strip().lower())
        if not match or int(match.group(1)) == 0:
            self.fail(f"{value!r} is not a positive duration (seconds, or a number with s, m, h or d)", param, ctx)
        return int(match.group(1)) * _UNITS[match.group(2)]


@contextmanager
def reporting_errors() -> Iterator[None]:
    """Storage errors as click errors: a bad name or configuration is a usage error
    (exit 2), anything else the operation's failure (exit 1); one line each."""
    try:
        yield
    except click.ClickException:
        raise
    except (StorageConfigError, StoragePathError, MountNotFoundError) as exc:
        raise click.UsageError(one_line(exc)) from None
    except (StorageError, OSError) as exc:
        raise click.ClickException(one_line(exc)) from None


def reports_errors(command: F) -> F:
    """Run a command's body under :func:`reporting_errors`."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with reporting_errors():
            return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
