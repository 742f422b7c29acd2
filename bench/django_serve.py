"""Django file serving: the genro-storage serve view against static.serve and WhiteNoise, in one run.

Eight servers run the same minimal Django site (bench/serve_apps/django_settings.py, no other
middleware, DEBUG off), each on its own free port of 127.0.0.1, every one answering
``/files/bench/<name>``:

- gunicorn ``-k gthread -w 2 --threads 8 --reuse-port`` (WSGI) with
  - genro: ``genro_storage_django.wsgi.get_wsgi_application()`` in wsgi.py (the README's set-up
    for serving through Django: the files answered in front of Django's handler) plus
    ``path("files/", include("genro_storage_django.urls"))``, SecurityMiddleware in MIDDLEWARE
    (its headers go on every file), a local mount in ``PUBLIC_MOUNTS``
  - genro mw: ``ServeMiddleware`` first in MIDDLEWARE and Django's own WSGI handler
  - genro view: the serve view alone (every request through Django's URL resolution)
  - static.serve: ``django.views.static.serve`` (a ``FileResponse``)
  - whitenoise: ``WhiteNoiseMiddleware`` over ``STATIC_ROOT``
  - memory: an anchor, a view answering from the files' bytes read into memory at start-up
    (what Django and gunicorn cost per request without any file)
- uvicorn ``--workers 2`` (ASGI, Django's ASGI handler) with genro (``ServeMiddleware``),
  static.serve and memory.

``--reuse-port`` gives each gunicorn worker a listening socket of its own, so the kernel
spreads wrk's connections over both; on one shared socket, one worker often accepted all 32
connections of wrk's burst and the row halved (each run prints the share of the CPU time its
busier worker took; the table notes rounds where one worker did more than 90%).

Rows, each a wrk run (``wrk -t4``, 32 connections; 8 for the 64 MiB downloads):

- WSGI: a GET of a 1 MiB file, and a 51,000 byte ``Range: bytes=1000-51999`` of a 64 MiB file.
  static.serve has no Range support: it answers 200 with the whole 64 MiB file, and its figure
  is reported as such (req/s of whole-file answers).
- ASGI: a GET of the 1 MiB file and a GET of the 64 MiB file, with each server's peak RSS
  during the 64 MiB downloads: VmHWM of its busier worker from /proc (the peak is reset
  through ``/proc/<pid>/clear_refs`` before the run), and its growth over the worker's RSS
  before the run. Django's FileResponse under ASGI reads the whole file before its first byte.

Every server is checked first: a GET of each file (200, exact bytes) and the Range (206,
exact bytes; for static.serve: 200 and the whole file). One that fails is reported and its
rows are skipped. Then the rounds are interleaved: in each round every row is run on each of
its servers in turn, the order shifting by one server per round, so no server always runs
first or after the same neighbour. The table gives the median over the rounds, the spread
(min-max) and genro's ratio to each other server (on req/s; on MB/s for the 64 MiB row, where
wrk counts a request only once its whole body arrived). Servers stay up for the whole run
and are all stopped at the end. The load average is printed at the start and the end: the
figures move with whatever else the machine runs.

Goals (for genro, the WSGI entry; genro mw's and genro view's ratios are printed beside
them): under gunicorn, genro >= 1.0x the better of static.serve and WhiteNoise on the 1 MiB
GET, and >= 1.5x WhiteNoise on the 50 KB Range; under uvicorn, a 64 MiB download holds well
under 1 MiB in genro's worker (growth of the peak RSS per concurrent download).

Run (18 wrk runs per round plus ~20 s to start and check the servers):

    .venv/bin/python bench/django_serve.py                        # 3 rounds of 5 s per wrk run
    .venv/bin/python bench/django_serve.py --duration 10 --rounds 5
    .venv/bin/python bench/django_serve.py --quick                # smoke run: 1 round of 1 s

Needs wrk (Debian: ``apt-get install wrk``) and the Python packages whitenoise
(``.venv/bin/pip install whitenoise``), gunicorn and uvicorn (the project's dev extras), on
Linux (/proc).
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from _procs import HOST, cpu_ticks, free_port, stop, tail, wait_for_port  # modules beside this script
from _wrk import fetch, run_wrk

HERE = Path(__file__).resolve().parent
APPS_DIR = HERE / "serve_apps"

SMALL, BIG = "small.bin", "big.bin"
SMALL_SIZE, BIG_SIZE = 1024 * 1024, 64 * 1024 * 1024
RANGE_START, RANGE_END = 1000, 51999  # inclusive: 51,000 bytes (~50 KB)
RANGE_HEADER = f"bytes={RANGE_START}-{RANGE_END}"
URL = "/files/bench/"

GENRO, GENRO_MW, GENRO_VIEW = "genro", "genro mw", "genro view"
STATIC, WHITENOISE, MEMORY = "static.serve", "whitenoise", "memory"
GUNICORN_OPTS = ["-k", "gthread", "-w", "2", "--threads", "8", "--reuse-port", "--log-level", "warning"]
UVICORN_OPTS = ["--workers", "2", "--log-level", "warning", "--no-access-log"]
BASIS_NAMES = {"rps": "req/s", "mbps": "MB/s"}
#: A run where the busier worker took more than this share of the CPU ran on one worker.
LOPSIDED = 0.9
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """One Django app under one server; ``ranges``: whether it answers a Range with 206."""

    name: str
    handler: str  # "WSGI" (gunicorn) or "ASGI" (uvicorn)
    app: str  # BENCH_DJANGO_APP
    ranges: bool
    port: int = 0
    proc: subprocess.Popen | None = None
    log: Path | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.handler} {self.name}"

    def command(self) -> list[str]:
        if self.handler == "WSGI":
            server = ["-m", "gunicorn", *GUNICORN_OPTS, "-b", f"{HOST}:{self.port}", "django_wsgi:application"]
        else:
            server = ["-m", "uvicorn", *UVICORN_OPTS, "--host", HOST, "--port", str(self.port)]
            server.append("django_asgi:application")
        return [sys.executable, *server]


@dataclass(frozen=True)
class Row:
    handler: str
    label: str
    file: str
    ranged: bool
    basis: str  # the figure the ratios compare: "rps" or "mbps"
    connections: int
    rss: bool = False  # measure the workers' peak RSS during the run


SERVERS = [
    Server(GENRO, "WSGI", "genro-wsgi", ranges=True),
    Server(GENRO_MW, "WSGI", "genro", ranges=True),
    Server(GENRO_VIEW, "WSGI", "genro-view", ranges=True),
    Server(STATIC, "WSGI", "static", ranges=False),
    Server(WHITENOISE, "WSGI", "whitenoise", ranges=True),
    Server(MEMORY, "WSGI", "memory", ranges=True),
    Server(GENRO, "ASGI", "genro", ranges=True),
    Server(STATIC, "ASGI", "static", ranges=False),
    Server(MEMORY, "ASGI", "memory", ranges=True),
]
ROWS = [
    Row("WSGI", "1MiB GET", SMALL, False, "rps", 32),
    Row("WSGI", "50KB Range", BIG, True, "rps", 32),
    Row("ASGI", "1MiB GET", SMALL, False, "rps", 32),
    Row("ASGI", "64MiB GET", BIG, False, "mbps", 8, rss=True),
]
#: (handler, row, the peers whose best median genro is compared with, minimum ratio)
GOALS = [
    ("WSGI", "1MiB GET", (STATIC, WHITENOISE), 1.0),
    ("WSGI", "50KB Range", (WHITENOISE,), 1.5),
]


# --------------------------------------------------------------------------- prerequisites


def check_prerequisites() -> str:
    missing = []
    wrk = shutil.which("wrk") or ("/usr/bin/wrk" if os.access("/usr/bin/wrk", os.X_OK) else None)
    if wrk is None:
        missing.append("  wrk: not found; install it with `apt-get install wrk` (Debian/Ubuntu)")
    for module in ("django", "whitenoise", "gunicorn", "uvicorn"):
        if importlib.util.find_spec(module) is None:
            missing.append(f"  {module}: not importable; install it with `{sys.executable} -m pip install {module}`")
    if missing:
        sys.exit("bench/django_serve.py: missing prerequisites:\n" + "\n".join(missing))
    return wrk


# --------------------------------------------------------------------------- processes


def start(server: Server, root: Path, work: Path) -> None:
    server.port = free_port()
    server.log = work / f"{server.handler}-{server.app}.log"
    env = dict(os.environ, BENCH_ROOT=str(root), BENCH_DJANGO_APP=server.app, DJANGO_SETTINGS_MODULE="django_settings")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(APPS_DIR), env.get("PYTHONPATH")]))
    with open(server.log, "wb") as out:
        server.proc = subprocess.Popen(
            server.command(), cwd=APPS_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def workers(server: Server) -> list[int]:
    """The pids of the server's worker processes (children of gunicorn's master or of
    uvicorn's supervisor; not multiprocessing's resource tracker)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == server.proc.pid and b"resource_tracker" not in cmdline:
            found.append(int(entry))
    return found


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/{pid}/status")


def reset_peaks(pids: list[int]) -> dict[int, int]:
    """Reset each process's VmHWM to its current RSS; return those RSS figures (KiB)."""
    before = {}
    for pid in pids:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        before[pid] = status_kib(pid, "VmRSS")
    return before


# --------------------------------------------------------------------------- checks and load


def verify(server: Server, small: bytes, big: bytes) -> list[str]:
    """Problems with the server's answers (empty when each file and the Range come back exact)."""
    problems = []
    for name, data in ((SMALL, small), (BIG, big)):
        status, body = fetch(server.port, URL + name)
        if status != 200 or body != data:
            problems.append(f"GET {name}: status {status}, {len(body)} bytes (want 200, {len(data)} exact bytes)")
    status, body = fetch(server.port, URL + BIG, {"Range": RANGE_HEADER})
    want_status, want = (206, big[RANGE_START : RANGE_END + 1]) if server.ranges else (200, big)
    if status != want_status or body != want:
        problems.append(
            f"Range {RANGE_HEADER}: status {status}, {len(body)} bytes (want {want_status}, {len(want)} exact bytes)"
        )
    return problems


def measure(server: Server, row: Row, wrk: str, lua: Path, duration: int) -> dict:
    """One wrk run of ``row`` on ``server``: wrk's figures, the share of the CPU time its
    busier worker took (near 100%: one worker served every connection, on one core), and
    the workers' peak RSS when the row asks."""
    pids = workers(server)
    before = reset_peaks(pids) if row.rss else {}
    cpu_before = {pid: cpu_ticks(pid) for pid in pids}
    _, result = run_wrk(wrk, server.port, URL + row.file, lua if row.ranged else None, duration, row.connections)
    used = [cpu_ticks(pid) - cpu_before[pid] for pid in pids]
    result["busy_share"] = max(used) / sum(used) if sum(used) else 0.0
    # CPU time of the server per answer: far less moved by other work on the machine than req/s.
    result["cpu_us"] = sum(used) / TICKS * 1e6 / result["requests"] if result["requests"] else 0.0
    if row.rss:
        peaks = {pid: status_kib(pid, "VmHWM") for pid in pids}
        busiest = max(peaks, key=lambda pid: peaks[pid] - before[pid])
        result["peak_kib"] = peaks[busiest]
        result["growth_kib"] = peaks[busiest] - before[busiest]
    return result


# --------------------------------------------------------------------------- report


def spread(values: list[float], fmt: str) -> str:
    return f"{min(values):{fmt}}-{max(values):{fmt}}"


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def print_table(results: dict[tuple[str, str, str], list[dict]]) -> None:
    header = (
        f"{'handler':<7} {'row':<11} {'server':<13} {'req/s':>8} {'req/s min-max':>15} {'MB/s':>8} "
        f"{'MB/s min-max':>15} {'genro vs':>9} {'CPU us/req':>11} {'peak RSS':>9} {'growth':>8}  notes"
    )
    print()
    print(header)
    print("-" * len(header))
    for row in ROWS:
        genro = results.get((row.handler, row.label, GENRO))
        for server in (s for s in SERVERS if s.handler == row.handler):
            runs = results.get((row.handler, row.label, server.name))
            if not runs:
                print(
                    f"{row.handler:<7} {row.label:<11} {server.name:<13} {'skipped':>8}  {'; '.join(server.problems)}"
                )
                continue
            rps, mbps = [r["rps"] for r in runs], [r["mbps"] for r in runs]
            versus = "-"
            if genro and server.name != GENRO:
                versus = f"{median_of(genro, row.basis) / median_of(runs, row.basis):.2f}x"
            peak = growth = "-"
            if row.rss and "peak_kib" in runs[0]:
                peak = f"{median_of(runs, 'peak_kib') / 1024:.0f} MiB"
                growth = f"{median_of(runs, 'growth_kib') / 1024:.1f} MiB"
            notes = []
            if server.name == MEMORY:
                notes.append("anchor: bytes from memory, no file")
            if row.ranged and not server.ranges:
                notes.append("no Range: 200 with the whole 64 MiB file")
            lopsided = sum(r["busy_share"] > LOPSIDED for r in runs)
            if lopsided:
                notes.append(f"one worker did >{LOPSIDED:.0%} of the work in {lopsided} of {len(runs)} rounds")
            non2xx = sum(r["non2xx"] for r in runs)
            if non2xx:
                notes.append(f"{non2xx} non-2xx/3xx")
            errors = [r["errors"] for r in runs if r["errors"]]
            if errors:
                notes.append(f"socket errors: {errors[0]}")
            print(
                f"{row.handler:<7} {row.label:<11} {server.name:<13} {statistics.median(rps):>8.1f} "
                f"{spread(rps, '.0f'):>15} {statistics.median(mbps):>8.1f} {spread(mbps, '.0f'):>15} "
                f"{versus:>9} {median_of(runs, 'cpu_us'):>11.0f} {peak:>9} {growth:>8}  {'; '.join(notes)}".rstrip()
            )
        print()
    print("genro vs: genro's median over the peer's (MB/s for the 64MiB row, req/s otherwise).")
    print("CPU us/req: CPU time of the server's workers per answer (median), in microseconds.")
    print("peak RSS: VmHWM of the busier worker during the 64 MiB run; growth: over its RSS before the run.")


def print_goals(results: dict[tuple[str, str, str], list[dict]]) -> None:
    print("\nGoals for genro-storage:")
    for handler, label, peers, minimum in GOALS:
        genro = results.get((handler, label, GENRO))
        runs = {p: results.get((handler, label, p)) for p in peers}
        if not genro or not all(runs.values()):
            print(f"  {handler} {label}: n/a (a server was skipped)")
            continue
        best = max(peers, key=lambda p: median_of(runs[p], "rps"))
        got = median_of(genro, "rps") / median_of(runs[best], "rps")
        by_round = [{r["round"]: r["rps"] for r in found} for found in (genro, *runs.values())]
        rounds = sorted(set.intersection(*(set(d) for d in by_round)))
        per_round = [by_round[0][n] / max(d[n] for d in by_round[1:]) for n in rounds]
        verdict = "ok" if got >= minimum else "MISSED"
        against = f"the better of {' and '.join(peers)} ({best})" if len(peers) > 1 else best
        rounds_note = f"  (per round {spread(per_round, '.2f')})" if per_round else ""
        print(f"  {handler} {label:<11} {got:.2f}x {against} on req/s, want >= {minimum:.1f}x: {verdict}{rounds_note}")
        for other in (GENRO_MW, GENRO_VIEW):
            found = results.get((handler, label, other))
            if found:
                print(
                    f"  {'':<16} {other} (Django's own handler): "
                    f"{median_of(found, 'rps') / median_of(runs[best], 'rps'):.2f}x {best}"
                )
        memory = results.get((handler, label, MEMORY))
        if memory:
            anchor, peer = median_of(memory, "rps"), median_of(runs[best], "rps")
            print(
                f"  {'':<16} the memory anchor (no file at all) is {anchor / peer:.2f}x {best} here; "
                f"genro is {median_of(genro, 'rps') / anchor:.2f}x the anchor"
            )
    genro = results.get(("ASGI", "64MiB GET", GENRO))
    row = next(r for r in ROWS if r.rss)
    if genro and "growth_kib" in genro[0]:
        per_download = median_of(genro, "growth_kib") / row.connections / 1024
        verdict = "ok" if per_download < 1 else "MISSED"
        print(
            f"  ASGI 64MiB GET  {per_download:.2f} MiB of peak RSS growth per concurrent download "
            f"({row.connections} at once), want well under 1 MiB: {verdict}"
        )


# --------------------------------------------------------------------------- main


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=positive, default=5, help="seconds per wrk run (default 5)")
    parser.add_argument("--rounds", type=positive, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round of 1 s per wrk run")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.rounds = 1, 1

    wrk = check_prerequisites()
    results: dict[tuple[str, str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="gs-django-serve-bench-") as tmp:
        work = Path(tmp)
        root = work / "data"
        root.mkdir()
        small, big = os.urandom(SMALL_SIZE), os.urandom(BIG_SIZE)
        (root / SMALL).write_bytes(small)
        (root / BIG).write_bytes(big)
        lua = work / "range.lua"
        lua.write_text(f'wrk.headers["Range"] = "{RANGE_HEADER}"\n')
        print(
            f"files in {root}: {SMALL} ({SMALL_SIZE} bytes), {BIG} ({BIG_SIZE} bytes); "
            f"{args.rounds} rounds, wrk {args.duration}s per run; load average {load()}"
        )
        try:
            for server in SERVERS:
                start(server, root, work)
            for server in SERVERS:
                prepare(server, wrk, small, big)
            live = [s for s in SERVERS if not s.problems]
            for number in range(args.rounds):
                print(f"\n######## round {number + 1} of {args.rounds}")
                run_round(number, live, wrk, lua, args.duration, results)
        finally:
            for server in SERVERS:
                if server.proc is not None:
                    stop(server.proc)
    print_table(results)
    print_goals(results)
    print(
        f"\nload average at the end: {load()} (on {os.cpu_count()} CPUs; other work on the machine moves the figures)"
    )


def prepare(server: Server, wrk: str, small: bytes, big: bytes) -> None:
    """Wait for ``server``, check its answers and warm it up (or record why it cannot run)."""
    print(f"\n== {server.label} on {HOST}:{server.port}\n   $ {' '.join(server.command())}")
    try:
        wait_for_port(server.port, server.proc, timeout=30.0, name=server.label)
        server.problems = verify(server, small, big)
    except (RuntimeError, OSError, http.client.HTTPException) as exc:
        server.problems = [f"{type(exc).__name__}: {exc}"]
    if server.problems:
        print(f"   {server.label} FAILED the correctness check, its rows are skipped:")
        for problem in server.problems:
            print(f"     - {problem}")
        print(tail(server.log))
        return
    ranged = "51,000 byte Range 206 exact" if server.ranges else "Range answered 200 with the whole file (no Range)"
    print(f"   correctness check passed (1 MiB and 64 MiB GET 200 exact; {ranged})")
    # Unmeasured: workers boot after the port opens, and keep-alive connections would all
    # stay on the first worker ready. A steady-state server is what the rows compare.
    try:
        run_wrk(wrk, server.port, URL + SMALL, None, 1)
    except (RuntimeError, ValueError, subprocess.TimeoutExpired):
        pass


def run_round(
    number: int, live: list[Server], wrk: str, lua: Path, duration: int, results: dict[tuple[str, str, str], list[dict]]
) -> None:
    """Each row on each of its servers, the order shifted by ``number``."""
    for row in ROWS:
        servers = [s for s in live if s.handler == row.handler]
        shift = number % len(servers) if servers else 0
        for server in servers[shift:] + servers[:shift]:
            try:
                r = measure(server, row, wrk, lua, duration)
            except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as exc:
                print(f"   {row.handler} {row.label} {server.name}: failed: {exc}")
                continue
            r["round"] = number
            results.setdefault((row.handler, row.label, server.name), []).append(r)
            extra = f", {r['cpu_us']:.0f} us CPU/req, busier worker {r['busy_share']:.0%} of the CPU"
            if "peak_kib" in r:
                extra += f", peak RSS {r['peak_kib'] / 1024:.0f} MiB (+{r['growth_kib'] / 1024:.1f})"
            extra += f", {r['non2xx']} non-2xx/3xx" if r["non2xx"] else ""
            extra += f", socket errors: {r['errors']}" if r["errors"] else ""
            print(
                f"   {row.handler} {row.label:<11} {server.name:<13} "
                f"{r['rps']:>9.1f} req/s {r['mbps']:>8.1f} MB/s{extra}"
            )


if __name__ == "__main__":
    main()
