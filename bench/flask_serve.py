"""Flask serving: genro_storage_flask's ``send_node`` against ``flask.send_file`` on the same
local files, and ``ext.serve`` of a 512 MiB S3 object with the worker's memory measured.

One gunicorn (``-k gthread -w 2 --threads 8 --reuse-port``, as bench/serve.py) runs the app
defined in this file (``create_app``), whose two views differ only in the call that answers:

    /send_file/<name>   flask.send_file(os.path.join(root, name))
    /send_node/<name>   send_node(ext.node("files", name))

and two references on the Range row only: the same 51,000 bytes from memory (what Flask and
gunicorn cost without any file: the ceiling for any file view), and a hand-written view doing
only what any correct answer does, a stat of the path and one pread, sending the header fields
send_node sends with values fixed at start-up (no preconditions, no range parsing: the floor
under send_node's own cost):

    /in_memory/<name>   Response(the bytes, 206, Content-Range as the others send it)
    /stat_pread/<name>  os.stat(path), os.pread(fd, 51000, 1000), send_node's 8 header fields

Rows, each measured with ``wrk -t4 -c32`` for ``--duration`` seconds, ``--rounds`` times, the
views taking turns (the order rotates each round):

    1MiB GET      GET of a 1 MiB file (both sendfile it)
    50KB Range    ``Range: bytes=1000-51999`` of a 64 MiB file

The table gives each view's median req/s with its min-max over the rounds, the gunicorn
workers' CPU time per request (user + system, from /proc: what the view costs the server,
apart from wrk's share of the cores), the ratio of its median req/s to send_file's and the
spread of that ratio round by round (each round's views run back to back, so a slower spell
of the machine weighs on both); the goals are send_node >= 1.0x on the 1 MiB GET and >= 1.5x
on the Range. Before measuring,
every view must answer the 1 MiB GET (200, exact bytes) and the Range (206, exact bytes); the
in-memory one the Range.

Then a second gunicorn (one gthread worker) serves ``ext.serve("s3:big.bin")`` from moto's S3
server on 127.0.0.1, holding a 512 MiB object: the object is downloaded whole by a Python
client (checked against its SHA-256) while the worker's peak RSS (VmHWM) is read from /proc;
the goal is a peak under 128 MiB.

Run:

    .venv/bin/python bench/flask_serve.py                  # 5 rounds of 4 s per row and view
    .venv/bin/python bench/flask_serve.py --rounds 5 --duration 10
    .venv/bin/python bench/flask_serve.py --quick          # 1 round of 1 s: a smoke run

Needs wrk (Debian: ``apt-get install wrk``), and the dev extras (flask, gunicorn, moto, boto3).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from _procs import HOST, cpu_ticks, free_port, stop, wait_for_port  # modules beside this script
from _wrk import fetch
from _wrk import run_wrk as wrk_run

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

SMALL, BIG = "small.bin", "big.bin"
SMALL_SIZE, BIG_SIZE, S3_SIZE = 1024 * 1024, 64 * 1024 * 1024, 512 * 1024 * 1024
RANGE_START, RANGE_END = 1000, 51999  # inclusive: 51,000 bytes
RANGE_HEADER = f"bytes={RANGE_START}-{RANGE_END}"
VIEWS = ("send_node", "send_file")
#: Not contenders, the Range row's references: its answer from memory (the ceiling of any file
#: view), and a stat and a pread with send_node's header fields (what is left of send_node's
#: work once its checks and its Python are taken away).
REFERENCES = {"in_memory": "no file, the ceiling", "stat_pread": "stat + pread, no checks"}
ROWS = [("1MiB GET", SMALL, False, 1.0), ("50KB Range", BIG, True, 1.5)]
GUNICORN_OPTS = ["-k", "gthread", "--threads", "8", "--reuse-port", "--log-level", "warning"]
RSS_GOAL = 128 * 1024 * 1024
BUCKET = "bench"


# --------------------------------------------------------------------------- the app


def create_app():
    """The app gunicorn runs: BENCH_ROOT holds the local files, BENCH_S3 (JSON) the S3 mount."""
    from flask import Flask, Response, send_file

    from genro_storage_flask import GenroStorage, send_node

    root = os.environ["BENCH_ROOT"]
    mounts = [{"name": "files", "type": "local", "path": root}]
    if os.environ.get("BENCH_S3"):
        mounts.append(json.loads(os.environ["BENCH_S3"]))
    with open(os.path.join(root, BIG), "rb") as big:
        size = os.fstat(big.fileno()).st_size
        ranged = os.pread(big.fileno(), RANGE_END + 1 - RANGE_START, RANGE_START)
    app = Flask(__name__)
    app.config["GENRO_STORAGE_MOUNTS"] = mounts
    ext = GenroStorage(app)

    @app.route("/send_file/<name>")
    def by_send_file(name: str):
        return send_file(os.path.join(root, name))

    @app.route("/send_node/<name>")
    def by_send_node(name: str):
        return send_node(ext.node("files", name))

    @app.route("/in_memory/<name>")
    def by_memory(name: str):
        return Response(
            ranged,
            206,
            headers={"Content-Range": f"bytes {RANGE_START}-{RANGE_END}/{size}", "Accept-Ranges": "bytes"},
            mimetype="application/octet-stream",
        )

    fd = os.open(os.path.join(root, BIG), os.O_RDONLY)
    fixed = send_node_fields(app, ext)

    @app.route("/stat_pread/<name>")
    def by_stat_pread(name: str):
        st = os.stat(os.path.join(root, name))
        data = os.pread(fd, RANGE_END + 1 - RANGE_START, RANGE_START)
        headers = [*fixed, ("Content-Range", f"bytes {RANGE_START}-{RANGE_END}/{st.st_size}")]
        return app.response_class([data], status=206, headers=headers, direct_passthrough=True)

    @app.route("/serve_s3/<name>")
    def by_serve(name: str):
        return ext.serve(f"s3:{name}")

    return app


def send_node_fields(app, ext) -> list[tuple[str, str]]:
    """The header fields send_node answers the Range with, but Content-Range (fixed values)."""
    from genro_storage_flask import send_node

    with app.test_request_context(f"/send_node/{BIG}", headers={"Range": RANGE_HEADER}):
        answer = send_node(ext.node("files", BIG))
        answer.close()
    return [(name, value) for name, value in answer.headers.items() if name != "Content-Range"]


# --------------------------------------------------------------------------- processes


def start_gunicorn(env: dict[str, str], workers: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    paths = [str(HERE), str(REPO), os.environ.get("PYTHONPATH", "")]
    cmd = [
        sys.executable, "-m", "gunicorn", *GUNICORN_OPTS, "-w", str(workers), "-b", f"{HOST}:{port}",
        "flask_serve:create_app()",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, **env, "PYTHONPATH": os.pathsep.join(p for p in paths if p)},
        stdin=subprocess.DEVNULL,
    )
    wait_for_port(port, proc, timeout=30, name="gunicorn")
    print("   $ " + " ".join(cmd) + f"   (port {port})", flush=True)
    return proc, port


def workers_of(proc: subprocess.Popen) -> list[int]:
    """The worker processes of the gunicorn master we started."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def peak_rss(pid: int) -> int:
    """A process's peak resident set (VmHWM), in bytes."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1)) * 1024


# --------------------------------------------------------------------------- measuring


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes have used, in seconds (from /proc)."""
    return sum(cpu_ticks(pid) for pid in pids) / os.sysconf("SC_CLK_TCK")


def run_wrk(wrk: str, port: int, path: str, lua: Path | None, duration: int) -> tuple[float, int]:
    """``(requests per second, requests)`` of one wrk run; any non-2xx answer is an error."""
    cmd, figures = wrk_run(wrk, port, path, lua, duration, timeout="10s")
    if figures["non2xx"] or not figures["requests"]:
        raise RuntimeError(f"wrk: {figures['non2xx']} non-2xx answers, {figures['requests']} requests: {' '.join(cmd)}")
    return figures["rps"], figures["requests"]


def verify(port: int, small: bytes, big: bytes) -> None:
    for view in VIEWS:
        status, body = fetch(port, f"/{view}/{SMALL}")
        if status != 200 or body != small:
            sys.exit(f"{view}: GET {SMALL} answered {status} with {len(body)} bytes (want 200, exact bytes)")
    for view in (*VIEWS, *REFERENCES):  # the references answer the Range row only
        status, body = fetch(port, f"/{view}/{BIG}", {"Range": RANGE_HEADER})
        if status != 206 or body != big[RANGE_START : RANGE_END + 1]:
            sys.exit(f"{view}: Range {RANGE_HEADER} answered {status} with {len(body)} bytes (want 206, exact)")
    print("   correctness check passed for every view (1 MiB GET 200 exact; Range 206 exact)")


#: Per row and view, one figure per round.
Figures = dict[str, dict[str, list[float]]]


def local_rows(args: argparse.Namespace, wrk: str, root: Path, work: Path) -> tuple[Figures, Figures]:
    """Per row and view, the req/s of each round and the workers' CPU time per request (us)."""
    small, big = os.urandom(SMALL_SIZE), os.urandom(BIG_SIZE)
    (root / SMALL).write_bytes(small)
    (root / BIG).write_bytes(big)
    lua = work / "range.lua"
    lua.write_text(f'wrk.headers["Range"] = "{RANGE_HEADER}"\n')
    results: Figures = {
        label: {view: [] for view in (*VIEWS, *(REFERENCES if ranged else ()))} for label, _, ranged, _ in ROWS
    }
    cpu: Figures = {label: {view: [] for view in views} for label, views in results.items()}
    print("\n== send_node vs flask.send_file, one gunicorn (-w 2)")
    proc, port = start_gunicorn({"BENCH_ROOT": str(root)}, workers=2)
    try:
        verify(port, small, big)
        workers = workers_of(proc)
        run_wrk(wrk, port, f"/send_node/{SMALL}", None, 1)  # warm-up, unmeasured: both workers booted
        run_wrk(wrk, port, f"/send_file/{SMALL}", None, 1)
        for round_number in range(args.rounds):
            for label, name, ranged, _goal in ROWS:
                views = list(results[label])
                shift = round_number % len(views)
                for view in views[shift:] + views[:shift]:
                    before = cpu_seconds(workers)
                    rps, done = run_wrk(wrk, port, f"/{view}/{name}", lua if ranged else None, args.duration)
                    used = (cpu_seconds(workers) - before) / done * 1e6
                    results[label][view].append(rps)
                    cpu[label][view].append(used)
                    print(
                        f"   round {round_number + 1}: {label:<11} {view:<10} {rps:>9.1f} req/s "
                        f"{used:>6.0f} us CPU/req",
                        flush=True,
                    )
    finally:
        stop(proc)
    return results, cpu


def s3_row(root: Path) -> dict[str, float]:
    from genro_storage.testing import local_s3

    print("\n== ext.serve of a 512 MiB S3 object (moto on 127.0.0.1), one gunicorn worker")
    with local_s3(BUCKET) as s3:
        digest = hashlib.sha256()
        block = os.urandom(8 * 1024 * 1024)
        client = s3.client()
        upload = client.create_multipart_upload(Bucket=BUCKET, Key="big.bin")
        parts = []
        for number in range(1, S3_SIZE // len(block) + 1):
            chunk = block[number:] + block[:number]
            digest.update(chunk)
            etag = client.upload_part(
                Bucket=BUCKET, Key="big.bin", UploadId=upload["UploadId"], PartNumber=number, Body=chunk
            )["ETag"]
            parts.append({"ETag": etag, "PartNumber": number})
        client.complete_multipart_upload(
            Bucket=BUCKET, Key="big.bin", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
        )
        mount = s3.mount("s3", BUCKET)
        proc, port = start_gunicorn({"BENCH_ROOT": str(root), "BENCH_S3": json.dumps(mount)}, workers=1)
        try:
            worker = workers_of(proc)[0]
            status, _ = fetch(port, "/serve_s3/big.bin", {"Range": "bytes=0-9"})
            if status != 206:
                sys.exit(f"ext.serve: Range on the S3 object answered {status} (want 206)")
            before = peak_rss(worker)
            conn = http.client.HTTPConnection(HOST, port, timeout=120)
            started = time.perf_counter()
            conn.request("GET", "/serve_s3/big.bin")
            response = conn.getresponse()
            got, received = hashlib.sha256(), 0
            while chunk := response.read(1024 * 1024):
                got.update(chunk)
                received += len(chunk)
            elapsed = time.perf_counter() - started
            conn.close()
            peak = peak_rss(worker)
        finally:
            stop(proc)
    if response.status != 200 or received != S3_SIZE or got.digest() != digest.digest():
        sys.exit(f"ext.serve: the S3 object came back as {response.status}, {received} bytes, digest mismatch")
    print(f"   200, {received:,} bytes, SHA-256 matches, in {elapsed:.1f}s")
    return {"seconds": elapsed, "mbps": received / elapsed / 1e6, "before": before, "peak": peak}


# --------------------------------------------------------------------------- report


def report(results: Figures, cpu: Figures, s3: dict[str, float] | None, rounds: int) -> None:
    print(
        f"\n{'row':<11} {'view':<10} {'median req/s':>13} {'min-max':>11} {'CPU us/req':>11} "
        f"{'ratio':>6} {'rounds':>9}  goal"
    )
    print("-" * 96)
    for label, _name, _ranged, goal in ROWS:
        anchor = results[label]["send_file"]
        mine, theirs = median(results[label]["send_node"]), median(anchor)
        for view, figures in results[label].items():
            spread = f"{min(figures):.0f}-{max(figures):.0f}"
            rounds_ratio = [a / b for a, b in zip(figures, anchor, strict=True)]
            ratio = f"{median(figures) / theirs:>5.2f}x {min(rounds_ratio):>4.2f}-{max(rounds_ratio):.2f}"
            if view == "send_node":
                tail = f"{ratio}  >= {goal:.1f}x {'ok' if mine / theirs >= goal else 'MISSED'}"
            elif view in REFERENCES:
                tail = f"{ratio}  (reference: {REFERENCES[view]})"
            else:
                tail = f"{'1.00x':>6} {'':>9}  (anchor)"
            used = f"{median(cpu[label][view]):.0f}"
            print(f"{label:<11} {view:<10} {median(figures):>13.1f} {spread:>11} {used:>11} {tail}")
    print(
        f"({rounds} rounds per view and row; ratio = median / median send_file, rounds = its lowest and highest "
        "round by round; CPU us/req: the gunicorn workers' user+system time per request, median)"
    )
    if s3 is not None:
        verdict = "ok" if s3["peak"] < RSS_GOAL else "MISSED"
        print(
            f"\next.serve, 512 MiB S3 object: {s3['seconds']:.1f}s ({s3['mbps']:.0f} MB/s); worker peak RSS "
            f"{s3['peak'] / 2**20:.0f} MiB (before the download {s3['before'] / 2**20:.0f} MiB), "
            f"goal < {RSS_GOAL // 2**20} MiB: {verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per view and row (default 5)")
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk run (default 4)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round of 1 s")
    parser.add_argument("--no-s3", action="store_true", help="leave out the 512 MiB S3 row")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration = 1, 1
    if args.rounds < 1 or args.duration < 1:
        parser.error("--rounds and --duration must be at least 1")
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("bench/flask_serve.py: wrk not found; install it with `apt-get install wrk` (Debian/Ubuntu)")
    sys.path.insert(0, str(HERE))
    with tempfile.TemporaryDirectory(prefix="gs-flask-bench-") as tmp:
        work = Path(tmp)
        root = work / "data"
        root.mkdir()
        results, cpu = local_rows(args, wrk, root, work)
        s3 = None if args.no_s3 else s3_row(root)
    report(results, cpu, s3, args.rounds)


if __name__ == "__main__":
    main()
