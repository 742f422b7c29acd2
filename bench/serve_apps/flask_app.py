"""Flask peer for bench/serve.py: send_from_directory (conditional, ranges) over BENCH_ROOT at /files/<path>."""

import os

from flask import Flask, send_from_directory

ROOT = os.environ["BENCH_ROOT"]
app = Flask(__name__)


@app.route("/files/<path:name>")
def files(name: str):
    return send_from_directory(ROOT, name, conditional=True)
