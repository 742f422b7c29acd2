"""Core operations on local files: pathlib vs fsspec's LocalFileSystem vs a genro-storage
local mount, in one run. Prints microseconds per operation and the ratio to pathlib.

    .venv/bin/python bench/core_ops.py [--quick]

Goals (issue 3): a 1 MiB read within 1.05x of pathlib; small-file operations within 1.5x.
Each figure is the best of several repeats of a timed loop (timeit's advice: the minimum is
the least disturbed by the rest of the machine).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import timeit
from pathlib import Path

from fsspec.implementations.local import LocalFileSystem

from genro_storage import StorageManager

SIZES = {"1KiB": 1024, "1MiB": 1024 * 1024}
LIST_FILES = 1000


def best_us(fn, number: int, repeat: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def file_ops(fs: LocalFileSystem, storage: StorageManager, spath: str, spec: str, data: bytes) -> dict:
    """The same four operations on one file, through pathlib, fsspec and genro-storage."""
    return {
        "read": (
            lambda: Path(spath).read_bytes(),
            lambda: fs.cat_file(spath),
            lambda: storage.node(spec).read_bytes(),
        ),
        "write": (
            lambda: Path(spath).write_bytes(data),
            lambda: fs.pipe_file(spath, data),
            lambda: storage.node(spec).write_bytes(data),
        ),
        "exists": (
            lambda: Path(spath).exists(),
            lambda: fs.exists(spath),
            lambda: storage.node(spec).exists,
        ),
        "size": (
            lambda: Path(spath).stat().st_size,
            lambda: fs.size(spath),
            lambda: storage.node(spec).size,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    args = parser.parse_args()
    repeat = 3 if args.quick else 7

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fs = LocalFileSystem()
        storage = StorageManager([{"name": "bench", "type": "local", "path": str(root)}])
        rows: list[tuple[str, float, float, float]] = []

        for label, size in SIZES.items():
            data = os.urandom(size)
            name = f"file-{label}.bin"
            path = root / name
            path.write_bytes(data)
            spath = str(path)
            number = 2000 if size < 65536 else 200
            ops = file_ops(fs, storage, spath, f"bench:{name}", data)
            for op, (p, f, g) in ops.items():
                n = number * 5 if op in ("exists", "size") else number
                rows.append((f"{op} {label}", best_us(p, n, repeat), best_us(f, n, repeat), best_us(g, n, repeat)))

        listing = root / "listing"
        listing.mkdir()
        for i in range(LIST_FILES):
            (listing / f"f{i:04d}.txt").write_bytes(b"x")
        slisting = str(listing)
        rows.append(
            (
                f"list {LIST_FILES} files",
                best_us(lambda: list(Path(slisting).iterdir()), 50, repeat),
                best_us(lambda: fs.ls(slisting, detail=False), 50, repeat),
                best_us(lambda: storage.node("bench:listing").children(), 50, repeat),
            )
        )

    print(f"{'operation':<20}{'pathlib us':>12}{'fsspec us':>12}{'genro us':>12}{'fsspec/pl':>11}{'genro/pl':>10}")
    for op, p, f, g in rows:
        print(f"{op:<20}{p:>12.2f}{f:>12.2f}{g:>12.2f}{f / p:>10.2f}x{g / p:>9.2f}x")


if __name__ == "__main__":
    main()
