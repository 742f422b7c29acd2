"""Shared fixtures: a moto S3 server on 127.0.0.1 for the session, and managers whose
mounts cover every backend of the contract suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from emulators import azurite, gcs_emulator
from helpers import BACKENDS, BUCKET, mount_config, server_for

from genro_storage import StorageManager
from genro_storage.testing import LocalS3, local_s3


@pytest.fixture(scope="session")
def s3_server() -> Iterator[LocalS3]:
    with local_s3(BUCKET) as s3:
        yield s3


@pytest.fixture(scope="session")
def gcs_options() -> Iterator[dict]:
    with gcs_emulator(BUCKET) as options:
        yield options


@pytest.fixture(scope="session")
def azure_options(tmp_path_factory) -> Iterator[dict]:
    with azurite(tmp_path_factory.mktemp("azurite"), BUCKET) as options:
        yield options


@pytest.fixture(params=BACKENDS)
def backend_kind(request) -> str:
    return request.param


@pytest.fixture
def storage(backend_kind: str, tmp_path: Path, request) -> StorageManager:
    """A manager with one empty mount, ``m``, of the parametrised backend."""
    manager = StorageManager()
    manager.configure([mount_config(backend_kind, "m", tmp_path, server_for(backend_kind, request))])
    return manager


@pytest.fixture
def all_mounts(tmp_path: Path, request) -> StorageManager:
    """A manager with one empty mount of each backend, named after it."""
    manager = StorageManager()
    manager.configure([mount_config(kind, kind, tmp_path, server_for(kind, request)) for kind in BACKENDS])
    return manager
