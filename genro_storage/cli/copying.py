"""``cp`` and ``mv``: the shared copy options (:mod:`genro_storage.console`), a progress
bar on stderr, the summary on stdout, exit status 1 when any file failed."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from ..console import copy_options, run_transfer, transfer_options
from ..node import StorageNode
from .context import DestArg, Destination, NodeArg, one_line, reports_errors

__all__ = ["cp", "mv"]


def transfer_arguments(command: Callable[..., Any]) -> Callable[..., Any]:
    """SRC, DEST, the copy options every front end shares, and ``--progress``."""
    command = click.option(
        "--progress/--no-progress",
        default=None,
        help="Draw a progress bar on stderr (default: when stderr is a terminal).",
    )(command)
    for option in reversed(copy_options(move=False)):
        command = option.click_option()(command)
    command = click.argument("dest", type=DestArg())(command)
    return click.argument("src", type=NodeArg())(command)


def transfer(src: StorageNode, dest: Destination, progress: bool | None, values: dict[str, Any], move: bool) -> None:
    """Run the copy or move, print what a dry run would do and the summary; exit 1 on failures."""
    try:
        transfer_options(values)
    except (TypeError, ValueError) as exc:
        raise click.UsageError(one_line(exc)) from None
    report = run_transfer(src, dest.for_source(src), {**values, "move": move}, stream=sys.stderr, progress=progress)
    if report.dry_run:
        for rel in report.copied:
            click.echo(f"{'would move' if move else 'would copy'} {rel}")
    click.echo(str(report))
    if not report.ok:
        raise click.exceptions.Exit(1)


@click.command()
@transfer_arguments
@reports_errors
def cp(src: StorageNode, dest: Destination, progress: bool | None, **values: Any) -> None:
    """Copy a file or folder to any mount, streaming.

    A file copied onto an existing folder, or to MOUNT:FOLDER/ (a trailing slash),
    keeps its name there; a folder is copied with everything in it. Each file is
    replaced atomically: a failed copy leaves the old one. Prints a summary; exits 1 if
    any file failed.

    \b
    genro-storage cp local:photos s3:backup/ --skip size
    genro-storage cp uploads:report.pdf archive:2024/report.pdf
    genro-storage cp s3:logs local:logs --include '*.gz' --dry-run
    """
    transfer(src, dest, progress, values, move=False)


@click.command()
@transfer_arguments
@reports_errors
def mv(src: StorageNode, dest: Destination, progress: bool | None, **values: Any) -> None:
    """Move a file or folder to any mount: a rename where the backend has one; across
    backends each source file is deleted only once its copy is verified.

    A file moved onto an existing folder, or to MOUNT:FOLDER/, keeps its name there.
    Prints a summary; exits 1 if any file failed.

    \b
    genro-storage mv local:uploads s3:uploads --skip hash
    """
    transfer(src, dest, progress, values, move=True)
