"""GenroStorage honours Django's Storage contract (as FileSystemStorage and InMemoryStorage
do; Django's tests/file_storage are the model) on local, memory and S3 mounts."""

from __future__ import annotations

import datetime as dt
import io
import os
import threading

import pytest
from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.core.files.base import ContentFile, File
from django.core.files.storage import StorageHandler
from django.test.utils import override_settings
from helpers import recording_s3_gets

from genro_storage_django import storage_manager
from genro_storage_django.storage import GenroStorage


def test_save_open_read_delete(genro):
    name = genro.save("docs/report.txt", ContentFile(b"hello world"))
    assert name == "docs/report.txt"
    assert genro.exists(name) and genro.exists("docs")  # a folder implied by its file
    with genro.open(name) as f:
        assert f.read() == b"hello world"
    assert genro.size(name) == 11
    genro.delete(name)
    assert not genro.exists(name)
    genro.delete(name)  # someone else deleted it first: fine


def test_a_taken_name_gets_another_and_exists_never_lies(genro):
    first = genro.save("a.txt", ContentFile(b"one"))
    second = genro.save("a.txt", ContentFile(b"two"))
    assert first == "a.txt" and second != first and second.startswith("a_") and second.endswith(".txt")
    assert genro.open(first).read() == b"one" and genro.open(second).read() == b"two"
    assert genro.exists("a.txt")


def test_allow_overwrite_replaces_and_exists_still_tells_the_truth(kind, tmp_path, request):
    from helpers import mount_config, server_for

    mounts = [mount_config(kind, "m", tmp_path, server_for(kind, request))]
    with override_settings(GENRO_STORAGE={"MOUNTS": mounts}):
        storage = GenroStorage(mount="m", allow_overwrite=True)
        assert not storage.exists("a.txt")
        storage.save("a.txt", ContentFile(b"one"))
        assert storage.exists("a.txt")  # django-storages 1.14.4 answered False here
        assert storage.save("a.txt", ContentFile(b"two")) == "a.txt"
        assert storage.open("a.txt").read() == b"two"


def test_racing_saves_of_one_name_never_overwrite_each_other(genro):
    names, errors = [], []

    def save(index: int) -> None:
        try:
            names.append((index, genro.save("race.bin", ContentFile(bytes([index]) * 1000))))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len({name for _, name in names}) == 8  # eight files, none overwritten
    for index, name in names:
        assert genro.open(name).read() == bytes([index]) * 1000


def test_listdir_size_and_text_content(genro):
    genro.save("dir/a.txt", ContentFile("caffè ☕"))  # text chunks are stored as UTF-8
    genro.save("dir/sub/b.txt", ContentFile(b"x"))
    assert genro.listdir("dir") == (["sub"], ["a.txt"])
    with pytest.raises(FileNotFoundError):
        genro.listdir("missing")  # as os.scandir, FileSystemStorage and InMemoryStorage
    assert genro.size("dir/a.txt") == len("caffè ☕".encode())


def test_non_ascii_names_and_bytes_are_kept(genro):
    data = bytes(range(256))
    name = genro.save("ünïcødé/файл 名前.bin", ContentFile(data))
    assert name == "ünïcødé/файл 名前.bin"
    assert genro.open(name).read() == data
    assert genro.listdir("ünïcødé") == ([], ["файл 名前.bin"])


def test_traversal_is_suspicious_and_missing_files_are_not_found(genro):
    for name in ("../outside.txt", "a/../../b.txt"):
        with pytest.raises(SuspiciousFileOperation):
            genro.save(name, ContentFile(b"x"))
        with pytest.raises(SuspiciousFileOperation):
            genro.exists(name)
    with pytest.raises(FileNotFoundError):
        genro.open("nope.txt")
    with pytest.raises(FileNotFoundError):
        genro.size("nope.txt")


def test_open_streams_is_seekable_and_reopens(genro):
    payload = bytes(range(256)) * 4096  # 1 MiB
    name = genro.save("big.bin", ContentFile(payload))
    f = genro.open(name)
    assert f.size == len(payload)
    f.seek(1000)
    assert f.read(10) == payload[1000:1010]
    f.close()
    assert f.closed
    f.open()
    assert f.read(5) == payload[:5]
    chunks = list(f.chunks(chunk_size=256 * 1024))
    assert b"".join(chunks) == payload and len(chunks) == 4
    f.close()


def test_open_on_s3_reads_ranges_not_the_whole_object(tmp_path, request):
    from helpers import mount_config, server_for

    mounts = [mount_config("s3", "m", tmp_path, server_for("s3", request))]
    with override_settings(GENRO_STORAGE={"MOUNTS": mounts}):
        storage = GenroStorage(mount="m")
        storage.save("big.bin", ContentFile(b"z" * (24 * 2**20)))
        backend = storage_manager().get_backend("m")
        with recording_s3_gets(backend) as gets:
            with storage.open("big.bin") as f:
                assert f.read(65536) == b"z" * 65536
        assert gets and all(rng is not None for _, rng in gets)  # ranged GETs only


def test_path_only_on_local_mounts(genro, kind):
    genro.save("a.txt", ContentFile(b"x"))
    if kind == "local":
        with open(genro.path("a.txt"), "rb") as f:
            assert f.read() == b"x"
    else:
        with pytest.raises(NotImplementedError):
            genro.path("a.txt")


@pytest.mark.parametrize("use_tz", [True, False])
def test_times_follow_use_tz(genro, use_tz):
    genro.save("t.txt", ContentFile(b"x"))
    with override_settings(USE_TZ=use_tz):
        modified = genro.get_modified_time("t.txt")
    assert isinstance(modified, dt.datetime)
    if use_tz:
        assert modified.tzinfo is not None and modified.utcoffset() == dt.timedelta(0)
        assert abs((dt.datetime.now(dt.timezone.utc) - modified).total_seconds()) < 120
    else:
        assert modified.tzinfo is None
        assert abs((dt.datetime.now() - modified).total_seconds()) < 120


def test_urls_are_quoted_and_honour_base_url(genro, kind):
    name = genro.save("a b/ü.txt", ContentFile(b"x"))
    url = genro.url(name)
    assert " " not in url and "ü" not in url
    if kind == "s3":
        assert "X-Amz-Signature=" in url or "Signature=" in url
    else:
        assert url.startswith("/files/m/") and "signature=" in url
    cdn = GenroStorage(mount="m", base_url="https://cdn.example.com/media")
    assert cdn.url("a b/ü.txt") == "https://cdn.example.com/media/a%20b/%C3%BC.txt"


def test_public_mounts_get_plain_urls(tmp_path):
    mounts = [{"name": "pub", "type": "local", "path": str(tmp_path)}]
    with override_settings(GENRO_STORAGE={"MOUNTS": mounts, "PUBLIC_MOUNTS": ["pub"]}):
        assert GenroStorage(mount="pub").url("x y.txt") == "/files/pub/x%20y.txt"


def test_a_file_object_and_a_django_file_save_alike(genro, tmp_path):
    source = tmp_path / "upload.bin"
    source.write_bytes(b"from disk" * 1000)
    with open(source, "rb") as raw:
        name = genro.save("from-file.bin", raw)
    with open(source, "rb") as raw:
        other = genro.save("from-django-file.bin", File(raw))
    assert genro.open(name).read() == genro.open(other).read() == b"from disk" * 1000


def test_unknown_options_fail_naming_the_key():
    with pytest.raises(ImproperlyConfigured, match="'mout'.*did you mean 'mount'"):
        GenroStorage(mout="uploads")


def test_it_deconstructs_to_a_stable_path():
    path, args, kwargs = GenroStorage(mount="uploads", location="media").deconstruct()
    assert path == "genro_storage_django.storage.GenroStorage"
    assert kwargs == {"mount": "uploads", "location": "media"}


def test_storages_setting_builds_it(tmp_path):
    mounts = [{"name": "up", "type": "local", "path": str(tmp_path)}]
    backends = {
        "default": {"BACKEND": "genro_storage_django.storage.GenroStorage", "OPTIONS": {"mount": "up"}},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(GENRO_STORAGE={"MOUNTS": mounts}):
        default = StorageHandler(backends)["default"]  # as Django builds settings.STORAGES
        assert isinstance(default, GenroStorage) and default.mount_name == "up"
        default.save("hello.txt", ContentFile(b"hi"))
        assert (tmp_path / "hello.txt").read_bytes() == b"hi"


def test_the_manager_follows_setting_changes(tmp_path):
    with override_settings(GENRO_STORAGE={"MOUNTS": [{"name": "one", "type": "memory"}]}):
        assert list(storage_manager().mounts) == ["one"]
        with override_settings(GENRO_STORAGE={"MOUNTS": [{"name": "two", "type": "memory"}]}):
            assert list(storage_manager().mounts) == ["two"]
        assert list(storage_manager().mounts) == ["one"]


def test_location_is_a_folder_of_the_mount(tmp_path):
    mounts = [{"name": "up", "type": "local", "path": str(tmp_path)}]
    with override_settings(GENRO_STORAGE={"MOUNTS": mounts}):
        storage = GenroStorage(mount="up", location="media/avatars")
        storage.save("me.png", ContentFile(b"png"))
        assert (tmp_path / "media" / "avatars" / "me.png").read_bytes() == b"png"
        assert storage.exists("me.png") and storage.listdir("") == ([], ["me.png"])


def test_allow_overwrite_cuts_a_long_name_to_max_length(tmp_path):
    with override_settings(GENRO_STORAGE={"MOUNTS": [{"name": "m", "type": "memory"}]}):
        storage = GenroStorage(mount="m", allow_overwrite=True)
        assert storage.get_available_name("docs/averyveryverylongname.tar.gz", max_length=20) == "docs/averyver.tar.gz"
        with pytest.raises(SuspiciousFileOperation):
            storage.get_available_name("docs/x.tar.gz", max_length=8)
        with pytest.raises(SuspiciousFileOperation):
            storage.get_available_name("../x.txt")


def test_django_file_storage_behaviours(genro):
    # As Django's own tests/file_storage expect of FileSystemStorage.
    with pytest.raises(SuspiciousFileOperation):
        genro.exists("..")
    with pytest.raises(SuspiciousFileOperation):
        genro.exists("/etc/passwd")
    f = genro.open("storage_test", "w")
    f.write("storage contents")
    f.close()
    assert genro.exists("storage_test")
    with genro.open("storage_test", "r") as f:
        assert f.read() == "storage contents"
    content = ContentFile("custom contents")
    content.name = "test.file"
    assert genro.save(None, content) == "test.file"
    with pytest.raises(ValueError):
        genro.delete("")
    failing = ContentFile("chunks fail")
    failing.chunks = lambda: (_ for _ in ()).throw(OSError("disk says no"))
    with pytest.raises(OSError):
        genro.save("error.file", failing)
    assert not genro.exists("error.file")  # nothing half-written


def test_deleting_a_folder_removes_it_only_when_empty(genro):
    genro.save("full/a.txt", ContentFile(b"x"))
    with pytest.raises(OSError):
        genro.delete("full")
    assert genro.exists("full/a.txt")  # never a whole tree
    genro.delete("full/a.txt")


def test_base_url_quotes_as_file_system_storage_does():
    storage = GenroStorage(mount="scratch", base_url="/test_media_url/")
    assert storage.url("test.file") == "/test_media_url/test.file"
    assert storage.url(r"~!*()'@#$%^&*abc`+ =.file") == "/test_media_url/~!*()'%40%23%24%25%5E%26*abc%60%2B%20%3D.file"
    assert storage.url("ab\0c") == "/test_media_url/ab%00c"
    assert storage.url("//evil.com") == "/test_media_url/evil.com"
    assert storage.url(None) == "/test_media_url/"


def test_opening_listing_and_uploads_as_the_os_and_django_say(genro):
    from django.core.files.uploadedfile import InMemoryUploadedFile, TemporaryUploadedFile

    genro.save("a/b/file.txt", ContentFile("hello"))
    with pytest.raises(IsADirectoryError):
        genro.open("a/b")
    with pytest.raises(FileNotFoundError):
        genro.open("a/none.txt")
    assert genro.listdir("./a/./.") == (["b"], [])  # '.' segments mean nothing, as os.path says
    assert genro.open("./a//b/file.txt").read() == b"hello"
    with pytest.raises(NotADirectoryError):
        genro.listdir("a/b/file.txt")
    with pytest.raises(NotADirectoryError):
        genro.listdir("a/b/file.txt/child")
    with pytest.raises(FileNotFoundError):
        genro.listdir("nowhere")
    with pytest.raises(NotADirectoryError):
        genro.save("a/b/file.txt/child.txt", ContentFile("x"))  # a file where a folder should be
    with TemporaryUploadedFile("up.txt", "text/plain", 5, "utf8") as upload:
        upload.write(b"12345")
        upload.seek(0)
        name = genro.save("up.txt", upload)
        assert not upload.closed  # the caller's to close, as FileSystemStorage leaves it
        assert not os.path.exists(upload.temporary_file_path())  # saved: the temporary is gone
    assert genro.open(name).read() == b"12345"
    memory_upload = InMemoryUploadedFile(io.BytesIO(b"in memory"), "file", "m.txt", "text/plain", 9, None)
    with memory_upload:
        assert genro.open(genro.save("m.txt", memory_upload)).read() == b"in memory"
        assert not memory_upload.closed


def test_listing_an_empty_mount_is_empty(genro):
    assert genro.listdir("") == ([], [])


@pytest.mark.parametrize("mode", [0o640, 0o600])
def test_file_upload_permissions_apply_on_local_mounts(tmp_path, mode):
    mounts = [{"name": "m", "type": "local", "path": str(tmp_path / "root")}]
    with override_settings(GENRO_STORAGE={"MOUNTS": mounts}, FILE_UPLOAD_PERMISSIONS=mode):
        storage = GenroStorage(mount="m")
        name = storage.save("perm/x.txt", ContentFile(b"x"))
        assert os.stat(storage.path(name)).st_mode & 0o777 == mode
