"""HTTP file serving: genro-storage's StorageApp against nginx, Flask and WhiteNoise, in one run.

Each server is started on its own free port of 127.0.0.1, checked for correctness, loaded with
wrk, then stopped, one at a time:

- nginx (sendfile on, tcp_nopush on, 2 workers, its own nginx.conf in a temp dir)
- gunicorn + genro-storage ``StorageApp``              (bench/serve_apps/genro_app.py)
- gunicorn + Flask ``send_from_directory``             (bench/serve_apps/flask_app.py)
- gunicorn + WhiteNoise                                (bench/serve_apps/whitenoise_app.py)

Every gunicorn runs ``-k gthread -w 2 --threads 8 --log-level warning``. Three rows are
measured with ``wrk -t4 -c32``: a GET of a 1 MiB file, a GET of a 64 MiB file, and a 51,000
byte ``Range: bytes=1000-51999`` of the 64 MiB file. Before measuring, a server must answer a
full GET of the 1 MiB file (200, exact bytes) and the Range (206, exact bytes); one that fails
is reported and its rows are skipped. The table gives req/s, MB/s (1 MB = 10^6 bytes), the
ratio to nginx and the ratio to the best Python peer other than genro-storage (on req/s for the
1 MiB and Range rows, on MB/s for the 64 MiB row).

Run:

    .venv/bin/python bench/serve.py                 # 10 s per wrk run
    .venv/bin/python bench/serve.py --duration 5
    .venv/bin/python bench/serve.py --quick         # smoke run, 1 s per wrk run

Needs the system packages nginx and wrk (Debian: ``apt-get install nginx wrk``) and the
Python package whitenoise (``.venv/bin/pip install whitenoise``); gunicorn and flask come
with the project's dev extras.

Goals: genro-storage >= 1.0x WhiteNoise on full GETs, >= 0.95x nginx on the 64 MiB GET and
>= 1.5x WhiteNoise on the 50 KB Range. The issue's own figures for each server are printed
beside this run's (column "issue anchor"), and each goal is given against them too: the
Python servers' figures move a lot from run to run here (gunicorn's two workers do not
always share the 32 connections evenly), so both comparisons are worth reading.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from _procs import HOST, free_port, stop, tail, wait_for_port  # modules beside this script
from _wrk import fetch, run_wrk

HERE = Path(__file__).resolve().parent
APPS_DIR = HERE / "serve_apps"

SMALL, BIG = "small.bin", "big.bin"
SMALL_SIZE, BIG_SIZE = 1024 * 1024, 64 * 1024 * 1024
RANGE_START, RANGE_END = 1000, 51999  # inclusive: 51,000 bytes (~50 KiB)
RANGE_HEADER = f"bytes={RANGE_START}-{RANGE_END}"

# (label, path, uses the Range lua script, figure the ratios compare). The 64 MiB row compares
# MB/s: wrk counts a request only once its whole body arrived, so in a short run req/s depends
# on how many of the 32 downloads a server runs at once, while MB/s counts every byte moved.
ROWS = [
    ("1MiB GET", f"/files/{SMALL}", False, "rps"),
    ("64MiB GET", f"/files/{BIG}", False, "mbps"),
    ("50KB Range", f"/files/{BIG}", True, "rps"),
]
GENRO = "genro"
PY_PEERS = ("whitenoise", "flask")  # the Python peers genro-storage is compared with
GUNICORN_APPS = {GENRO: "genro_app:app", "flask": "flask_app:app", "whitenoise": "whitenoise_app:app"}
GUNICORN_OPTS = ["-k", "gthread", "-w", "2", "--threads", "8", "--log-level", "warning"]

BASIS_NAMES = {"rps": "req/s", "mbps": "MB/s"}

#: The figures the issue measured on this machine (same gunicorn and wrk settings), in each
#: row's basis: printed beside this run's, and each goal is also given against them.
ANCHORS = {
    "1MiB GET": {"nginx": 3725, "whitenoise": 3031, "flask": 2123},
    "64MiB GET": {"nginx": 2900, "whitenoise": 2900, "flask": 2900},
    "50KB Range": {"nginx": 45199, "whitenoise": 4143, "flask": 2743},
}


# --------------------------------------------------------------------------- prerequisites


def check_prerequisites() -> dict[str, str]:
    missing = []
    tools = {}
    for tool, hint in (("nginx", "apt-get install nginx"), ("wrk", "apt-get install wrk")):
        found = shutil.which(tool) or next(
            (p for p in (f"/usr/sbin/{tool}", f"/usr/bin/{tool}") if os.access(p, os.X_OK)), None
        )
        if found:
            tools[tool] = found
        else:
            missing.append(f"  {tool}: not found; install it with `{hint}` (Debian/Ubuntu)")
    for module, hint in (("whitenoise", "whitenoise"), ("gunicorn", "gunicorn"), ("flask", "flask")):
        if importlib.util.find_spec(module) is None:
            missing.append(f"  {module}: not importable; install it with `{sys.executable} -m pip install {hint}`")
    if missing:
        sys.exit("bench/serve.py: missing prerequisites:\n" + "\n".join(missing))
    return tools


# --------------------------------------------------------------------------- processes


NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 2;
{user}pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;

events {{
    worker_connections 1024;
}}

http {{
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;

    server {{
        listen {host}:{port};
        location /files/ {{
            alias {root}/;
        }}
    }}
}}
"""


def nginx_command(nginx: str, root: Path, work: Path, port: int) -> tuple[list[str], dict[str, str]]:
    prefix = work / "nginx"
    prefix.mkdir(exist_ok=True)
    # As root, nginx's workers would drop to nobody; keep them as the invoking user instead.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user=user, prefix=prefix, host=HOST, port=port, root=root))
    return [nginx, "-c", str(conf), "-p", f"{prefix}/"], dict(os.environ)


def gunicorn_command(name: str, root: Path, port: int) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ, BENCH_ROOT=str(root))
    cmd = [
        sys.executable, "-m", "gunicorn", *GUNICORN_OPTS, "-b", f"{HOST}:{port}",
        "--pythonpath", str(APPS_DIR), GUNICORN_APPS[name],
    ]  # fmt: skip
    return cmd, env


# --------------------------------------------------------------------------- checks and load


def verify(port: int, small: bytes, big: bytes) -> list[str]:
    """Problems found with the server's answers (empty when it serves both requests exactly)."""
    problems = []
    status, body = fetch(port, f"/files/{SMALL}", timeout=30)
    if status != 200 or body != small:
        problems.append(f"GET {SMALL}: status {status}, {len(body)} bytes (want 200, {len(small)} exact bytes)")
    want = big[RANGE_START : RANGE_END + 1]
    status, body = fetch(port, f"/files/{BIG}", {"Range": RANGE_HEADER}, timeout=30)
    if status != 206 or body != want:
        problems.append(f"Range {RANGE_HEADER}: status {status}, {len(body)} bytes (want 206, {len(want)} exact bytes)")
    return problems


# --------------------------------------------------------------------------- report


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def print_table(results: dict[str, dict[str, dict]], servers: list[str]) -> None:
    print()
    header = f"{'row':<11} {'server':<11} {'req/s':>10} {'MB/s':>10} {'ratio on':>9} {'vs nginx':>9} "
    header += f"{'vs best py':>11} {'issue anchor':>13}  notes"
    print(header)
    print("-" * len(header))
    for label, _path, _ranged, basis in ROWS:
        row = results.get(label, {})
        nginx_figure = row.get("nginx", {}).get(basis)
        best_py = max((row[p][basis] for p in PY_PEERS if p in row), default=None)
        anchors = ANCHORS.get(label, {})
        for server in servers:
            r = row.get(server)
            if r is None:
                print(f"{label:<11} {server:<11} {'skipped':>10}")
                continue
            notes = []
            if r["non2xx"]:
                notes.append(f"{r['non2xx']} non-2xx/3xx")
            if r["errors"]:
                notes.append(f"socket errors: {r['errors']}")
            print(
                f"{label:<11} {server:<11} {r['rps']:>10.1f} {r['mbps']:>10.1f} {BASIS_NAMES[basis]:>9} "
                f"{ratio(r[basis], nginx_figure):>9} {ratio(r[basis], best_py):>11} "
                f"{anchors.get(server, '-'):>13}  {'; '.join(notes)}".rstrip()
            )
        print()


def print_goals(results: dict[str, dict[str, dict]]) -> None:
    goals = {  # row label -> [(peer, minimum ratio of genro's req/s to the peer's)]
        "1MiB GET": [("whitenoise", 1.0)],
        "64MiB GET": [("whitenoise", 1.0), ("nginx", 0.95)],
        "50KB Range": [("whitenoise", 1.5)],
    }
    bases = {label: basis for label, _path, _ranged, basis in ROWS}
    print("Goals for genro-storage:")
    for label, wanted in goals.items():
        row = results.get(label, {})
        basis = bases[label]
        parts = []
        for peer, minimum in wanted:
            genro, other = row.get(GENRO, {}).get(basis), row.get(peer, {}).get(basis)
            if not genro or not other:
                parts.append(f"vs {peer} n/a (want >= {minimum:.2f}x)")
                continue
            got = genro / other
            verdict = "ok" if got >= minimum else "MISSED"
            anchor = ANCHORS.get(label, {}).get(peer)
            against = f", {genro / anchor:.2f}x the issue's {peer} figure {anchor:,}" if anchor else ""
            parts.append(f"{got:.2f}x {peer} (want >= {minimum:.2f}x) {verdict}{against}")
        print(f"  {label:<11} ({BASIS_NAMES[basis]}) " + "; ".join(parts))


# --------------------------------------------------------------------------- main


def measure(
    name: str,
    command: Callable[[int], tuple[list[str], dict[str, str]]],
    logs: list[Path],
    args: argparse.Namespace,
    wrk: str,
    lua: Path,
    small: bytes,
    big: bytes,
    results: dict[str, dict[str, dict]],
) -> None:
    port = free_port()
    cmd, env = command(port)
    print(f"\n== {name} on {HOST}:{port}")
    print("   $ " + " ".join(cmd))
    with open(logs[0], "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        try:
            wait_for_port(port, proc, timeout=20.0)
            problems = verify(port, small, big)
        except (RuntimeError, OSError, http.client.HTTPException) as exc:
            problems = [f"{type(exc).__name__}: {exc}"]
        if problems:
            print(f"   {name} FAILED the correctness check, its rows are skipped:")
            for problem in problems:
                print(f"     - {problem}")
            for log in logs:
                if tail(log):
                    print(f"   {log.name}:\n" + tail(log))
            return
        print("   correctness check passed (1 MiB GET 200 exact; 51,000 byte Range 206 exact)")
        # Warm up, unmeasured: gunicorn workers boot after the port opens, and wrk's keep-alive
        # connections would all stay on the first worker ready, halving a server whose app
        # takes longer to import. A steady-state server is what the rows compare.
        try:
            run_wrk(wrk, port, ROWS[0][1], None, 1, timeout=args.timeout)
        except (RuntimeError, ValueError, subprocess.TimeoutExpired):
            pass
        for label, path, ranged, basis in ROWS:
            try:
                wrk_cmd, r = run_wrk(wrk, port, path, lua if ranged else None, args.duration, timeout=args.timeout)
            except (RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
                print(f"   {label}: wrk failed: {exc}")
                continue
            best = results.setdefault(label, {}).get(name)
            if best is None or r[basis] > best[basis]:
                results[label][name] = r  # with --repeat, the best round counts
            extra = f", {r['non2xx']} non-2xx/3xx" if r["non2xx"] else ""
            extra += f", socket errors: {r['errors']}" if r["errors"] else ""
            print(f"   $ {' '.join(wrk_cmd)}")
            print(f"     {label}: {r['rps']:.1f} req/s, {r['mbps']:.1f} MB/s{extra}")
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 s per wrk run")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--timeout", default="10s", help="wrk's per-request timeout (default 10s)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds over all servers, each round starting one server later; the best figure is kept",
    )
    parser.add_argument(
        "--servers",
        default="nginx,genro,flask,whitenoise",
        help="comma-separated subset of nginx,genro,flask,whitenoise (default all)",
    )
    args = parser.parse_args()
    if args.quick:
        args.duration = 1
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(servers) - {"nginx", *GUNICORN_APPS}
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")

    tools = check_prerequisites()
    results: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory(prefix="gs-serve-bench-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        root = work / "data"
        root.mkdir(mode=0o755)
        small, big = os.urandom(SMALL_SIZE), os.urandom(BIG_SIZE)
        (root / SMALL).write_bytes(small)
        (root / BIG).write_bytes(big)
        lua = work / "range.lua"
        lua.write_text(f'wrk.headers["Range"] = "{RANGE_HEADER}"\n')
        print(f"files in {root}: {SMALL} ({SMALL_SIZE} bytes), {BIG} ({BIG_SIZE} bytes); wrk {args.duration}s per row")

        for round_number in range(1, max(args.repeat, 1) + 1):
            # Each round starts one server later: none always runs right after the same one
            # (the machine's state after a server, e.g. nginx's closed connections, varies).
            shift = (round_number - 1) % len(servers)
            order = servers[shift:] + servers[:shift]
            if args.repeat > 1:
                print(f"\n######## round {round_number} of {args.repeat}: {', '.join(order)}")
            run_round(order, tools, root, work, args, lua, small, big, results)

    print_table(results, servers)
    print_goals(results)


def run_round(
    servers: list[str],
    tools: dict[str, str],
    root: Path,
    work: Path,
    args: argparse.Namespace,
    lua: Path,
    small: bytes,
    big: bytes,
    results: dict[str, dict[str, dict]],
) -> None:
    """Start, measure and stop each server in turn; the best figure per row is kept."""
    for name in servers:
        if name == "nginx":

            def command(port: int) -> tuple[list[str], dict[str, str]]:
                return nginx_command(tools["nginx"], root, work, port)

        else:

            def command(port: int, name: str = name) -> tuple[list[str], dict[str, str]]:
                return gunicorn_command(name, root, port)

        logs = [work / f"{name}.log"] + ([work / "nginx" / "error.log"] if name == "nginx" else [])
        measure(name, command, logs, args, tools["wrk"], lua, small, big, results)


if __name__ == "__main__":
    main()
