"""The ``genro-storage`` console script: ``ls``, ``cp``, ``mv``, ``rm``, ``cat``,
``info``, ``url`` and ``serve`` on the mounts of a configuration file.

``main`` is the click group (the ``genro-storage`` entry point); ``python -m
genro_storage.cli`` runs it too.
"""

from __future__ import annotations

import click

from ..manager import StorageManager
from .context import BASE_URL_ENV, CONFIG_ENV, SECRET_ENV, Session
from .copying import cp, mv
from .files import cat, info, ls, rm, url
from .serving import serve

__all__ = ["main"]

EPILOG = f"""\b
MOUNT:PATH names a file or folder: uploads:docs/report.pdf, or uploads: for the root.
\b
Environment: {CONFIG_ENV} (the config file, when --config is not given),
{SECRET_ENV} and {BASE_URL_ENV} (signed URLs, see 'url' and 'serve').
\b
Exit status: 0 done; 1 the operation failed (a missing file, a copy with failures);
2 bad usage or a bad configuration (each problem printed on its own line).
"""


@click.group("genro-storage", epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    envvar=CONFIG_ENV,
    show_envvar=True,
    metavar="FILE",
    help="Mounts file (YAML, JSON or TOML), as StorageManager.configure reads it.",
)
@click.version_option(package_name="genro-storage", prog_name="genro-storage")
@click.pass_context
def main(ctx: click.Context, config: str | None) -> None:
    """Files on every mount of a genro-storage configuration: list, copy, move, delete,
    read, sign URLs, serve over HTTP."""
    ctx.obj = Session(config, ctx.obj if isinstance(ctx.obj, StorageManager) else None)


for command in (ls, info, cat, cp, mv, rm, url, serve):
    main.add_command(command)
