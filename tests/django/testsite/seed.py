"""Memory mounts live in the server's process: ``GENRO_TEST_SEED`` (JSON ``{"mount:path":
"local file"}``) copies files into them when the server starts."""

import json
import os


def seed() -> None:
    spec = os.environ.get("GENRO_TEST_SEED")
    if not spec:
        return
    from genro_storage_django import storage_manager

    for target, source in json.loads(spec).items():
        with open(source, "rb") as data, storage_manager().node(target).open("wb") as out:
            while chunk := data.read(1 << 20):
                out.write(chunk)
