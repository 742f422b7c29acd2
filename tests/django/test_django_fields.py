"""Mount-bound model fields: rows record their mount, files move while the site runs,
migrations never depend on the environment's mount configuration."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.test.utils import override_settings
from helpers import mount_config, server_for
from testapp.models import Document, Picture

from genro_storage_django import storage_manager
from genro_storage_django.fields import MountFileField


@pytest.fixture
def two_mounts(kind, tmp_path, request):
    """Mount ``a`` of the parametrised kind (the fields' mount) and a local mount ``b``."""
    mounts = [
        mount_config(kind, "a", tmp_path, server_for(kind, request)),
        {"name": "b", "type": "local", "path": str(tmp_path / "b")},
    ]
    with override_settings(GENRO_STORAGE={"MOUNTS": mounts, "DEFAULT_MOUNT": "a"}):
        yield storage_manager()


@pytest.mark.django_db
def test_a_saved_row_records_its_mount(two_mounts):
    doc = Document.objects.create(title="report")
    doc.file.save("report.txt", ContentFile(b"quarterly"))
    doc.refresh_from_db()
    assert doc.file.name == "a:docs/report.txt"
    assert doc.file.mount == "a" and doc.file.node.fullpath == "a:docs/report.txt"
    assert doc.file.read() == b"quarterly" and doc.file.size == 9
    assert doc.file.url
    second = Document.objects.create()
    second.file.save("report.txt", ContentFile(b"another"))
    assert second.file.name != doc.file.name and second.file.name.startswith("a:docs/report_")
    doc.file.delete()
    assert not two_mounts.node("a:docs/report.txt").exists


@pytest.mark.django_db
def test_rows_of_one_field_on_two_mounts_at_once(two_mounts):
    moved = Document.objects.create()
    moved.file.save("x.txt", ContentFile(b"moved"))
    stays = Document.objects.create()
    stays.file.save("y.txt", ContentFile(b"stays"))
    moved.file.node.copy_to("b:docs/x.txt")  # what storage_migrate will do, a row at a time
    Document.objects.filter(pk=moved.pk).update(file="b:docs/x.txt")
    moved.refresh_from_db()
    assert moved.file.mount == "b" and moved.file.read() == b"moved"
    assert stays.file.mount == "a" and stays.file.read() == b"stays"
    newer = Document.objects.create()
    newer.file.save("z.txt", ContentFile(b"new"))
    assert newer.file.mount == "a"  # new uploads go to the field's mount


@pytest.mark.django_db
def test_a_row_from_a_plain_file_field_is_on_the_fields_mount(two_mounts):
    two_mounts.node("a:docs/old.txt").write_bytes(b"from before")
    Document.objects.create(file="docs/old.txt")
    assert Document.objects.get().file.read() == b"from before"


def test_migrations_do_not_depend_on_the_mount_configuration(tmp_path):
    field = Document._meta.get_field("file")
    with override_settings(GENRO_STORAGE={"MOUNTS": [{"name": "a", "type": "memory"}]}):
        dev = field.deconstruct()
    with override_settings(GENRO_STORAGE={"MOUNTS": [{"name": "a", "type": "local", "path": str(tmp_path)}]}):
        prod = field.deconstruct()
    assert dev == prod
    assert prod[1] == "genro_storage_django.fields.MountFileField"
    assert prod[3] == {"upload_to": "docs/", "blank": True, "mount": "a"}


def test_a_storage_argument_is_refused():
    from genro_storage_django.storage import GenroStorage

    with pytest.raises(TypeError, match="mount="):
        MountFileField(storage=GenroStorage(mount="a"))


@pytest.mark.django_db
def test_image_field_reads_dimensions(two_mounts):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (31, 17), "red").save(buffer, "PNG")
    picture = Picture(image=None)
    picture.image.save("dot.png", ContentFile(buffer.getvalue()), save=True)
    picture.refresh_from_db()
    assert (picture.width, picture.height) == (31, 17)
    assert picture.image.name == "a:pictures/dot.png" and picture.image.node.size == len(buffer.getvalue())


@pytest.mark.django_db
def test_upload_and_change_through_the_admin(two_mounts, admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("minutes.txt", b"agreed: nothing", content_type="text/plain")
    response = admin_client.post("/admin/testapp/document/add/", {"title": "minutes", "file": upload})
    assert response.status_code == 302, response.content[:2000]
    doc = Document.objects.get(title="minutes")
    assert doc.file.name == "a:docs/minutes.txt" and doc.file.read() == b"agreed: nothing"
    page = admin_client.get(f"/admin/testapp/document/{doc.pk}/change/")
    assert page.status_code == 200 and b"a:docs/minutes.txt" in page.content
    replacement = SimpleUploadedFile("minutes-v2.txt", b"agreed: everything")
    response = admin_client.post(f"/admin/testapp/document/{doc.pk}/change/", {"title": "minutes", "file": replacement})
    assert response.status_code == 302
    doc.refresh_from_db()
    assert doc.file.name == "a:docs/minutes-v2.txt" and doc.file.read() == b"agreed: everything"


@pytest.mark.django_db
def test_makemigrations_writes_the_same_in_two_environments(tmp_path):
    from io import StringIO

    from django.core.management import call_command

    outputs = []
    for mounts in (
        [{"name": "a", "type": "memory"}],
        [{"name": "a", "type": "local", "path": str(tmp_path / "prod")}, {"name": "b", "type": "memory"}],
    ):
        out = StringIO()
        with override_settings(GENRO_STORAGE={"MOUNTS": mounts}):
            call_command("makemigrations", "testapp", "--dry-run", "--verbosity", "3", stdout=out)
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]
    assert "genro_storage_django.fields.MountFileField(blank=True, mount='a', upload_to='docs/')" in outputs[0]
    assert "memory" not in outputs[0] and "local" not in outputs[0]


@pytest.mark.django_db
@pytest.mark.parametrize("model, field", [("Plain", "normal"), ("Document", "file")])
def test_field_files_read_write_reopen_as_django_expects(two_mounts, model, field):
    # Django's FileFieldStorageTests, on a plain FileField(storage=GenroStorage(...)) and on
    # a mount-bound field.
    from django.core.files.uploadedfile import SimpleUploadedFile
    from testapp import models

    cls = getattr(models, model)
    obj = cls.objects.create(**{field: SimpleUploadedFile("assignment.txt", b"content")})
    f = getattr(obj, field)
    f.open()
    assert f.read(3) == b"con" and f.read() == b"tent"
    assert list(f.chunks(chunk_size=2)) == [b"co", b"nt", b"en", b"t"]
    f.close()
    with getattr(obj, field) as handle:
        handle.open("wb")
        handle.write(b"updated")
    obj.refresh_from_db()
    assert getattr(obj, field).read() == b"updated"
    getattr(obj, field).close()
    getattr(obj, field).open()
    getattr(obj, field).file.seek(0)
    getattr(obj, field).close()
    first, second = cls(), cls()
    getattr(first, field).save("multiple_files.txt", ContentFile("Same Content"))
    getattr(second, field).save("multiple_files.txt", ContentFile("Same Content"))
    assert getattr(first, field).name != getattr(second, field).name
    assert getattr(second, field).size == 12
