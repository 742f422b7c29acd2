"""Django ``storage.url()`` per call: genro-storage's GenroStorage against django-storages'
S3Storage on the same moto bucket, and local signed URLs, in one run.

    .venv/bin/python bench/django_urls.py [--calls N] [--rounds R]

Goals (the Django storage issue): local signed <= 20 µs, S3 presigned <= 100 µs and faster
than django-storages' ``S3Storage.url()`` measured beside it. Each figure is the median of
R rounds of N calls, the rounds interleaved between the methods; the spread is printed.
Needs ``pip install 'django-storages[s3]'`` (the anchor).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import django
from django.conf import settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    from genro_storage.testing import local_s3

    with local_s3("bench-urls") as s3:
        settings.configure(
            SECRET_KEY="bench-secret-key-bench-secret-key-bench-secret-key",
            USE_TZ=True,
            GENRO_STORAGE={
                "MOUNTS": [
                    s3.mount("s3", "bench-urls", prefix="media"),
                    {"name": "disk", "type": "local", "path": tempfile.mkdtemp()},
                ]
            },
        )
        django.setup()
        from storages.backends.s3 import S3Storage

        from genro_storage_django.storage import GenroStorage

        methods = {
            "genro S3 (presigned)": GenroStorage(mount="s3").url,
            "django-storages S3Storage": S3Storage(
                bucket_name="bench-urls",
                location="media",
                endpoint_url=s3.endpoint_url,
                access_key=s3.key,
                secret_key=s3.secret,
                region_name="us-east-1",
                querystring_expire=3600,
            ).url,
            "genro local (signed)": GenroStorage(mount="disk").url,
        }
        names = [f"photos/2026/img_{i:05d}.jpg" for i in range(args.calls)]
        for url in methods.values():
            url(names[0])  # set-up outside the timing (clients, the URL's shape)
        times: dict[str, list[float]] = {label: [] for label in methods}
        for round_ in range(args.rounds):
            order = list(methods.items())
            if round_ % 2:
                order.reverse()
            for label, url in order:
                started = time.perf_counter()
                for name in names:
                    url(name)
                times[label].append((time.perf_counter() - started) / len(names) * 1e6)
    anchor = statistics.median(times["django-storages S3Storage"])
    print(f"{'method':30} {'median µs':>10} {'min-max µs':>16} {'vs django-storages':>19}")
    for label, values in times.items():
        med = statistics.median(values)
        print(f"{label:30} {med:10.1f} {min(values):7.1f}-{max(values):<8.1f} {med / anchor:18.2f}x")
    s3_genro = statistics.median(times["genro S3 (presigned)"])
    local = statistics.median(times["genro local (signed)"])
    print(f"goal S3 <= 100 µs and < django-storages: {'ok' if s3_genro <= 100 and s3_genro < anchor else 'MISSED'}")
    print(f"goal local <= 20 µs: {'ok' if local <= 20 else 'MISSED'}")


if __name__ == "__main__":
    main()
