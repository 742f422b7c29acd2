"""What the browser tests share: starting and stopping an example, reading what its server saw.

Each example runs through ``example_projects/run.py`` (gunicorn, and moto's S3 in the
launcher's process) on a free port of 127.0.0.1, with a fresh state directory and the
sample files cached in ``.cache/examples/samples`` (the video is made once). Gunicorn's
access log records the Range each request asked and the Content-Range answered: what the
server saw, which the tests assert on. Screenshots go to ``test-output/browser/``
(``GENRO_TEST_OUTPUT`` moves it).
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "example_projects" / "run.py"
OUTPUT = Path(os.environ.get("GENRO_TEST_OUTPUT") or REPO / "test-output") / "browser"
#: Seconds an example has to answer: a first run makes the sample video before it starts.
START_TIMEOUT = 240
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
#: One line of the access log (run.py's ACCESS_LOG_FORMAT).
LOG_LINE = re.compile(
    r'"(?P<method>\S+) (?P<target>\S+) [^"]*" (?P<status>\d{3}) \S+ range="(?P<range>[^"]*)" '
    r'content-range="(?P<content_range>[^"]*)"'
)


@dataclass(frozen=True)
class Hit:
    """A request the server logged."""

    method: str
    target: str
    status: int
    range: str
    content_range: str

    @property
    def first_byte(self) -> int | None:
        """The first byte a 206 answered (``bytes 17000000-17861345/17861346``), or None."""
        found = re.match(r"bytes (\d+)-\d+/", self.content_range)
        return int(found.group(1)) if found else None


@dataclass(frozen=True)
class Example:
    """A running example: its base URL and what it keeps on disk."""

    url: str
    state: Path
    access_log: Path
    output: Path

    def hits(self) -> list[Hit]:
        hits = []
        for line in self.access_log.read_text().splitlines():
            found = LOG_LINE.search(line)
            if found:
                hits.append(Hit(**{**found.groupdict(), "status": int(found["status"])}))
        return hits

    def env(self) -> dict[str, str]:
        """The environment ``run.py manage`` needs for this example's state."""
        return {**clean_env(), "GENRO_EXAMPLES_STATE": str(self.state)}


def clean_env() -> dict[str, str]:
    """This environment without anything naming a real S3: the examples' embedded default."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GENRO_S3_", "AWS_"))}
    env["GENRO_EXAMPLES_CACHE"] = str(REPO / ".cache" / "examples" / "samples")
    return env


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(port: int, process: subprocess.Popen, output: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the example exited with status {process.returncode}:\n{output.read_text()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/")
            status = connection.getresponse().status
            connection.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the example did not answer within {START_TIMEOUT} s:\n{output.read_text()}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to run.py (it stops gunicorn and its S3), then its process group if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start(name: str, state: Path) -> tuple[Example, subprocess.Popen]:
    """Start example ``name`` on a free port with its state in ``state``; wait until it answers."""
    port = free_port()
    output = state / "run.log"
    example = Example(f"http://127.0.0.1:{port}", state, state / "access.log", output)
    with output.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(RUN), name, "--port", str(port), "--access-log", str(example.access_log)],
            env={**clean_env(), "GENRO_EXAMPLES_STATE": str(state)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: the teardown can reach gunicorn too
        )
    try:
        wait_ready(port, process, output)
    except BaseException:
        stop(process)
        raise
    return example, process


def content_length(url: str) -> int:
    """The Content-Length a HEAD of ``url`` answers."""
    request = urllib.request.Request(url, method="HEAD")
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.headers["Content-Length"])


def run_manage(example: Example, *args: str) -> subprocess.CompletedProcess:
    """``run.py manage ARGS`` beside the running Django example (its S3, its state)."""
    return subprocess.run(
        [sys.executable, str(RUN), "manage", *args], env=example.env(), capture_output=True, text=True, timeout=120
    )
