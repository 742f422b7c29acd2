"""``serve``: :class:`~genro_storage.http.StorageApp` behind gunicorn, a production WSGI
server (worker processes, threads, sendfile for local files)."""

from __future__ import annotations

from typing import Any

import click

from ..http import StorageApp
from ..manager import StorageManager
from .context import SECRET_ENV, one_line, reports_errors, session

__all__ = ["serve"]

EXTRA_HINT = "genro-storage serve needs gunicorn: pip install 'genro-storage[serve]'"


def _bind(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """``HOST:PORT`` (port 0: any free one) or ``unix:PATH``, checked before gunicorn sees it."""
    if value.startswith("unix:") and len(value) > len("unix:"):
        return value
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise click.BadParameter(f"{value!r} is not HOST:PORT (like 127.0.0.1:8000) or unix:PATH")
    return value


@click.command()
@click.option(
    "--bind",
    default="127.0.0.1:8000",
    show_default=True,
    callback=_bind,
    metavar="HOST:PORT",
    help="Address to listen on (port 0: any free port, printed at start), or unix:PATH.",
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=2, show_default=True, metavar="N", help="Worker processes."
)
@click.option(
    "--threads", type=click.IntRange(min=1), default=4, show_default=True, metavar="N", help="Threads per worker."
)
@click.option(
    "--mount",
    "mounts",
    multiple=True,
    metavar="NAME",
    help="Serve only this mount (repeat for several; default: every mount).",
)
@click.option("--listing", is_flag=True, help="Answer folders with their listing (HTML, or JSON) instead of 403.")
@click.option(
    "--require-signature",
    is_flag=True,
    help="Answer only signed URLs (from 'genro-storage url' with the same secret); 403 otherwise.",
)
@click.option(
    "--secret",
    envvar=SECRET_ENV,
    show_envvar=True,
    metavar="SECRET",
    help="Secret that signed URLs are checked with; without one, signed URLs get 403.",
)
@click.option(
    "--max-age", type=click.IntRange(min=0), default=None, metavar="SECONDS", help="Cache-Control max-age of files."
)
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log each request to stdout.")
@reports_errors
def serve(
    bind: str,
    workers: int,
    threads: int,
    mounts: tuple[str, ...],
    listing: bool,
    require_signature: bool,
    secret: str | None,
    max_age: int | None,
    access_log: bool,
) -> None:
    """Serve GET and HEAD of /<mount>/<path> over HTTP with gunicorn: ETag, conditional
    requests, Range (206), multiple ranges, sendfile for local files, streaming for
    object stores. Stop it with Ctrl-C or SIGTERM.

    \b
    GENRO_STORAGE_URL_SECRET=... genro-storage serve --mount uploads --require-signature
    GENRO_STORAGE_URL_SECRET=... genro-storage url uploads:report.pdf
    """
    try:
        from .server import GunicornServer
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] != "gunicorn":
            raise
        raise click.ClickException(EXTRA_HINT) from None
    state = session()
    storage = state.storage()
    unknown = sorted(set(mounts) - set(storage.mounts))
    if unknown:
        known = ", ".join(sorted(storage.mounts))
        raise click.BadParameter(f"unknown mount {unknown[0]!r} (mounts: {known})", param_hint="'--mount'")
    if require_signature and secret is None:
        raise click.BadParameter(
            f"needs a secret: pass --secret or set {SECRET_ENV}", param_hint="'--require-signature'"
        )
    options: dict[str, Any] = {} if max_age is None else {"max_age": max_age}

    if secret is not None:
        try:
            storage.configure_urls(secret)
        except (TypeError, ValueError) as exc:
            raise click.BadParameter(one_line(exc), param_hint=f"'--secret' / {SECRET_ENV}") from None

    def make_app(manager: StorageManager) -> StorageApp:
        if secret is not None and manager is not storage:
            manager.configure_urls(secret)
        return StorageApp(
            manager, mounts=mounts or None, listing=listing, require_signature=require_signature, **options
        )

    try:
        make_app(storage)  # every argument checked here, in the master, before any worker starts
    except (TypeError, ValueError) as exc:
        raise click.UsageError(one_line(exc)) from None
    served = ", ".join(mounts or sorted(storage.mounts))
    signed = ", signed URLs only" if require_signature else ""

    def when_ready(server: Any) -> None:
        for listener in server.LISTENERS:
            where = str(listener)
            where += "/" if where.startswith("http") else ""
            click.echo(f"genro-storage: serving {served} at {where}{signed} (Ctrl-C to stop)", err=True)

    settings = {
        "bind": [bind],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "accesslog": "-" if access_log else None,
        "proc_name": "genro-storage",
        "when_ready": when_ready,
        # One control socket per user ($HOME/.gunicorn/gunicorn.ctl): two serves would share it.
        "control_socket_disable": True,
    }
    GunicornServer(lambda: make_app(state.build()), settings).run()
