"""A short tour of genro-storage: a local folder, a memory mount and an S3 bucket.

The S3 bucket lives on an in-process moto server on 127.0.0.1, so nothing leaves the
machine. Run it with ``scripts/demo.sh``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from genro_storage import StorageManager
from genro_storage.testing import local_s3


def main(root: Path) -> None:
    with local_s3("demo-bucket") as s3:
        storage = StorageManager()
        storage.configure(
            [
                {"name": "local", "type": "local", "path": str(root / "files")},
                {"name": "scratch", "type": "memory"},
                s3.mount("uploads", "demo-bucket", prefix="app/"),
            ]
        )
        print(f"mounts: {', '.join(storage.mounts)}  (S3 at {s3.endpoint_url})")

        report = storage.node("local:docs/report.txt")
        report.write("Quarterly report\n" * 100)
        print(f"wrote  {report.fullpath:<28} {report.size:>6} bytes, md5 {report.md5hash}")

        for dest in ("uploads:docs/report.txt", "scratch:copies/report.txt"):
            copy = report.copy_to(dest).dest
            print(f"copied {report.fullpath} -> {copy.fullpath:<28} {copy.size:>6} bytes, md5 {copy.md5hash}")

        photo = storage.node("scratch", "images", "logo.png")
        photo.write(b"\x89PNG\r\n\x1a\n" + bytes(1000), mode="wb")
        moved = photo.move_to("uploads:images/logo.png").dest
        print(f"moved  {photo.fullpath} -> {moved.fullpath} ({moved.mimetype}); source exists: {photo.exists}")

        for i in range(20):
            storage.node("local", "archive", f"{i // 5}", f"invoice-{i:03}.txt").write(f"invoice {i}\n" * 50)

        def show(p):
            print(f"\r  backup: {p.files_done}/{p.files_total} files, {p.bytes_done}/{p.bytes_total} bytes", end="")

        backup = storage.node("local:archive").copy_to("uploads:backup/archive", progress=show, workers=8)
        print(f"\n  {backup}")
        again = storage.node("local:archive").copy_to("uploads:backup/archive", skip="hash")
        print(f"  re-run with skip='hash': {again}")

        for mount in ("local", "scratch", "uploads"):
            files = []
            stack = [storage.node(mount, "")]
            while stack:
                for child in stack.pop().children():
                    (stack.append if child.isdir else files.append)(child)
            print(f"\n{mount}: {len(files)} files, {sum(f.size for f in files)} bytes")
            for child in sorted(files, key=lambda n: n.path)[:5]:
                print(f"  {child.path:<34} {child.size:>6} bytes")
            if len(files) > 5:
                print(f"  ... and {len(files) - 5} more")

        raw = storage.get_backend("uploads").fs.ls("demo-bucket/app", detail=False)
        print(f"\ndirect s3fs access, demo-bucket/app: {raw}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
