"""Compare this working tree's genro-storage with an earlier revision's on one of the benchmarks.

    .venv/bin/python bench/compare.py --base REV [--rounds N] BENCH [-- bench args]
    .venv/bin/python bench/compare.py --base 206077d --rounds 5 core_ops
    .venv/bin/python bench/compare.py --base 206077d --rounds 3 serve -- --duration 5
    .venv/bin/python bench/compare.py --base 206077d --rounds 3 transfer -- --quick --methods genro

Why: each benchmark compares genro-storage with its peers in one run, and its figures move a lot
between runs; whether a change made genro-storage itself slower needs both versions measured
alike, several times, alternately, on the same machine.

What: REV is checked out with ``git worktree add --detach`` in a temp dir (removed at the end).
BENCH (core_ops, serve or transfer) is always this tree's ``bench/BENCH.py``, so both sides run
the same benchmark code; only the genro_storage it imports differs: the worktree's (base, through
PYTHONPATH) or this tree's (current, the venv's editable install). The runs are interleaved,
base/current, current/base, ... (which side goes first alternates), N rounds of each.

Every run is checked for what it imported: a ``sitecustomize.py`` on PYTHONPATH (both sides)
makes each Python process, gunicorn workers and transfer's children included, log where it found
genro_storage; a run that imported the other side's copy, or none at all, stops the comparison.
Children run from a neutral directory: ``python -m`` and gunicorn put the working directory
ahead of PYTHONPATH, which would hand a base run the current tree from /work/main.

Printed per figure (the median of the runs' figures): base and current medians, current/base
(for times, lower is better, >1 is slower; for rates, higher is better, >1 is faster), each
side's min-max, and a verdict: "slower"/"faster" only when the two sides' min-max ranges do not
overlap, else "~" (within the noise); with no real change, that happens by chance with probability
2/C(2N, N) per figure: 10% for 3 rounds, 0.8% for 5, 0.06% for 7. Figures of the peers
(pathlib, nginx, ...) run the same code on both sides: they are printed as controls, and show how
far the machine alone drifts.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

REPO = Path(__file__).resolve().parent.parent
BENCHES = ("core_ops", "serve", "transfer")
LOG_VAR = "GS_COMPARE_IMPORT_LOG"

# Logs where this process finds genro_storage (its spec is returned as found: nothing else changes).
PROBE = f'''\
import os
import sys


class _GenroStorageProbe:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "genro_storage":
            return None
        spec = None
        for finder in sys.meta_path:
            if finder is not cls and hasattr(finder, "find_spec"):
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
        with open(os.environ["{LOG_VAR}"], "a") as log:
            log.write(f"{{os.getpid()}} {{spec.origin if spec else None}}\\n")
        return spec


if os.environ.get("{LOG_VAR}"):
    sys.meta_path.insert(0, _GenroStorageProbe)
'''


# --------------------------------------------------------------------------- figures
# Each parser returns (name, value, lower is better, a genro-storage figure) per figure.


def parse_core_ops(out: str) -> list[tuple[str, float, bool, bool]]:
    rows = re.findall(r"^(\S.*?)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+[\d.]+x\s+[\d.]+x$", out, re.M)
    figures = []
    for op, pathlib_us, _fsspec_us, genro_us in rows:
        figures += [(f"{op}: genro us", float(genro_us), True, True)]
        figures += [(f"{op}: pathlib us", float(pathlib_us), True, False)]
    return figures


def parse_serve(out: str) -> list[tuple[str, float, bool, bool]]:
    rows = re.findall(r"^(1MiB GET|64MiB GET|50KB Range)\s+(\S+)\s+([\d.]+)\s+([\d.]+)\s+(req/s|MB/s)\s", out, re.M)
    return [
        (f"{row} {server} {basis}", float(rps if basis == "req/s" else mbps), False, server == "genro")
        for row, server, rps, mbps, basis in rows
    ]


def parse_transfer(out: str) -> list[tuple[str, float, bool, bool]]:
    pattern = r"^(local->S3 large|S3->local large|local->S3 small)\s+(.+?)\s+([\d.]+)\s+(MB/s|files/s)\s+\S+\s+(\d+)"
    figures = []
    for scenario, method, rate, unit, rss in re.findall(pattern, out, re.M):
        genro = method.startswith("genro")
        figures += [(f"{scenario} {method} {unit}", float(rate), False, genro)]
        figures += [(f"{scenario} {method} peak RSS MiB", float(rss), True, genro)]
    return figures


PARSERS = {"core_ops": parse_core_ops, "serve": parse_serve, "transfer": parse_transfer}


# --------------------------------------------------------------------------- runs


def tree_digest() -> str:
    """A digest of this tree's genro_storage sources: others may be editing them during the runs."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "genro_storage").rglob("*.py")):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def run_once(bench: str, bench_args: list[str], side: str, pythonpath: str, expected: Path, work: Path) -> dict:
    log = work / f"imports-{side}.log"
    log.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=pythonpath, **{LOG_VAR: str(log)})
    cmd = [sys.executable, str(REPO / "bench" / f"{bench}.py"), *bench_args]
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, cwd=work / "cwd", capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        sys.exit(f"{side} run failed ({proc.returncode}): {' '.join(cmd)}\n" + "\n".join(output.splitlines()[-30:]))
    origins = [line.split(" ", 1) for line in log.read_text().splitlines()] if log.exists() else []
    wrong = {o for _pid, o in origins if o == "None" or not Path(o).resolve().is_relative_to(expected.resolve())}
    if not origins or wrong:
        sys.exit(f"{side} run imported genro_storage from {sorted(wrong) or 'nowhere'}, want {expected}")
    figures = PARSERS[bench](proc.stdout)
    if not any(genro for *_, genro in figures):
        sys.exit(f"{side} run: no genro-storage figures in the output of {' '.join(cmd)}\n{output[-3000:]}")
    sources = f", sources {tree_digest()}" if side == "current" else ""
    print(f"  {side:<7} {elapsed:6.1f}s, {len(figures)} figures, genro_storage from {expected} "
          f"({len({pid for pid, _o in origins})} processes{sources})", flush=True)  # fmt: skip
    return {name: (value, lower, genro) for name, value, lower, genro in figures}


def report(base_runs: list[dict], current_runs: list[dict]) -> None:
    names = list(dict.fromkeys(n for run in base_runs + current_runs for n in run))
    meta = {n: run[n][1:] for run in base_runs + current_runs for n in run}
    width = max(len(n) for n in names) + 2
    header = f"{'figure':<{width}}{'better':>7}{'base med':>11}{'cur med':>11}{'cur/base':>10}"
    header += f"{'base min-max':>21}{'cur min-max':>21}{'n':>6}  verdict"
    for genro in (True, False):
        if not any(meta[n][1] == genro for n in names):
            continue
        print("\n" + ("genro-storage figures" if genro else "controls (same code on both sides: the machine's drift)"))
        print(header + "\n" + "-" * len(header))
        for name in (n for n in names if meta[n][1] == genro):
            lower = meta[name][0]
            b = [run[name][0] for run in base_runs if name in run]
            c = [run[name][0] for run in current_runs if name in run]
            if not b or not c:
                print(f"{name:<{width}}{'missing on one side':>40}")
                continue
            verdict = "~"
            if min(len(b), len(c)) < 2:
                verdict = "-"  # one run a side: no spread to compare with
            elif min(c) > max(b):
                verdict = "slower" if lower else "faster"
            elif max(c) < min(b):
                verdict = "faster" if lower else "slower"
            print(
                f"{name:<{width}}{'lower' if lower else 'higher':>7}{median(b):>11.2f}{median(c):>11.2f}"
                f"{median(c) / median(b):>9.3f}x{f'{min(b):.2f}-{max(b):.2f}':>21}{f'{min(c):.2f}-{max(c):.2f}':>21}"
                f"{f'{len(b)}/{len(c)}':>6}  {verdict}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the revision to compare with (any git rev)")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each side (default 5)")
    parser.add_argument("bench", choices=BENCHES)
    parser.add_argument("bench_args", nargs=argparse.REMAINDER, help="after --: passed to bench/BENCH.py")
    args = parser.parse_args()
    bench_args = args.bench_args[1:] if args.bench_args[:1] == ["--"] else args.bench_args
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    work = Path(tempfile.mkdtemp(prefix="gs-compare-"))
    worktree = work / "base"
    try:
        (work / "cwd").mkdir()
        (work / "probe").mkdir()
        (work / "probe" / "sitecustomize.py").write_text(PROBE)
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree), args.base], check=True)
        rev = subprocess.run(["git", "-C", str(worktree), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()  # fmt: skip
        digest = tree_digest()
        print(f"base {args.base} ({rev}) in {worktree}; current: {REPO} (genro_storage sources {digest})")
        print(f"bench: bench/{args.bench}.py {' '.join(bench_args)}; {args.rounds} rounds, interleaved", flush=True)
        sides = {
            "base": (f"{worktree}{os.pathsep}{work / 'probe'}", worktree / "genro_storage"),
            "current": (str(work / "probe"), REPO / "genro_storage"),
        }
        runs: dict[str, list[dict]] = {"base": [], "current": []}
        for i in range(args.rounds):
            print(f"round {i + 1} of {args.rounds}", flush=True)
            for side in ("base", "current") if i % 2 == 0 else ("current", "base"):
                runs[side].append(run_once(args.bench, bench_args, side, *sides[side], work))
        report(runs["base"], runs["current"])
        if tree_digest() != digest:
            print(f"\nWARNING: {REPO / 'genro_storage'} changed during the runs ({digest} -> {tree_digest()})")
    finally:
        if worktree.exists():
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(worktree)], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
