"""Load and checks over HTTP for the serving benchmarks: one wrk run and its figures, one
GET and its exact bytes."""

from __future__ import annotations

import http.client
import re
import subprocess
from pathlib import Path

from _procs import HOST  # a module beside this one

#: wrk's units are binary.
UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def fetch(port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, bytes]:
    """``(status, body)`` of one GET on 127.0.0.1."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def to_mb(text: str) -> float:
    """wrk's transfer rate (``12.5MB``) in megabytes (10^6 bytes) per second."""
    match = re.fullmatch(r"([\d.]+)\s*([KMGT]?B)", text.strip())
    if not match:
        raise ValueError(f"unreadable wrk transfer rate {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)] / 1e6


def parse_wrk(output: str) -> dict:
    """wrk's figures: ``rps``, ``mbps``, ``requests``, ``non2xx`` and socket ``errors``."""
    rps = re.search(r"^Requests/sec:\s*([\d.]+)", output, re.M)
    transfer = re.search(r"^Transfer/sec:\s*(\S+)", output, re.M)
    if not rps or not transfer:
        raise ValueError("no Requests/sec or Transfer/sec in wrk's output:\n" + output)
    count = re.search(r"^\s*(\d+) requests in", output, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    errors = re.search(r"Socket errors:\s*(.+)", output)
    return {
        "rps": float(rps.group(1)),
        "mbps": to_mb(transfer.group(1)),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": errors.group(1).strip() if errors else "",
        "requests": int(count.group(1)) if count else 0,
    }


def run_wrk(
    wrk: str,
    port: int,
    path: str,
    lua: Path | None,
    duration: int,
    connections: int = 32,
    timeout: str = "30s",
) -> tuple[list[str], dict]:
    """One ``wrk -t4`` run (``lua``: a script setting the request's headers): the command
    and its figures (:func:`parse_wrk`)."""
    cmd = [wrk, "-t4", f"-c{connections}", f"-d{duration}s", "--timeout", timeout]
    if lua is not None:
        cmd += ["-s", str(lua)]
    cmd.append(f"http://{HOST}:{port}{path}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"wrk exited with {out.returncode}: {out.stderr.strip()}")
    return cmd, parse_wrk(out.stdout)
