"""What the Flask tests share: apps built from config keys, gunicorn on 127.0.0.1."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from flask import Flask

from genro_storage_flask import GenroStorage

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SECRET_KEY = "a-flask-secret-key-for-the-genro-storage-tests-0123456789"


def new_app(**config) -> tuple[Flask, GenroStorage]:
    """A Flask app with ``config`` (GENRO_STORAGE_* keys...) and the extension on it."""
    app = Flask("flask_tests")
    app.config.update(SECRET_KEY=SECRET_KEY, TESTING=True, **config)
    ext = GenroStorage(app)
    return app, ext


def start_gunicorn(app_spec: str, env: dict[str, str], *, threads: int = 4) -> tuple[subprocess.Popen, int]:
    """gunicorn (gthread, one worker) serving ``app_spec`` from tests/flask on a free port."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(HERE), str(REPO)])}
    proc = subprocess.Popen(
        [str(gunicorn), "-b", "127.0.0.1:0", "-w", "1", "-k", "gthread", "--threads", str(threads), app_spec],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    port = None
    deadline = time.monotonic() + 60
    lines = []
    while port is None and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        match = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line)
        if match:
            port = int(match.group(1))
    if port is None:
        stop_gunicorn(proc)
        raise RuntimeError("gunicorn did not start:\n" + "".join(lines))
    threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
    return proc, port


def stop_gunicorn(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
