"""Cloud features on the object stores: metadata, presigned URLs, versions, service checksums,
and clear errors for what a backend cannot do."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request

import pytest
from helpers import BUCKET, mount_config, recording_s3_gets, server_for

from genro_storage import StorageManager, UnsupportedOperationError

CLOUDS = ["s3", "gcs", "azure"]
GCS_NO_VERSIONS = "emulator gap: gcp-storage-emulator keeps only the latest generation of an object"
AZURITE_NO_VERSIONS = "emulator gap: azurite has no blob versioning (version_id is always None)"


@pytest.fixture(params=CLOUDS)
def cloud(request, tmp_path):
    kind = request.param
    storage = StorageManager([mount_config(kind, "c", tmp_path, server_for(kind, request))])
    return kind, storage


def served_headers(kind, storage, node):
    """Content-Type and Cache-Control as the service stores them (read with its own client)."""
    backend = storage.get_backend("c")
    if kind == "s3":
        head = backend.client.head_object(Bucket=backend.bucket, Key=backend.key(node.path))
        return head.get("ContentType"), head.get("CacheControl")
    if kind == "azure":
        settings = backend._blob(node.path).get_blob_properties().content_settings
        return settings.content_type, settings.cache_control
    raw = backend.fs.info(backend.fspath(node.path), refresh=True)
    return raw.get("contentType"), raw.get("cacheControl")


def test_metadata_round_trip(cloud):
    kind, storage = cloud
    node = storage.node("c:report.csv")
    node.write("a,b\n1,2\n")
    assert node.get_metadata() == {}
    node.set_metadata({"owner": "ann", "stage": "draft"}, content_type="text/csv", cache_control="max-age=60")
    assert node.get_metadata() == {"owner": "ann", "stage": "draft"}
    assert served_headers(kind, storage, node) == ("text/csv", "max-age=60")
    node.set_metadata({"stage": None, "reviewed": "yes"})
    assert node.get_metadata() == {"owner": "ann", "reviewed": "yes"}
    assert served_headers(kind, storage, node)[0] == "text/csv"
    assert node.read() == "a,b\n1,2\n"


@pytest.mark.parametrize("how", ["write_bytes", "stream", "stream_multipart"])
def test_every_way_of_writing_stores_the_objects_type(cloud, how):
    # A presigned URL, a CDN or a public bucket serve the stored type: it must be the file's.
    kind, storage = cloud
    node = storage.node(f"c:typed/{how}.pdf")
    data = b"%PDF-1.4 " + b"x" * (6 * 2**20 if how == "stream_multipart" else 100)
    modes = ["wb", "xb"] if how != "write_bytes" and "exclusive_create" in node.capabilities else ["wb"]
    for mode in modes:
        node = storage.node(f"c:typed/{how}-{mode}.pdf")
        if how == "write_bytes":
            node.write_bytes(data)
        else:
            with node.open(mode) as writer:
                writer.write(data)
        assert served_headers(kind, storage, node)[0] == "application/pdf", mode


def test_service_md5_without_download(cloud):
    kind, storage = cloud
    node = storage.node("c:hashed.bin")
    node.write_bytes(b"checksum me")
    assert node.info()["md5"] == hashlib.md5(b"checksum me").hexdigest()
    if kind == "s3":
        with recording_s3_gets(storage.get_backend("c")) as gets:
            assert node.md5hash == hashlib.md5(b"checksum me").hexdigest()
            assert node.etag
        assert gets == []
    else:
        assert node.md5hash == hashlib.md5(b"checksum me").hexdigest()


def test_s3_presigned_url(s3_server, tmp_path):
    storage = StorageManager([s3_server.mount("c", BUCKET, prefix="presign")])
    node = storage.node("c:folder/file name.txt")
    node.write("presigned")
    with urllib.request.urlopen(node.url(expires_in=120), timeout=30) as response:
        assert response.read() == b"presigned"


def _service_account() -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "test",
        "private_key_id": "1",
        "private_key": pem,
        "client_email": "tester@test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


def test_gcs_signed_url(gcs_options):
    options = {**gcs_options, "token": "anon"}
    storage = StorageManager([{"name": "c", "type": "gcs", "bucket": BUCKET, "prefix": "signed", **options}])
    node = storage.node("c:file.txt")
    node.write("signed")
    with pytest.raises(UnsupportedOperationError) as info:
        node.url(expires_in=60)  # anonymous credentials cannot sign
    assert info.value.mount == "c"
    signer = StorageManager(
        [{"name": "c", "type": "gcs", "bucket": BUCKET, "prefix": "signed", **{**options, "token": _service_account()}}]
    )
    url = signer.node("c:file.txt").url(expires_in=60)
    assert url.startswith(gcs_options["endpoint_url"])
    # Emulator gap: gcp-storage-emulator does not check the signature; the URL still works.
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read() == b"signed"


@pytest.fixture
def versioned(request, tmp_path):
    """A mount on a bucket with versioning on (S3 on moto; the others' emulators lack it)."""
    kind = request.param
    if kind == "s3":
        s3 = request.getfixturevalue("s3_server")
        s3.client().create_bucket(Bucket="versioned")
        s3.client().put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
        return StorageManager([s3.mount("v", "versioned")])
    return StorageManager([mount_config(kind, "v", tmp_path, server_for(kind, request))])


@pytest.mark.parametrize(
    "versioned",
    [
        "s3",
        pytest.param("gcs", marks=pytest.mark.skip(reason=GCS_NO_VERSIONS)),
        pytest.param("azure", marks=pytest.mark.skip(reason=AZURITE_NO_VERSIONS)),
    ],
    indirect=True,
)
def test_versions(versioned):
    node = versioned.node("v:doc.txt")
    for text in ("first", "second", "third"):
        node.write(text)
    versions = node.versions
    assert [v["is_latest"] for v in versions] == [True, False, False]
    assert [node.read(version=v["version_id"]) for v in versions] == ["third", "second", "first"]
    with node.open("rb", version=versions[-1]["version_id"]) as f:
        assert f.read() == b"first"
    assert versions[0]["size"] == 5


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_unsupported_features_name_mount_and_feature(kind, tmp_path):
    storage = StorageManager([mount_config(kind, "plain", tmp_path, None)])
    node = storage.node("plain:f.txt")
    node.write("x")
    assert "metadata" not in node.capabilities and "rename" in node.capabilities
    for action, feature in (
        (node.get_metadata, "metadata"),
        (lambda: node.set_metadata({"a": "b"}), "metadata"),
        (lambda: node.versions, "versions"),
        (lambda: node.read(version="1"), "versions"),
    ):
        with pytest.raises(UnsupportedOperationError) as info:
            action()
        assert info.value.mount == "plain" and feature in str(info.value)


def test_capabilities_declared(all_mounts):
    assert {"metadata", "versions", "presign", "server_copy", "ranged_reads"} <= all_mounts.node("s3:x").capabilities
    assert {"metadata", "presign", "server_copy"} <= all_mounts.node("gcs:x").capabilities
    assert {"metadata", "presign", "server_copy"} <= all_mounts.node("azure:x").capabilities
    assert "presign" not in all_mounts.node("local:x").capabilities


def test_azure_sas_url(azure_options):
    storage = StorageManager([{"name": "c", "type": "azure", "container": BUCKET, "prefix": "sas", **azure_options}])
    node = storage.node("c:file name.txt")
    node.write("shared access")
    url = node.url(expires_in=120)
    assert "sig=" in url
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read() == b"shared access"
    tampered = url.replace("sig=", "sig=x")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(tampered, timeout=30)
    assert info.value.code == 403


def test_s3_small_uploads_skip_the_100_continue_round_trip(s3_server, tmp_path):
    # A folder of small files waits on one "100 Continue" per object otherwise; a large single
    # PUT keeps asking, so a server can still refuse it before the body is sent.
    storage = StorageManager(
        [s3_server.mount("c", BUCKET, prefix="expect"), {"name": "disk", "type": "local", "path": str(tmp_path)}]
    )
    (tmp_path / "small").mkdir()
    for index in range(3):
        (tmp_path / "small" / f"f{index}.txt").write_bytes(b"x" * 4096)
    (tmp_path / "large.bin").write_bytes(b"y" * (2 * 1024 * 1024))
    client = storage.get_backend("c").client
    expects: list = []

    def record(request, **_):
        expects.append((len(request.body) if isinstance(request.body, bytes) else None, request.headers.get("Expect")))

    client.meta.events.register("before-send.s3.PutObject", record)
    try:
        storage.node("disk:small").copy_to("c:small")
        storage.node("disk:large.bin").copy_to("c:large.bin")
    finally:
        client.meta.events.unregister("before-send.s3.PutObject", record)
    assert len(expects) == 4
    assert [value for _, value in expects[:3]] == [None, None, None]
    assert expects[3][1] in ("100-continue", b"100-continue")
    assert storage.node("c:small/f2.txt").read_bytes() == b"x" * 4096
    assert storage.node("c:large.bin").size == 2 * 1024 * 1024
