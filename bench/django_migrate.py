"""``manage.py storage_migrate`` of 10,000 small files local -> S3, against the core transfer
engine alone (``node.copy_to`` of the same folder), in one run.

    .venv/bin/python bench/django_migrate.py [--files 10000] [--size 4096] [--rounds 3] [--workers 8]

One moto S3 server (``python -m moto.server``, its own process on a free port of 127.0.0.1)
serves both methods; one local folder holds the files. Each measurement runs in its own
child process, on a fresh S3 prefix:

- engine:  ``storage.node("src:docs").copy_to(storage.node("s3:docs"), workers=N)``
- migrate: ``call_command("storage_migrate", "testapp.Document.file", "--to", "s3",
           "--workers", N)`` on an SQLite database of one row per file (tests/django/testapp's
           Document, a MountFileField on the local mount), created before the timed part

Rounds interleave the methods (engine, migrate, migrate, engine, ...), so a drift of the
shared machine or of moto's growing store hits both alike. Each child times only the copy
(imports, Django set-up and the rows are outside it) and reports its RSS before the timed
part and its peak (VmHWM) after: the growth is what the copy itself held. After each run,
untimed, every object of the prefix is checked against its source (count, size and MD5 from
one listing) and, for migrate, every row must name its copy; then the prefix is deleted so
moto's memory stays flat. A method that fails or is wrong is marked FAILED.

Goal (the Django serving and commands issue): migrate files/s >= 0.8x the engine's on the
same files, with a flat memory (peak RSS growth of the same order as the engine's).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _procs import HOST, free_port, stop, wait_for_port  # a module beside this script

HERE = Path(__file__).resolve().parent
BUCKET = "bench-migrate"
KEY, SECRET = "testing", "testing"
GOAL = 0.8
METHODS = ("engine", "migrate")


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _mounts(src: str, endpoint: str, prefix: str) -> list[dict]:
    s3 = {"type": "s3", "bucket": BUCKET, "prefix": prefix, "endpoint_url": endpoint, "key": KEY, "secret": SECRET}
    return [{"name": "a", "type": "local", "path": src}, {"name": "s3", **s3}]


def warm_up(storage) -> None:
    """Build the S3 clients (s3fs's for listings, boto3's for uploads) before the timed part:
    their botocore models are a fixed cost, not what the copy holds."""
    clients = (storage.node("s3:docs").exists, storage.get_backend("s3").client)
    assert clients[1] is not None, "boto3 is needed"


def run_one(args: argparse.Namespace) -> None:
    """The child: one copy, timed; prints one JSON line."""
    mounts = _mounts(args.src, args.endpoint, args.prefix)
    if args.run_one == "engine":
        from genro_storage import StorageManager

        storage = StorageManager()
        storage.configure(mounts)
        warm_up(storage)
        before = _rss_kib("VmRSS")
        started = time.perf_counter()
        report = storage.node("a:docs").copy_to(storage.node("s3:docs"), workers=args.workers)
        elapsed = time.perf_counter() - started
        files = len(report.copied)
    else:
        import django
        from django.conf import settings

        sys.path.insert(0, str(HERE.parent / "tests" / "django"))  # testapp
        settings.configure(
            SECRET_KEY="bench-secret-key-bench-secret-key-bench-secret-key",
            INSTALLED_APPS=["genro_storage_django", "testapp"],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": args.db}},
            DEFAULT_AUTO_FIELD="django.db.models.AutoField",
            GENRO_STORAGE={"MOUNTS": mounts, "DEFAULT_MOUNT": "a"},
        )
        django.setup()
        from django.core.management import call_command
        from testapp.models import Document

        call_command("migrate", run_syncdb=True, verbosity=0)
        names = sorted(os.listdir(Path(args.src) / "docs"))
        Document.objects.bulk_create([Document(file=f"a:docs/{name}") for name in names], batch_size=2000)
        from genro_storage_django import storage_manager

        warm_up(storage_manager())
        before = _rss_kib("VmRSS")
        started = time.perf_counter()
        call_command("storage_migrate", "testapp.Document.file", "--to", "s3", "--workers", str(args.workers))
        elapsed = time.perf_counter() - started
        rows = list(Document.objects.values_list("file", flat=True))
        if sorted(rows) != [f"s3:docs/{name}" for name in names]:
            raise SystemExit("rows do not all name their copies")
        files = len(rows)
    print(json.dumps({"files": files, "elapsed": elapsed, "rss_before_kib": before, "hwm_kib": _rss_kib("VmHWM")}))


def make_files(root: Path, count: int, size: int) -> dict[str, str]:
    """``count`` files of ``size`` random bytes in ``root/docs``: name -> MD5."""
    folder = root / "docs"
    folder.mkdir(parents=True)
    digests = {}
    for index in range(count):
        data = os.urandom(size)
        name = f"file{index:05d}.bin"
        (folder / name).write_bytes(data)
        digests[name] = hashlib.md5(data).hexdigest()
    return digests


def check_and_clear(client, prefix: str, digests: dict[str, str]) -> str | None:
    """Every object under ``prefix`` against its source (one listing); then delete them."""
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/"):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = obj["ETag"].strip('"')
    expected = {f"{prefix}/docs/{name}": md5 for name, md5 in digests.items()}
    keys = list(found)
    for start in range(0, len(keys), 1000):
        chunk = [{"Key": key} for key in keys[start : start + 1000]]
        client.delete_objects(Bucket=BUCKET, Delete={"Objects": chunk})
    if found != expected:
        wrong = sum(found.get(key) != md5 for key, md5 in expected.items())
        return f"{len(found)} objects, {wrong} missing or different of {len(expected)}"
    return None


def measure(method: str, args: argparse.Namespace, src: Path, endpoint: str, prefix: str, db: Path) -> dict:
    command = [sys.executable, __file__, "--run-one", method, "--src", str(src), "--endpoint", endpoint]
    command += ["--prefix", prefix, "--db", str(db), "--workers", str(args.workers)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE)
    out, err = proc.communicate(timeout=args.timeout)
    if proc.returncode != 0:
        return {"error": (err or out).strip().splitlines()[-1] if (err or out).strip() else f"exit {proc.returncode}"}
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--size", type=int, default=4096, help="bytes per file (default 4096)")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per method, interleaved (default 3)")
    parser.add_argument("--workers", type=int, default=8, help="threads copying, for both methods (default 8)")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--run-one", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--src", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        run_one(args)
        return

    from genro_storage.testing import LocalS3

    runs: dict[str, list[dict]] = {method: [] for method in METHODS}
    with tempfile.TemporaryDirectory(prefix="gs-migrate-bench-") as tmp:
        work = Path(tmp)
        digests = make_files(work / "src", args.files, args.size)
        port = free_port()
        endpoint = f"http://{HOST}:{port}"
        moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, moto, name="moto")
            client = LocalS3(endpoint, KEY, SECRET).client()
            client.create_bucket(Bucket=BUCKET)
            print(f"{args.files} files of {args.size} bytes, local -> S3 (moto on {endpoint}), workers {args.workers}")
            for round_index in range(args.rounds):
                order = METHODS if round_index % 2 == 0 else METHODS[::-1]
                for method in order:
                    prefix = f"r{round_index}-{method}"
                    row = measure(method, args, work / "src", endpoint, prefix, work / f"{prefix}.sqlite3")
                    if "error" not in row:
                        wrong = check_and_clear(client, prefix, digests)
                        if wrong:
                            row = {"error": f"wrong copies: {wrong}"}
                    runs[method].append(row)
                    if "error" in row:
                        print(f"  round {round_index + 1} {method:8} FAILED: {row['error']}")
                        continue
                    growth = (row["hwm_kib"] - row["rss_before_kib"]) / 1024
                    rate = row["files"] / row["elapsed"]
                    print(f"  round {round_index + 1} {method:8} {rate:7.0f} files/s in {row['elapsed']:6.2f}s, "
                          f"peak RSS growth {growth:5.1f} MiB")  # fmt: skip
        finally:
            stop(moto)
    print_table(runs)


def print_table(runs: dict[str, list[dict]]) -> None:
    good = {method: [row for row in rows if "error" not in row] for method, rows in runs.items()}
    if not all(good.values()):
        print("goal: MISSED (a method failed)")
        return
    rates = {method: [row["files"] / row["elapsed"] for row in rows] for method, rows in good.items()}
    growth = {m: max((r["hwm_kib"] - r["rss_before_kib"]) / 1024 for r in rows) for m, rows in good.items()}
    base = statistics.median(rates["engine"])
    print(f"\n{'method':34} {'files/s median':>14} {'min..max':>13} {'spread':>7} {'ratio':>6} {'RSS growth':>11}")
    labels = {"engine": "engine: node.copy_to(folder)", "migrate": "manage.py storage_migrate"}
    for method in METHODS:
        values = rates[method]
        median = statistics.median(values)
        spread = (max(values) - min(values)) / median * 100
        print(
            f"{labels[method]:34} {median:14.0f} {min(values):6.0f}..{max(values):<6.0f} {spread:6.0f}% "
            f"{median / base:5.2f}x {growth[method]:8.1f} MiB"
        )
    pairs = [m / e for m, e in zip(rates["migrate"], rates["engine"], strict=False)]
    ratio = statistics.median(rates["migrate"]) / base
    print(f"per-round ratios migrate/engine: {', '.join(f'{p:.2f}' for p in pairs)}")
    print(f"goal migrate >= {GOAL}x the engine: {'ok' if ratio >= GOAL else 'MISSED'} ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
