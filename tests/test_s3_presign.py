"""Presigned S3 URLs computed locally: the same bytes as botocore's SigV4 URL for the same
clock, credentials and key; stable within a window; signed for a public endpoint."""

from __future__ import annotations

import datetime as dt
import time
import urllib.request

import pytest
from botocore.config import Config

from genro_storage import StorageManager
from genro_storage.backends.s3presign import Presigner

KEYS = ["a.txt", "dir/sub/file name.pdf", "ünï cødé/ü+b=c&d.txt", "~tilde/!*()'@$.bin", "a%20b", "trailing/"]


@pytest.fixture
def s3_mount(s3_server):
    return StorageManager([s3_server.mount("s", "contract", prefix="presign")])


@pytest.mark.parametrize("token", [None, "session-token/with+odd=chars"])
@pytest.mark.parametrize("key", KEYS)
def test_the_url_is_botocores_byte_for_byte(s3_server, monkeypatch, key, token):
    import boto3
    import botocore.auth

    session = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="s3cr3t", aws_session_token=token
    )
    client = session.client(
        "s3", endpoint_url=s3_server.endpoint_url, region_name="eu-west-3", config=Config(signature_version="s3v4")
    )
    frozen = dt.datetime(2026, 12, 1, 21, 30, 17)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: frozen)
    theirs = client.generate_presigned_url("get_object", Params={"Bucket": "contract", "Key": key}, ExpiresIn=900)
    ours = Presigner(client, "contract").url(key, 900, now=frozen.replace(tzinfo=dt.timezone.utc).timestamp(), window=1)
    assert ours == theirs


def test_node_url_is_presigned_locally_and_works(s3_mount):
    node = s3_mount.node("s:docs/report ü.txt")
    node.write_bytes(b"presigned")
    url = node.url(expires_in=600)
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"presigned"


def test_a_url_stays_the_same_within_its_window(s3_mount):
    presigner = s3_mount.get_backend("s").presigner
    start = 1_800_000_000  # a window boundary for 300 s windows
    first = presigner.url("a.txt", 3600, now=start + 10)
    assert presigner.url("a.txt", 3600, now=start + 290) == first  # same window, same URL
    assert presigner.url("a.txt", 3600, now=start + 310) != first
    assert "X-Amz-Expires=3899" in first  # valid at least an hour from any moment of the window


def test_a_url_longer_than_s3_allows_is_refused_and_a_week_is_a_week(s3_mount):
    presigner = s3_mount.get_backend("s").presigner
    with pytest.raises(ValueError, match="7 days"):
        s3_mount.node("s:a.txt").url(expires_in=7 * 24 * 3600 + 1)
    week = presigner.url("a.txt", 7 * 24 * 3600, now=1_800_000_010)
    assert "X-Amz-Expires=604800" in week and "X-Amz-Date=20270115T080010Z" in week  # signed then, not earlier


def test_urls_are_signed_for_the_public_endpoint(s3_server):
    config = s3_server.mount("s", "contract", prefix="pub", public_endpoint_url="https://files.example.com")
    url = StorageManager([config]).node("s:a.txt").url(expires_in=60)
    assert url.startswith("https://files.example.com/contract/pub/a.txt?")


def test_a_bad_public_endpoint_is_refused(s3_server):
    from genro_storage import StorageConfigError

    with pytest.raises(StorageConfigError, match="public_endpoint_url"):
        StorageManager([s3_server.mount("s", "contract", public_endpoint_url="files.example.com")])


def test_presigning_costs_no_request(s3_mount):
    backend = s3_mount.get_backend("s")
    assert backend.presigner is not None  # built once: one local botocore call for the URL's shape
    sent = []
    backend.client.meta.events.register("before-send", lambda **kw: sent.append(kw))
    started = time.perf_counter()
    for index in range(200):
        s3_mount.node("s", f"f{index}.txt").url(expires_in=3600)
    assert sent == [] and time.perf_counter() - started < 5
