"""Django ``storage.open(name).read(64 KiB)`` of a large S3 object: genro-storage's
GenroStorage against django-storages' S3Storage, time and bytes fetched, in one run.

    .venv/bin/python bench/django_open.py [--size-mib 512] [--rounds 3]

django-storages downloads the whole object on the first read; GenroStorage reads ranges.
Bytes fetched are what the server sent in GetObject bodies (ContentLength of each answer,
counted on every client the storage uses). Needs ``pip install 'django-storages[s3]'``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import django
from django.conf import settings

READ = 64 * 1024


def counting(clients: list) -> tuple[list[int], Callable[[], None]]:
    """Record the ContentLength of every GetObject answer on ``clients``; returns the
    list and a function that stops recording."""
    fetched: list[int] = []

    def record(parsed=None, **_):
        if parsed:
            fetched.append(int(parsed.get("ContentLength") or 0))

    for client in clients:
        client.meta.events.register("after-call.s3.GetObject", record)

    def stop() -> None:
        for client in clients:
            client.meta.events.unregister("after-call.s3.GetObject", record)

    return fetched, stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from genro_storage.testing import local_s3

    with local_s3("bench-open") as s3:
        settings.configure(
            SECRET_KEY="bench-secret-key-bench-secret-key-bench-secret-key",
            USE_TZ=True,
            GENRO_STORAGE={"MOUNTS": [s3.mount("s3", "bench-open")]},
        )
        django.setup()
        from storages.backends.s3 import S3Storage

        from genro_storage_django import storage_manager
        from genro_storage_django.storage import GenroStorage

        size = args.size_mib * 2**20
        with storage_manager().node("s3:big.bin").open("wb") as out:
            block = bytes(range(256)) * 4096
            for _ in range(size // len(block)):
                out.write(block)
        genro = GenroStorage(mount="s3")
        anchor = S3Storage(
            bucket_name="bench-open", endpoint_url=s3.endpoint_url, access_key=s3.key, secret_key=s3.secret,
            region_name="us-east-1",
        )  # fmt: skip
        backend = storage_manager().get_backend("s3")
        clients = {
            "genro GenroStorage": (genro, [backend.fs.s3, backend.client]),
            "django-storages S3Storage": (anchor, [anchor.connection.meta.client]),
        }
        results: dict[str, list[tuple[float, int]]] = {label: [] for label in clients}
        for round_ in range(args.rounds):
            order = list(clients.items())
            if round_ % 2:
                order.reverse()
            for label, (storage, its_clients) in order:
                fetched, stop = counting(its_clients)
                started = time.perf_counter()
                with storage.open("big.bin") as f:
                    data = f.read(READ)
                elapsed = time.perf_counter() - started
                stop()
                assert data == (bytes(range(256)) * 256)[:READ], label
                results[label].append((elapsed, sum(fetched)))
    print(f"open + read 64 KiB of a {args.size_mib} MiB object, {args.rounds} rounds")
    print(f"{'method':28} {'median ms':>10} {'min-max ms':>16} {'bytes fetched':>15}")
    for label, values in results.items():
        times = [t * 1e3 for t, _ in values]
        print(
            f"{label:28} {statistics.median(times):10.1f} {min(times):7.1f}-{max(times):<8.1f} "
            f"{statistics.median(b for _, b in values):15,.0f}"
        )


if __name__ == "__main__":
    main()
