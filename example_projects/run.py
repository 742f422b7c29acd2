"""Start an example on the embedded default (``scripts/demo.sh`` runs this).

    python example_projects/run.py [django|flask|walkthrough] [--host H] [--port P]
    python example_projects/run.py manage COMMAND ...   # the Django site's manage.py, beside a running one

``django`` (the default) migrates and seeds the Django site, then serves it under gunicorn;
``flask`` serves the Flask app the same way; ``walkthrough`` runs the console tour
``demo.py``. Unless ``GENRO_S3_BUCKET`` names a real bucket, this process runs the S3 the
examples use (moto, on 127.0.0.1) for as long as the server runs: see ``embedded.py``.
"""

from __future__ import annotations

import argparse
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from embedded import embedded_s3, read_env_file, s3_mount, state_dir  # noqa: E402
from samples import make_samples, seed_samples  # noqa: E402

#: What gunicorn logs per request: the Range asked and the Content-Range answered, so the
#: log shows the browser fetching a video by ranges (the browser tests read it).
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(B)s range="%({range}i)s" content-range="%({content-range}o)s"'
#: Seconds the server has to start answering (the first run makes the sample video before).
START_TIMEOUT = 60


@dataclass(frozen=True)
class Example:
    folder: Path
    wsgi: str
    port: int
    title: str


EXAMPLES = {
    "django": Example(HERE / "django_site", "demosite.wsgi:application", 8000, "Django example site"),
    "flask": Example(HERE / "flask_app", "app:create_app()", 8001, "Flask example app"),
}


def shown_path(path: str) -> str:
    """``path`` relative to the current folder when it is below it (``.venv/bin/python``)."""
    relative = os.path.relpath(os.path.abspath(path))
    return path if relative.startswith("..") else relative


def free_port(host: str, wanted: int) -> int:
    """``wanted`` if nothing listens there, else a free port the system picks."""
    for port in (wanted, 0):
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise OSError(f"no free port on {host}")


def gunicorn_options() -> list[str]:
    """Options this gunicorn takes beyond the basics: no control socket (gunicorn 24+ opens
    one per user's home by default, which two servers at once would share)."""
    from gunicorn.config import KNOWN_SETTINGS

    return ["--no-control-socket"] if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS) else []


def wait_listening(host: str, port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode} before listening")
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not listen on {host}:{port} within {START_TIMEOUT} s")


def serve(name: str, host: str, port: int | None, access_log: str) -> int:
    example = EXAMPLES[name]
    state = state_dir(name)  # each example its own S3 snapshot: both may run at once
    samples = make_samples()
    with embedded_s3(state) as embedded:
        print(f"S3 mount: {seed_samples(s3_mount(), samples)}", flush=True)
        if name == "django":
            setup = subprocess.run([sys.executable, "manage.py", "demo_setup"], cwd=example.folder)
            if setup.returncode:
                print(f"run.py: manage.py demo_setup failed (status {setup.returncode})", file=sys.stderr)
                return setup.returncode
        port = port or free_port(host, example.port)
        command = [
            sys.executable, "-m", "gunicorn",
            "--bind", f"{host}:{port}", "--chdir", str(example.folder),
            "--worker-class", "gthread", "--workers", "2", "--threads", "8", "--graceful-timeout", "5",
            "--access-logfile", access_log, "--access-logformat", ACCESS_LOG_FORMAT,
            *gunicorn_options(), example.wsgi,
        ]  # fmt: skip
        server = subprocess.Popen(command)
        try:
            wait_listening(host, port, server)
            where = f"moto on {embedded['GENRO_S3_ENDPOINT']}" if embedded else "GENRO_S3_* from the environment"
            print(f"\n{example.title}: open http://{host}:{port}/")
            print(f"S3 mount: bucket {os.environ['GENRO_S3_BUCKET']}, {where}")
            if name == "django":
                print(f"Log in to http://{host}:{port}/admin/ as admin with the password above.")
                print(f"Moving the uploads to S3 meanwhile: {HERE.name}/django_site/MIGRATION.md, starting with")
                print(f"  {shown_path(sys.executable)} {shown_path(__file__)} manage storage_ls -R local:")
            print("Ctrl-C stops it.\n", flush=True)
            return server.wait()
        finally:
            if server.poll() is None:
                server.terminate()
                try:
                    server.wait(10)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()


def manage(args: list[str]) -> int:
    """The Django site's manage.py, with the S3 of a running ``run.py`` (or the environment's)."""
    env = dict(os.environ)
    if not env.get("GENRO_S3_BUCKET"):
        running = read_env_file(state_dir("django"))
        if not running:
            print(
                "run.py manage: no example is running; start 'example_projects/run.py django' first "
                "(its S3 lives in that process), or set GENRO_S3_BUCKET for a real bucket",
                file=sys.stderr,
            )
            return 2
        env.update(running)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=EXAMPLES["django"].folder, env=env).returncode


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["manage"]:
        return manage(argv[1:])
    parser = argparse.ArgumentParser(
        prog="run.py",
        description="Start a genro-storage example on the embedded default (or the S3 GENRO_S3_* names).",
        epilog="run.py manage COMMAND ...: the Django site's manage.py, beside a running 'run.py django'",
    )
    parser.add_argument("example", nargs="?", default="django", choices=[*EXAMPLES, "walkthrough"])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 8000 for django, 8001 for flask, or a free one)")
    parser.add_argument("--access-log", default="-", metavar="PATH", help="gunicorn's access log (default stdout)")
    args = parser.parse_args(argv)
    if args.example == "walkthrough":
        sys.argv = [str(HERE / "demo.py")]
        runpy.run_path(str(HERE / "demo.py"), run_name="__main__")
        return 0
    if args.port is not None and not 0 < args.port < 65536:
        parser.error(f"--port must be between 1 and 65535, not {args.port}")
    # SIGTERM (a test's teardown, a service manager) stops the server and the S3 as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        return serve(args.example, args.host, args.port, args.access_log)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
