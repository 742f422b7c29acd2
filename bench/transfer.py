"""Transfers between a local disk and S3: genro-storage's ``copy_to`` against boto3, s3fs and rclone, in one run.

One moto S3 server (``python -m moto.server``, its own process on a free port of 127.0.0.1,
bucket ``bench``) serves every method; it is stopped at the end. Three scenarios:

- ``local->S3 large``: one 512 MiB file uploaded (``--quick``: 64 MiB)
- ``S3->local large``: the same file downloaded (uploaded once beforehand, untimed)
- ``local->S3 small``: a folder of 2,000 files of 4 KiB uploaded (``--quick``: 200 files)

Methods:

- genro:     ``storage.node("local:big.bin").copy_to("s3:...")`` and back; the folder with ``workers=8``
- boto3:     ``upload_file`` / ``download_file`` with the default TransferConfig; the folder as a
             loop of ``put_object`` on a ThreadPoolExecutor of 8 threads
- s3fs:      ``fs.put`` / ``fs.get``; the folder with ``fs.put(dir, "bench/prefix/", recursive=True)``
- rclone:    ``rclone copyto`` for the file, ``rclone copy`` for the folder (default flags), with
             the remote ``moto:`` configured through RCLONE_CONFIG_MOTO_* environment variables
- plain GET: (S3->local only, a reference) one boto3 ``get_object`` whose Body is written to the
             file in ``iter_chunks`` of 1 MiB

Each method runs in its own child process (``bench/transfer.py --run-one METHOD ...``), which
times only the transfer (imports and client set-up are outside the timed part; for rclone the
timing covers the whole ``rclone`` process) and prints one JSON line. The parent reaps the child
with ``os.wait4`` and reports its ``ru_maxrss`` as the method's peak RSS (for rclone, that is
the rclone process, which the child waits for). Every method writes to a fresh S3 prefix, and the
local destination is deleted between runs. Results are checked outside the timed part: uploads
of the large file are read back and their MD5 compared with the source's; downloads are compared
by size and MD5; for the small files every object's size and ETag (the MD5 of a single-part
upload) must match its source. A method that fails or is wrong is marked FAILED. Uploaded
objects are deleted after each check so moto's memory stays flat. 1 MB = 10^6 bytes.

Run:

    .venv/bin/python bench/transfer.py                  # 512 MiB and 2,000 x 4 KiB
    .venv/bin/python bench/transfer.py --quick          # smoke run: 64 MiB and 200 x 4 KiB
    .venv/bin/python bench/transfer.py --repeat 3       # best of 3 runs per method
    .venv/bin/python bench/transfer.py --methods genro,boto3 --scenarios upload-large

Needs rclone (Debian: ``apt-get install rclone``) and the Python packages boto3, s3fs and
moto[server] (``.venv/bin/pip install boto3 s3fs 'moto[server]'``).

Goals for genro-storage: local->S3 large >= 0.95x boto3 ``upload_file``; S3->local large >=
0.9x the plain one-stream GET; peak RSS < 128 MiB for the large file in every genro mode; small
files >= 1.0x boto3 ``put_object`` with 8 threads.

Anchor figures from the issue (measured earlier on this machine, full sizes, moto on loopback):

- local->S3 512 MiB: boto3 upload_file 181 MB/s at 80 MiB RSS; s3fs 82 MB/s at 1,067 MiB RSS;
  rclone 82 MB/s
- S3->local 512 MiB: plain GET 753 MB/s; rclone 261; s3fs 101; boto3 download_file (default) 27
- local->S3 2,000 x 4 KiB: boto3 put_object 8 threads 308 files/s; rclone 214; s3fs 220;
  moto's ceiling about 455 files/s
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _procs import HOST, free_port, stop, wait_for_port  # a module beside this script

BUCKET = "bench"
KEY, SECRET = "testing", "testing"
MiB = 1024 * 1024
CHUNK = MiB
SMALL_FILE_SIZE = 4096
SMALL_WORKERS = 8
RSS_GOAL_MIB = 128
GENRO = "genro"

SCENARIOS = {  # name -> (label, unit, methods in run order)
    "upload-large": ("local->S3 large", "MB/s", ["genro", "boto3", "s3fs", "rclone"]),
    "download-large": ("S3->local large", "MB/s", ["genro", "boto3", "s3fs", "rclone", "plain-get"]),
    "upload-small": ("local->S3 small", "files/s", ["genro", "boto3", "s3fs", "rclone"]),
}
METHOD_LABELS = {
    ("upload-large", "genro"): "genro copy_to",
    ("upload-large", "boto3"): "boto3 upload_file",
    ("upload-large", "s3fs"): "s3fs put",
    ("upload-large", "rclone"): "rclone copyto",
    ("download-large", "genro"): "genro copy_to",
    ("download-large", "boto3"): "boto3 download_file",
    ("download-large", "s3fs"): "s3fs get",
    ("download-large", "rclone"): "rclone copyto",
    ("download-large", "plain-get"): "plain GET (1 stream)",
    ("upload-small", "genro"): f"genro copy_to w={SMALL_WORKERS}",
    ("upload-small", "boto3"): f"boto3 put_object x{SMALL_WORKERS}",
    ("upload-small", "s3fs"): "s3fs put recursive",
    ("upload-small", "rclone"): "rclone copy",
}
ALL_METHODS = ["genro", "boto3", "s3fs", "rclone", "plain-get"]
# The figures for the full sizes: (scenario, method) -> (rate, peak RSS MiB or None).
ANCHORS = {
    ("upload-large", "boto3"): (181, 80),
    ("upload-large", "s3fs"): (82, 1067),
    ("upload-large", "rclone"): (82, None),
    ("download-large", "plain-get"): (753, None),
    ("download-large", "rclone"): (261, None),
    ("download-large", "s3fs"): (101, None),
    ("download-large", "boto3"): (27, None),
    ("upload-small", "boto3"): (308, None),
    ("upload-small", "rclone"): (214, None),
    ("upload-small", "s3fs"): (220, None),
}


# --------------------------------------------------------------------------- the child: one method, one transfer


def split_s3(url: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    bucket, _, key = url[len("s3://") :].partition("/")
    return bucket, key


def boto3_client(endpoint: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
        config=Config(max_pool_connections=max(10, SMALL_WORKERS + 2)),
    )


def rclone_env(endpoint: str, config_file: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RCLONE_CONFIG_MOTO_TYPE="s3",
        RCLONE_CONFIG_MOTO_PROVIDER="Other",
        RCLONE_CONFIG_MOTO_ENDPOINT=endpoint,
        RCLONE_CONFIG_MOTO_ACCESS_KEY_ID=KEY,
        RCLONE_CONFIG_MOTO_SECRET_ACCESS_KEY=SECRET,
    )
    if config_file:
        env["RCLONE_CONFIG"] = config_file  # an empty file: no user configuration leaks in
    # rclone's AWS SDK fails on any AWS_CA_BUNDLE ("unsupported transport"); moto is plain http anyway.
    env.pop("AWS_CA_BUNDLE", None)
    return env


def prepare(method: str, scenario: str, endpoint: str, src: str, dst: str):
    """Set up clients for one method and return the transfer as a callable (the timed part)."""
    upload = scenario.startswith("upload")
    if method == "genro":
        from genro_storage import StorageManager

        if upload:
            local_root, local_name, (bucket, s3_key) = Path(src).parent, Path(src).name, split_s3(dst)
        else:
            local_root, local_name, (bucket, s3_key) = Path(dst).parent, Path(dst).name, split_s3(src)
        storage = StorageManager(
            [
                {"name": "local", "type": "local", "path": str(local_root)},
                {"name": "s3", "type": "s3", "bucket": bucket, "endpoint_url": endpoint, "key": KEY, "secret": SECRET},
            ]
        )
        # Warm the clients as the peers' are (created before their timed part): a
        # long-running application pays for this once, not per transfer.
        backend = storage.get_backend("s3")
        backend.fs.exists(bucket)
        _ = backend.client
        if scenario == "upload-large":
            return lambda: storage.node(f"local:{local_name}").copy_to(f"s3:{s3_key}")
        if scenario == "download-large":
            return lambda: storage.node(f"s3:{s3_key}").copy_to(f"local:{local_name}")
        return lambda: storage.node(f"local:{local_name}").copy_to(f"s3:{s3_key}", workers=SMALL_WORKERS)

    if method == "boto3":
        client = boto3_client(endpoint)
        if scenario == "upload-large":
            bucket, s3_key = split_s3(dst)
            return lambda: client.upload_file(src, bucket, s3_key)
        if scenario == "download-large":
            bucket, s3_key = split_s3(src)
            return lambda: client.download_file(bucket, s3_key, dst)
        from concurrent.futures import ThreadPoolExecutor

        bucket, prefix = split_s3(dst)
        names = sorted(os.listdir(src))

        def put(name: str) -> None:
            with open(os.path.join(src, name), "rb") as f:
                client.put_object(Bucket=bucket, Key=f"{prefix.rstrip('/')}/{name}", Body=f.read())

        def put_all() -> None:
            with ThreadPoolExecutor(SMALL_WORKERS) as pool:
                for _ in pool.map(put, names):
                    pass

        return put_all

    if method == "s3fs":
        import s3fs

        fs = s3fs.S3FileSystem(key=KEY, secret=SECRET, endpoint_url=endpoint)
        if scenario == "upload-large":
            return lambda: fs.put(src, dst[len("s3://") :])
        if scenario == "download-large":
            return lambda: fs.get(src[len("s3://") :], dst)
        return lambda: fs.put(src, dst[len("s3://") :].rstrip("/") + "/", recursive=True)

    if method == "plain-get":
        if scenario != "download-large":
            raise ValueError("plain-get is a download reference only")
        client = boto3_client(endpoint)
        bucket, s3_key = split_s3(src)

        def plain_get() -> None:
            body = client.get_object(Bucket=bucket, Key=s3_key)["Body"]
            with open(dst, "wb") as f:
                for chunk in body.iter_chunks(CHUNK):
                    f.write(chunk)

        return plain_get

    raise ValueError(f"unknown method {method!r}")


def rclone_args(scenario: str, src: str, dst: str) -> list[str]:
    def remote(url: str) -> str:
        bucket, key = split_s3(url)
        return f"moto:{bucket}/{key}"

    if scenario == "upload-large":
        return ["copyto", src, remote(dst)]
    if scenario == "download-large":
        return ["copyto", remote(src), dst]
    return ["copy", src, remote(dst).rstrip("/")]


def run_one(args: argparse.Namespace) -> None:
    """Child process: one transfer, timed; prints ``{"elapsed": s, ...}`` on stdout."""
    result: dict = {}
    if args.run_one == "rclone":
        cmd = ["rclone", *rclone_args(args.scenario, args.src, args.dst)]
        env = rclone_env(args.endpoint, args.rclone_config)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(cmd)} exited with {proc.returncode}")
        result["tool_maxrss_kib"] = usage.ru_maxrss
        result["command"] = " ".join(cmd)
    else:
        transfer = prepare(args.run_one, args.scenario, args.endpoint, args.src, args.dst)
        start = time.perf_counter()
        report = transfer()
        elapsed = time.perf_counter() - start
        if report is not None and hasattr(report, "ok"):  # genro's TransferReport
            if not report.ok:
                sys.exit(f"genro copy_to reported failures:\n{report}")
            result["report_bytes"] = report.bytes
            result["report_files"] = len(report.copied)
    result["elapsed"] = elapsed
    if args.run_one != "rclone":  # the wrapper's own figure says nothing about rclone's
        result["vmhwm_kib"] = vm_hwm_kib()
    print(json.dumps(result), flush=True)


def vm_hwm_kib() -> int | None:
    """This process's own peak RSS (VmHWM), a cross-check of the launcher's ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


# --------------------------------------------------------------------------- the parent: data, server, runs, checks


def check_prerequisites() -> None:
    missing = []
    if not shutil.which("rclone"):
        missing.append("  rclone: not found; install it with `apt-get install rclone` (Debian/Ubuntu)")
    for module, hint in (("boto3", "boto3"), ("s3fs", "s3fs"), ("moto", "'moto[server]'"), ("flask", "'moto[server]'")):
        if importlib.util.find_spec(module) is None:
            missing.append(f"  {module}: not importable; install it with `{sys.executable} -m pip install {hint}`")
    if importlib.util.find_spec("genro_storage") is None:
        missing.append(
            f"  genro_storage: not importable; install the project with `{sys.executable} -m pip install -e .`"
        )
    if missing:
        sys.exit("bench/transfer.py: missing prerequisites:\n" + "\n".join(missing))


def tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.splitlines()[-lines:])


def make_big(path: Path, size: int) -> str:
    md5 = hashlib.md5()
    with open(path, "wb") as f:
        for _ in range(size // CHUNK):
            chunk = os.urandom(CHUNK)
            md5.update(chunk)
            f.write(chunk)
    return md5.hexdigest()


def make_small(folder: Path, count: int) -> dict[str, str]:
    folder.mkdir()
    md5s = {}
    for i in range(count):
        data = os.urandom(SMALL_FILE_SIZE)
        name = f"f{i:05d}.bin"
        (folder / name).write_bytes(data)
        md5s[name] = hashlib.md5(data).hexdigest()
    return md5s


def file_md5(path: Path) -> str:
    md5 = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            md5.update(chunk)
    return md5.hexdigest()


def object_md5(client, key: str) -> str:
    md5 = hashlib.md5()
    for chunk in client.get_object(Bucket=BUCKET, Key=key)["Body"].iter_chunks(CHUNK):
        md5.update(chunk)
    return md5.hexdigest()


def list_objects(client, prefix: str) -> list[dict]:
    objects = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        objects.extend(page.get("Contents", []))
    return objects


def delete_prefix(client, prefix: str) -> None:
    keys = [{"Key": o["Key"]} for o in list_objects(client, prefix)]
    for i in range(0, len(keys), 1000):
        client.delete_objects(Bucket=BUCKET, Delete={"Objects": keys[i : i + 1000], "Quiet": True})


def spawn(cmd: list[str], timeout: float) -> tuple[int, str, str, int, bool]:
    """Run ``cmd``; return (exit code, stdout, stderr, peak RSS KiB of it and its reaped children, timed out)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            usage.ru_maxrss,
            timed_out.is_set(),
        )


def launcher() -> None:
    """Spawn children on request (one JSON line in, one out) from a small process.

    Linux's ru_maxrss of a child starts at the RSS of the process that forked it (exec records the
    old address space's high-water mark), so children are forked from this process, started while
    the parent was still small, rather than from the parent after it has loaded boto3."""
    for line in sys.stdin:
        request = json.loads(line)
        code, out, err, maxrss, timed_out = spawn(request["cmd"], request["timeout"])
        answer = {"code": code, "out": out, "err": err, "maxrss_kib": maxrss, "timed_out": timed_out}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


class Launcher:
    def __init__(self) -> None:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--launcher"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.rss_kib = 0

    def spawn(self, cmd: list[str], timeout: float) -> tuple[int, str, str, int, bool]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, "timeout": timeout}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the launcher process exited with {self.proc.wait()}")
        a = json.loads(line)
        return a["code"], a["out"], a["err"], a["maxrss_kib"], a["timed_out"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            stop(self.proc)


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path, endpoint: str, launcher: Launcher):
        self.args = args
        self.launcher = launcher
        self.work = work
        self.endpoint = endpoint
        self.client = boto3_client(endpoint)
        self.rclone_config = work / "rclone.conf"
        self.rclone_config.write_text("")
        self.big = work / "src" / "big.bin"
        self.small = work / "src" / "small"
        self.dst = work / "dst"
        self.big_md5 = ""
        self.small_md5s: dict[str, str] = {}
        self.src_key = "src/big.bin"
        self.serial = 0

    def setup(self) -> None:
        (self.work / "src").mkdir()
        scenarios = self.args.scenarios
        if {"upload-large", "download-large"} & set(scenarios):
            t = time.perf_counter()
            self.big_md5 = make_big(self.big, self.args.big_mib * MiB)
            print(f"source: {self.big} ({self.args.big_mib} MiB, md5 {self.big_md5}) in {time.perf_counter() - t:.1f}s")
        if "download-large" in scenarios:
            t = time.perf_counter()
            self.client.upload_file(str(self.big), BUCKET, self.src_key)
            print(f"source: s3://{BUCKET}/{self.src_key} uploaded (untimed) in {time.perf_counter() - t:.1f}s")
        if "upload-small" in scenarios:
            self.small_md5s = make_small(self.small, self.args.small_files)
            print(f"source: {self.small} ({self.args.small_files} files of {SMALL_FILE_SIZE} bytes)")

    # ----- one measurement

    def run(self, scenario: str, method: str) -> dict:
        self.serial += 1
        prefix = f"{scenario}/{method}-{self.serial}"
        if self.dst.exists():
            shutil.rmtree(self.dst)
        self.dst.mkdir()
        if scenario == "upload-large":
            src, dst = str(self.big), f"s3://{BUCKET}/{prefix}/big.bin"
        elif scenario == "download-large":
            src, dst = f"s3://{BUCKET}/{self.src_key}", str(self.dst / "big.bin")
        else:
            src, dst = str(self.small), f"s3://{BUCKET}/{prefix}/"
        cmd = [
            sys.executable, str(Path(__file__).resolve()), "--run-one", method, "--scenario", scenario,
            "--endpoint", self.endpoint, "--src", src, "--dst", dst, "--rclone-config", str(self.rclone_config),
        ]  # fmt: skip
        code, out, err, maxrss_kib, timed_out = self.launcher.spawn(cmd, self.args.timeout)
        row: dict = {"rss_mib": maxrss_kib / 1024}
        try:
            if timed_out:
                raise RuntimeError(f"killed after {self.args.timeout:.0f}s\n{tail(err)}")
            if code != 0:
                raise RuntimeError(f"child exited with {code}\n{tail(err)}")
            lines = [line for line in out.splitlines() if line.startswith("{")]
            if not lines:
                raise RuntimeError(f"no JSON result from the child\n{tail(out)}\n{tail(err)}")
            child = json.loads(lines[-1])
            row["elapsed"] = child["elapsed"]
            row["vmhwm_mib"] = (child.get("vmhwm_kib") or 0) / 1024
            if "tool_maxrss_kib" in child:
                row["rss_mib"] = child["tool_maxrss_kib"] / 1024
            row["bytes"], row["files"] = self.verify(
                scenario, prefix, Path(dst) if scenario == "download-large" else None
            )
        except Exception as exc:  # any failure marks the method FAILED, the run goes on
            row["error"] = f"{type(exc).__name__}: {exc}".strip()
        finally:
            try:
                if scenario != "download-large":
                    delete_prefix(self.client, prefix + "/")
            except Exception as exc:
                print(f"   (could not delete s3://{BUCKET}/{prefix}/: {exc})")
            shutil.rmtree(self.dst, ignore_errors=True)
        return row

    def verify(self, scenario: str, prefix: str, local: Path | None) -> tuple[int, int]:
        """Check the result (untimed); return (bytes, files) moved. Raises on any mismatch."""
        if scenario == "download-large":
            assert local is not None
            want = self.args.big_mib * MiB
            if not local.is_file():
                raise RuntimeError(f"{local} was not written")
            size = local.stat().st_size
            if size != want:
                raise RuntimeError(f"{local}: {size} bytes, want {want}")
            got = file_md5(local)
            if got != self.big_md5:
                raise RuntimeError(f"{local}: md5 {got}, want {self.big_md5}")
            return size, 1
        objects = list_objects(self.client, prefix + "/")
        if scenario == "upload-large":
            want = self.args.big_mib * MiB
            if len(objects) != 1 or not objects[0]["Key"].endswith("big.bin"):
                raise RuntimeError(f"want one object big.bin under {prefix}/, found {[o['Key'] for o in objects]}")
            if objects[0]["Size"] != want:
                raise RuntimeError(f"{objects[0]['Key']}: {objects[0]['Size']} bytes, want {want}")
            got = object_md5(self.client, objects[0]["Key"])
            if got != self.big_md5:
                raise RuntimeError(f"{objects[0]['Key']}: md5 {got}, want {self.big_md5}")
            return want, 1
        found = {o["Key"].rsplit("/", 1)[-1]: o for o in objects}
        if len(objects) != len(self.small_md5s) or set(found) != set(self.small_md5s):
            raise RuntimeError(f"{len(objects)} objects under {prefix}/, want the {len(self.small_md5s)} source files")
        bad = [
            name
            for name, md5 in self.small_md5s.items()
            if found[name]["Size"] != SMALL_FILE_SIZE or found[name]["ETag"].strip('"') != md5
        ]
        if bad:
            raise RuntimeError(f"{len(bad)} objects differ from their source, e.g. {found[bad[0]]['Key']}")
        return SMALL_FILE_SIZE * len(found), len(found)


def rate(scenario: str, row: dict) -> float | None:
    if "error" in row or not row.get("elapsed"):
        return None
    if SCENARIOS[scenario][1] == "files/s":
        return row["files"] / row["elapsed"]
    return row["bytes"] / row["elapsed"] / 1e6


def best_of(rows: list[dict], scenario: str) -> dict:
    """The fastest of repeated runs, with the highest peak RSS seen; FAILED if any run failed."""
    failed = [r for r in rows if "error" in r]
    if failed:
        return failed[0]
    best = max(rows, key=lambda r: rate(scenario, r) or 0.0)
    return dict(best, rss_mib=max(r["rss_mib"] for r in rows))


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def print_table(results: dict[str, dict[str, dict]], args: argparse.Namespace) -> None:
    full = args.big_mib == 512 and args.small_files == 2000
    print()
    header = f"{'scenario':<16} {'method':<22} {'rate':>9} {'unit':<7} {'vs best peer':>12} {'peak RSS MiB':>12}"
    header += f" {'issue anchor':>14}" if full else ""
    header += "  notes"
    print(header)
    print("-" * len(header))
    for scenario in args.scenarios:
        label, unit, _methods = SCENARIOS[scenario]
        rows = results.get(scenario, {})
        peers = {m: rate(scenario, r) for m, r in rows.items() if m != GENRO and rate(scenario, r)}
        best_peer = max(peers, key=peers.__getitem__) if peers else None
        for method, row in rows.items():
            name = METHOD_LABELS[(scenario, method)]
            r = rate(scenario, row)
            anchor = ""
            if full:
                a = ANCHORS.get((scenario, method))
                anchor = f" {(f'{a[0]}' + (f' @{a[1]} MiB' if a[1] else '')) if a else '-':>14}"
            if r is None:
                first_line = row["error"].splitlines()[0] if row["error"] else "failed"
                print(
                    f"{label:<16} {name:<22} {'FAILED':>9} {unit:<7} {'-':>12} {row['rss_mib']:>12.0f}{anchor}"
                    f"  {first_line}"
                )
                continue
            note = "best peer" if method == best_peer else ""
            print(
                f"{label:<16} {name:<22} {r:>9.1f} {unit:<7} {ratio(r, peers.get(best_peer)):>12} "
                f"{row['rss_mib']:>12.0f}{anchor}  {note}".rstrip()
            )
        print()
    print("vs best peer: rate / the fastest method other than genro in the same scenario (the plain GET counts).")
    print("peak RSS: ru_maxrss of the method's own process (for rclone, the rclone process).")


def print_goals(results: dict[str, dict[str, dict]]) -> None:
    def figure(scenario: str, method: str) -> float | None:
        row = results.get(scenario, {}).get(method)
        return rate(scenario, row) if row else None

    print("\nGoals for genro-storage:")
    for scenario, peer, minimum in (
        ("upload-large", "boto3", 0.95),
        ("download-large", "plain-get", 0.9),
        ("upload-small", "boto3", 1.0),
    ):
        label, unit, _ = SCENARIOS[scenario]
        g, p = figure(scenario, GENRO), figure(scenario, peer)
        peer_name = METHOD_LABELS[(scenario, peer)]
        if not g or not p:
            print(f"  {label:<16} ({unit}) vs {peer_name}: n/a (want >= {minimum:.2f}x)")
            continue
        verdict = "ok" if g / p >= minimum else "MISSED"
        print(f"  {label:<16} ({unit}) {g / p:.2f}x {peer_name} ({g:.1f} vs {p:.1f}; want >= {minimum:.2f}x) {verdict}")
    for scenario in ("upload-large", "download-large"):
        label = SCENARIOS[scenario][0]
        row = results.get(scenario, {}).get(GENRO)
        if not row or "error" in row:
            print(f"  {label:<16} peak RSS: n/a (want < {RSS_GOAL_MIB} MiB)")
            continue
        verdict = "ok" if row["rss_mib"] < RSS_GOAL_MIB else "MISSED"
        print(f"  {label:<16} peak RSS {row['rss_mib']:.0f} MiB (want < {RSS_GOAL_MIB} MiB) {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 64 MiB and 200 small files")
    parser.add_argument("--big-mib", type=int, default=None, help="size of the large file in MiB (default 512)")
    parser.add_argument("--small-files", type=int, default=None, help="number of 4 KiB files (default 2000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per method; the fastest is kept (default 1)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds before a method is killed (default 900)")
    parser.add_argument(
        "--methods", default=",".join(ALL_METHODS), help="comma-separated subset of " + ",".join(ALL_METHODS)
    )
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help="comma-separated subset of " + ",".join(SCENARIOS)
    )
    # The child side (internal): one transfer in its own process.
    parser.add_argument("--run-one", choices=ALL_METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--scenario", choices=list(SCENARIOS), help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--src", help=argparse.SUPPRESS)
    parser.add_argument("--dst", help=argparse.SUPPRESS)
    parser.add_argument("--rclone-config", help=argparse.SUPPRESS)
    parser.add_argument("--launcher", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        run_one(args)
        return
    if args.launcher:
        launcher()
        return

    args.big_mib = args.big_mib or (64 if args.quick else 512)
    args.small_files = args.small_files or (200 if args.quick else 2000)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = (set(methods) - set(ALL_METHODS)) | (set(args.scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown methods or scenarios: {', '.join(sorted(unknown))}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    check_prerequisites()

    launcher_proc = Launcher()  # before this process grows: see launcher()
    results: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory(prefix="gs-transfer-bench-") as tmp:
        work = Path(tmp)
        port = free_port()
        endpoint = f"http://{HOST}:{port}"
        moto_log = work / "moto.log"
        moto_cmd = [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)]
        print(f"moto: $ {' '.join(moto_cmd)}")
        with open(moto_log, "wb") as log:
            moto = subprocess.Popen(moto_cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            wait_for_port(port, moto, name="moto")
            bench = Bench(args, work, endpoint, launcher_proc)
            bench.client.create_bucket(Bucket=BUCKET)
            bench.setup()
            for scenario in args.scenarios:
                label, unit, scenario_methods = SCENARIOS[scenario]
                what = f"{args.big_mib} MiB" if scenario != "upload-small" else f"{args.small_files} x 4 KiB"
                print(f"\n== {label} ({what})")
                # Rounds interleave the methods (genro, boto3, ..., genro, boto3, ...), so a
                # drift of the shared machine or of moto's growing store hits all alike.
                chosen = [m for m in scenario_methods if m in methods]
                runs: dict[str, list] = {m: [] for m in chosen}
                for _ in range(args.repeat):
                    for method in chosen:
                        if runs[method] and "error" in runs[method][-1]:
                            continue
                        row = bench.run(scenario, method)
                        runs[method].append(row)
                        r = rate(scenario, row)
                        shown = f"{r:.1f} {unit} in {row['elapsed']:.2f}s, verified" if r else "FAILED"
                        own = f" (child's own VmHWM {row['vmhwm_mib']:.0f})" if row.get("vmhwm_mib") else ""
                        name = METHOD_LABELS[(scenario, method)]
                        print(f"   {name:<22} {shown}, peak RSS {row['rss_mib']:.0f} MiB{own}")
                        if "error" in row:
                            print("     " + row["error"].replace("\n", "\n     "))
                for method in chosen:
                    results.setdefault(scenario, {})[method] = best_of(runs[method], scenario)
        except Exception:
            if moto_log.exists():
                print("moto log (tail):\n" + tail(moto_log.read_text(errors="replace")))
            raise
        finally:
            launcher_proc.close()
            stop(moto)

    print_table(results, args)
    print_goals(results)


if __name__ == "__main__":
    main()
