"""``ls``, ``info``, ``cat``, ``rm`` and ``url``: one node (or a few) at a time."""

from __future__ import annotations

import os
import shutil
import sys

import click

from ..console import info_lines, info_record, listing_lines, listing_records, removals, to_json
from ..errors import StorageConfigError
from ..node import StorageNode
from .context import BASE_URL_ENV, SECRET_ENV, Duration, NodeArg, one_line, reports_errors, session

__all__ = ["ls", "info", "cat", "rm", "url"]

#: Bytes ``cat`` moves at a time: a file of any size goes through in O(1) memory.
CAT_CHUNK = 1024 * 1024

#: Where ``url`` points signed URLs by default: ``genro-storage serve``'s default address.
DEFAULT_BASE_URL = "http://127.0.0.1:8000/"


@click.command()
@click.argument("target", type=NodeArg(), required=False, metavar="[MOUNT:PATH]")
@click.option("-l", "--long", "long_", is_flag=True, help="Show size and modification time (UTC) too.")
@click.option(
    "-R", "--recursive", is_flag=True, help="Every file below the folder (one listing request on object stores)."
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of {path, name, type, size, mtime}.")
@reports_errors
def ls(target: StorageNode | None, long_: bool, recursive: bool, as_json: bool) -> None:
    """List a folder (or show a file); without MOUNT:PATH, list the configured mounts.

    \b
    genro-storage ls uploads:            the root of mount 'uploads'
    genro-storage ls -lR uploads:docs    every file below docs, with sizes
    """
    if target is None:
        mounts = [
            {"name": m.name, "type": m.type, "permissions": m.permissions} for m in session().storage().mounts.values()
        ]
        if as_json:
            click.echo(to_json(mounts))
            return
        width = max((len(m["name"]) for m in mounts), default=0) + 1
        for m in mounts:
            click.echo(f"{m['name'] + ':':{width}}  {m['type']:10}  {m['permissions']}")
        return
    entries = listing_records(target, recursive=recursive)
    if as_json:
        click.echo(to_json(list(entries)))
        return
    for line in listing_lines(entries, long=long_, relative_to=target.path):
        click.echo(line)


@click.command()
@click.argument("target", type=NodeArg(), metavar="MOUNT:PATH")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object for scripts.")
@reports_errors
def info(target: StorageNode, as_json: bool) -> None:
    """Show what is known of a file or folder: size, time, media type, ETag, MD5 where
    the backend keeps it, and the mount's capabilities."""
    record = info_record(target)
    if as_json:
        click.echo(to_json(record))
        return
    for line in info_lines(record):
        click.echo(line)


@click.command()
@click.argument("targets", type=NodeArg(), nargs=-1, required=True, metavar="MOUNT:PATH...")
@reports_errors
def cat(targets: tuple[StorageNode, ...]) -> None:
    """Write files to stdout, byte for byte, streaming (any size, any content).

    \b
    genro-storage cat s3:exports/2024.csv | head
    genro-storage cat uploads:photo.jpg > photo.jpg
    """
    out = sys.stdout.buffer
    for node in targets:
        try:
            handle = node.open("rb")
        except OSError:
            if node.isdir:
                raise click.ClickException(f"{node.fullpath}: is a folder (cat writes files; see ls)") from None
            raise
        with handle:
            try:
                shutil.copyfileobj(handle, out, CAT_CHUNK)
                out.flush()
            except BrokenPipeError:
                # The reader went away (| head): stop quietly, and keep Python's exit
                # flush from failing on the same pipe.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                sys.exit(1)


@click.command()
@click.argument("targets", type=NodeArg(), nargs=-1, required=True, metavar="MOUNT:PATH...")
@click.option("-r", "--recursive", is_flag=True, help="Delete folders with everything in them.")
@click.option("-f", "--force", is_flag=True, help="No error for a path that does not exist.")
@reports_errors
def rm(targets: tuple[StorageNode, ...], recursive: bool, force: bool) -> None:
    """Delete files (and, with -r, folders). Every path is checked first: if one cannot
    be deleted (a folder without -r, a missing file, a mount without 'delete'
    permission), nothing is."""
    try:
        doomed = removals(targets, recursive=recursive, force=force)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    for node in doomed:
        node.delete()


@click.command()
@click.argument("target", type=NodeArg(), metavar="MOUNT:PATH")
@click.option(
    "--expires",
    type=Duration(),
    default="1h",
    show_default=True,
    help="How long the URL works: seconds, or a number with s, m, h or d (90m, 7d).",
)
@click.option(
    "--secret",
    envvar=SECRET_ENV,
    show_envvar=True,
    metavar="SECRET",
    help="Signing secret for mounts the service cannot presign (local, memory); the one "
    "'genro-storage serve' runs with. Prefer the environment variable (the command line shows in ps).",
)
@click.option(
    "--base-url",
    envvar=BASE_URL_ENV,
    show_envvar=True,
    default=DEFAULT_BASE_URL,
    show_default=True,
    help="Where that 'serve' answers, as browsers reach it.",
)
@reports_errors
def url(target: StorageNode, expires: int, secret: str | None, base_url: str) -> None:
    """Print a download URL for a file that expires.

    On object stores (S3, GCS, Azure) the service presigns it. On local and memory
    mounts it is signed for a 'genro-storage serve' started with the same secret: pass
    --secret (or set GENRO_STORAGE_URL_SECRET) and --base-url, the address it is served at.
    """
    if not target.exists:
        raise click.ClickException(f"{target.fullpath}: No such file or directory")
    if secret is not None:
        if not base_url.startswith(("http://", "https://", "/")):
            raise click.BadParameter(f"{base_url!r} is not a URL like http://host:8000/", param_hint="'--base-url'")
        try:
            target.manager.configure_urls(secret, base_url)
        except (TypeError, ValueError) as exc:
            raise click.BadParameter(one_line(exc), param_hint=f"'--secret' / {SECRET_ENV}") from None
    try:
        click.echo(target.url(expires_in=expires))
    except StorageConfigError:
        raise click.UsageError(
            f"mount {target.mount_name!r} ({target.mount.type}) has no presigned URLs: pass --secret "
            f"or set {SECRET_ENV} to sign one for 'genro-storage serve'"
        ) from None
    except ValueError as exc:
        raise click.BadParameter(one_line(exc), param_hint="'--expires'") from None
