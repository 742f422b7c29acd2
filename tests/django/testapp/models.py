from django.db import models

from genro_storage_django.fields import MountFileField, MountImageField
from genro_storage_django.storage import GenroStorage


class Document(models.Model):
    title = models.CharField(max_length=100, default="")
    file = MountFileField(mount="a", upload_to="docs/", blank=True)


class Picture(models.Model):
    image = MountImageField(mount="a", upload_to="pictures/", width_field="width", height_field="height")
    width = models.IntegerField(null=True)
    height = models.IntegerField(null=True)


class Plain(models.Model):
    normal = models.FileField(storage=GenroStorage(mount="a"), upload_to="tests")


class Located(models.Model):
    """A plain FileField on a folder of mount ``a``: its names are relative to ``docs/``."""

    file = models.FileField(storage=GenroStorage(mount="a", location="docs"))
