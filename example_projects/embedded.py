"""What the example Django site and Flask app share: their mounts and state directory.

Each example has two mounts: ``local``, a folder under its state directory, and ``s3``, a
bucket. With no configuration the bucket lives on moto's S3 server, started on 127.0.0.1
by ``run.py`` (:func:`embedded_s3`), so nothing leaves the machine. Configuration alone
switches it to a real service: ``GENRO_S3_BUCKET`` (and ``GENRO_S3_ENDPOINT`` for anything
but AWS, ``GENRO_S3_PREFIX``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_DEFAULT_REGION``). ``GENRO_EXAMPLES_STATE`` moves the state directory (database,
local files, secrets); :mod:`samples` makes the sample files.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
#: The bucket of the embedded S3 server.
EMBEDDED_BUCKET = "genro-examples"
#: Where the running launcher writes the embedded S3's variables for ``run.py manage``.
S3_ENV_FILE = "s3.env"

__all__ = ["state_dir", "persistent_secret", "s3_mount", "mounts", "embedded_s3", "read_env_file"]


def state_dir(app: str | None = None) -> Path:
    """The examples' state directory (``GENRO_EXAMPLES_STATE``, else ``.cache/examples``),
    or one app's folder in it; created when missing."""
    root = Path(os.environ.get("GENRO_EXAMPLES_STATE") or REPO / ".cache" / "examples")
    folder = root / app if app else root
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def persistent_secret(path: Path) -> str:
    """A random secret kept in ``path`` (readable by its owner only), made on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def s3_mount(name: str = "s3") -> dict[str, Any]:
    """The S3 mount the environment describes; ``GENRO_S3_BUCKET`` is required (``run.py``
    sets it to the embedded server's bucket when it is not given)."""
    bucket = os.environ.get("GENRO_S3_BUCKET")
    if not bucket:
        raise RuntimeError(
            "GENRO_S3_BUCKET is not set: start the examples with example_projects/run.py (it runs an S3 on "
            "127.0.0.1), or set GENRO_S3_BUCKET (and GENRO_S3_ENDPOINT, AWS_ACCESS_KEY_ID...) for a real one"
        )
    mount: dict[str, Any] = {"name": name, "type": "s3", "bucket": bucket}
    if os.environ.get("GENRO_S3_PREFIX"):
        mount["prefix"] = os.environ["GENRO_S3_PREFIX"]
    if os.environ.get("GENRO_S3_ENDPOINT"):
        mount["endpoint_url"] = os.environ["GENRO_S3_ENDPOINT"]
    # Without these, s3fs finds credentials as boto does (profile, instance role...).
    if os.environ.get("AWS_ACCESS_KEY_ID"):
        mount["key"] = os.environ["AWS_ACCESS_KEY_ID"]
    if os.environ.get("AWS_SECRET_ACCESS_KEY"):
        mount["secret"] = os.environ["AWS_SECRET_ACCESS_KEY"]
    return mount


def mounts(local_path: Path) -> list[dict[str, Any]]:
    """The two mounts of an example: ``local`` (a folder) and ``s3``."""
    local_path.mkdir(parents=True, exist_ok=True)
    return [{"name": "local", "type": "local", "path": str(local_path)}, s3_mount()]


@contextmanager
def embedded_s3(state: Path) -> Iterator[dict[str, str]]:
    """The environment the examples' S3 mount needs: ``{}`` when ``GENRO_S3_BUCKET`` names a
    real bucket; otherwise moto's S3 on 127.0.0.1, for as long as the block runs, with its
    variables set in ``os.environ`` (for the servers started inside) and written to
    ``state/s3.env`` (for ``run.py manage`` in another terminal).

    moto keeps objects in memory: they are copied to ``state/s3-snapshot`` at the end and
    back at the next start, so uploads and migrated files survive a restart."""
    if os.environ.get("GENRO_S3_BUCKET"):
        yield {}
        return
    from genro_storage import StorageManager
    from genro_storage.testing import local_s3

    env_file = state / S3_ENV_FILE
    snapshot = state / "s3-snapshot"
    with local_s3(EMBEDDED_BUCKET) as server:
        env = {
            "GENRO_S3_BUCKET": EMBEDDED_BUCKET,
            "GENRO_S3_ENDPOINT": server.endpoint_url,
            "AWS_ACCESS_KEY_ID": server.key,
            "AWS_SECRET_ACCESS_KEY": server.secret,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        os.environ.update(env)
        storage = StorageManager()
        snapshot.mkdir(parents=True, exist_ok=True)
        storage.configure([{"name": "snapshot", "type": "local", "path": str(snapshot)}, s3_mount()])
        storage.node("snapshot:").copy_to("s3:")
        env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
        try:
            yield env
        finally:
            env_file.unlink(missing_ok=True)
            _save_snapshot(storage)
            for key in env:
                os.environ.pop(key, None)


def _save_snapshot(storage: Any) -> None:
    """Make the snapshot folder hold what the bucket holds (the samples aside: remade each start)."""
    storage.node("s3:").copy_to("snapshot:", skip="size", exclude="/samples/")
    kept = {path for path, info in storage.node("s3:").walk_files() if info.get("type") != "directory"}
    for path, info in list(storage.node("snapshot:").walk_files()):
        if info.get("type") != "directory" and path not in kept:
            storage.node("snapshot", path).delete()


def read_env_file(state: Path) -> dict[str, str]:
    """The variables a running launcher wrote for its embedded S3 (``{}`` when none runs)."""
    path = state / S3_ENV_FILE
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
