"""WhiteNoise peer for bench/serve.py: BENCH_ROOT indexed at startup and served at /files/<path>."""

import os

from whitenoise import WhiteNoise


def not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
    return [b"not found"]


app = WhiteNoise(not_found, root=os.environ["BENCH_ROOT"], prefix="files/", autorefresh=False)
