"""``flask storage ...``: the app's mounts from the command line (added by ``init_app``).

Each command parses its arguments, makes one call to the core (:mod:`genro_storage.console`
holds what every command line shares) and prints; a bad argument or a failed operation
exits 1 with one line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import click
from flask.cli import AppGroup

from genro_storage import StorageError, StorageNode
from genro_storage.console import (
    copy_options,
    info_lines,
    info_record,
    listing_lines,
    listing_records,
    parse_destination,
    parse_node,
    removals,
    run_transfer,
    to_json,
)

from .extension import app_state

__all__ = ["storage_commands"]

storage_commands = AppGroup("storage", help="Work with the files of the app's GENRO_STORAGE_MOUNTS.")


@contextmanager
def _failures() -> Any:
    """A bad argument or a failed operation: one line, exit 1."""
    try:
        yield
    except (StorageError, OSError, ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from None


def _node(text: str) -> StorageNode:
    with _failures():
        return parse_node(app_state().storage, text)


def _with_copy_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(copy_options()):
        command = option.click_option()(command)
    return command


@storage_commands.command("ls")
@click.argument("target", metavar="MOUNT:PATH")
@click.option("-l", "--long", "long_", is_flag=True, help="show size and modification time")
@click.option("-r", "--recursive", is_flag=True, help="every file below the folder")
@click.option("--json", "as_json", is_flag=True, help="the entries as JSON")
def ls(target: str, long_: bool, recursive: bool, as_json: bool) -> None:
    """List a folder (or show a file)."""
    node = _node(target)
    with _failures():
        records = list(listing_records(node, recursive=recursive))
    output = to_json(records) if as_json else "\n".join(listing_lines(records, long=long_, relative_to=node.path))
    if output:
        click.echo(output)


@storage_commands.command("cp")
@click.argument("source", metavar="SRC")
@click.argument("dest", metavar="DEST")
@_with_copy_options
def cp(source: str, dest: str, **values: Any) -> None:
    """Copy a file or folder to another place, on any mount (DEST ending in '/': into it)."""
    src = _node(source)
    with _failures():
        target = parse_destination(app_state().storage, dest, src)
        report = run_transfer(src, target, values, stream=sys.stderr)
    click.echo(str(report))  # the failures listed in it
    if not report.ok:
        sys.exit(1)


@storage_commands.command("rm")
@click.argument("targets", metavar="MOUNT:PATH...", nargs=-1, required=True)
@click.option("-r", "--recursive", is_flag=True, help="remove folders with everything in them")
@click.option("-f", "--force", is_flag=True, help="no error for a path that does not exist")
def rm(targets: tuple[str, ...], recursive: bool, force: bool) -> None:
    """Delete files (folders with -r). Every path is checked first: if one cannot be
    deleted (a folder without -r, a missing file, a mount's root, a mount without delete
    permission), none is."""
    nodes = [_node(target) for target in targets]
    with _failures():
        for node in removals(nodes, recursive=recursive, force=force):
            node.delete()
            click.echo(f"removed {node.fullpath}")


@storage_commands.command("info")
@click.argument("target", metavar="MOUNT:PATH")
@click.option("--json", "as_json", is_flag=True, help="as JSON")
def info(target: str, as_json: bool) -> None:
    """Show a file's or folder's metadata."""
    with _failures():
        record = info_record(_node(target))
    click.echo(to_json(record) if as_json else "\n".join(info_lines(record)))


@storage_commands.command("url")
@click.argument("target", metavar="MOUNT:PATH")
@click.option("--expires", type=click.IntRange(min=1), default=3600, show_default=True, help="seconds it stays valid")
def url(target: str, expires: int) -> None:
    """Print a URL that downloads the file (presigned, or signed for the blueprint)."""
    node = _node(target)
    with _failures():
        if not node.isfile:
            raise ValueError(f"{node.fullpath} is not a file")
        if not node.backend.supports("presign"):
            try:
                node.manager.url_signer(node.mount_name)
            except StorageError:  # the core's message names its own call, not the app's keys
                raise ValueError(
                    f"mount {node.mount_name!r}: signed URLs need a secret: set SECRET_KEY "
                    "or GENRO_STORAGE_URL_SECRET in the app's config"
                ) from None
        click.echo(node.url(expires))
