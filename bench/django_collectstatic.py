"""A second ``collectstatic`` with nothing changed, into S3: genro-storage's
GenroStaticStorage against django-storages' S3Storage and collectfasta, in one run.

    .venv/bin/python bench/django_collectstatic.py [--files 500] [--folders 10]

Each storage collects the same files into its own prefix of one moto bucket, untimed;
then a second run is timed, with the S3 requests every client of that storage sent
counted by operation. Goal (the Django storage issue): fewer requests than either anchor,
no upload. GenroStaticStorage's second run uses a new storage, as a new process would (its
listing is not kept from the first run); collectfasta keeps the hashes it saw in Django's
cache (the default local memory cache here, as in one process): a warm cache for it.
Needs ``pip install 'django-storages[s3]' collectfasta``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import django
from django.conf import settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--folders", type=int, default=10)
    args = parser.parse_args()
    from genro_storage.testing import local_s3

    sources = Path(tempfile.mkdtemp())
    for index in range(args.files):
        path = sources / f"folder{index % args.folders}" / f"asset{index}.css"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f".rule{index} {{ color: #{index % 4096:03x} }}\n" * 20)

    with local_s3("bench-static") as s3:
        creds = {"endpoint_url": s3.endpoint_url, "access_key": s3.key, "secret_key": s3.secret}
        settings.configure(
            SECRET_KEY="bench-secret-key-bench-secret-key-bench-secret-key",
            USE_TZ=True,
            INSTALLED_APPS=["django.contrib.staticfiles"],
            STATIC_URL="/static/",
            STATICFILES_DIRS=[str(sources)],
            GENRO_STORAGE={"MOUNTS": [s3.mount("assets", "bench-static", prefix="genro")]},
            COLLECTFASTA_STRATEGY="collectfasta.strategies.boto3.Boto3Strategy",
            AWS_S3_ENDPOINT_URL=s3.endpoint_url,
            AWS_ACCESS_KEY_ID=s3.key,
            AWS_SECRET_ACCESS_KEY=s3.secret,
            AWS_STORAGE_BUCKET_NAME="bench-static",
            AWS_S3_REGION_NAME="us-east-1",
        )
        django.setup()
        from collectfasta.management.commands.collectstatic import Command as FastCollect
        from django.contrib.staticfiles.management.commands.collectstatic import Command as Collect
        from django.contrib.staticfiles.storage import staticfiles_storage
        from storages.backends.s3 import S3Storage

        from genro_storage_django import storage_manager
        from genro_storage_django.staticfiles import GenroStaticStorage

        genro = GenroStaticStorage(mount="assets")
        backend = storage_manager().get_backend("assets")
        plain = S3Storage(bucket_name="bench-static", location="plain", region_name="us-east-1", **creds)
        fast = S3Storage(bucket_name="bench-static", location="fast", region_name="us-east-1", **creds)
        runs = {
            # A fresh storage for the second run: its listing is not kept from the first.
            "genro GenroStaticStorage": (genro, Collect, [backend.fs.s3, backend.client]),
            "django-storages S3Storage": (plain, Collect, [plain.connection.meta.client]),
            "collectfasta + S3Storage": (fast, FastCollect, [fast.connection.meta.client]),
        }
        rows = []
        for label, (storage, command, clients) in runs.items():
            staticfiles_storage._wrapped = storage
            command().run_from_argv(["manage.py", "collectstatic", "--noinput", "-v0"])  # the first run
            if isinstance(storage, GenroStaticStorage):
                staticfiles_storage._wrapped = GenroStaticStorage(mount="assets")  # a new process, in effect
            seen: Counter = Counter()

            def record(model, seen=seen, **_):
                seen[model.name] += 1

            for client in clients:
                client.meta.events.register("before-call.s3", record)
            started = time.perf_counter()
            command().run_from_argv(["manage.py", "collectstatic", "--noinput", "-v0"])
            elapsed = time.perf_counter() - started
            for client in clients:
                client.meta.events.unregister("before-call.s3", record)
            uploads = seen["PutObject"] + seen["CreateMultipartUpload"] + seen["CopyObject"]
            rows.append((label, elapsed, sum(seen.values()), uploads, dict(seen)))
    print(f"second collectstatic of {args.files} files in {args.folders} folders, nothing changed")
    print(f"{'method':28} {'seconds':>8} {'requests':>9} {'uploads':>8}  by operation")
    for label, elapsed, total, uploads, by_op in rows:
        print(f"{label:28} {elapsed:8.2f} {total:9d} {uploads:8d}  {by_op}")
    ours = rows[0][2]
    others = min(row[2] for row in rows[1:])
    verdict = "ok" if ours < others and rows[0][3] == 0 else ("tie" if ours == others else "MISSED")
    print(f"goal fewer requests than either anchor, 0 uploads: {verdict}")


if __name__ == "__main__":
    main()
