"""Photos (an image field, and a thumbnail made from it) and documents (a file field).

The fields are bound to a mount: each row records the mount of its file
(``"local:photos/harbour.png"``), so ``manage.py storage_migrate`` can move the files to
another mount row by row while the site keeps serving every one of them.
"""

from django.db import models

from genro_storage_django.fields import MountFileField, MountImageField

from .thumbnails import make_thumbnail


class Photo(models.Model):
    title = models.CharField(max_length=200)
    image = MountImageField(upload_to="photos/", max_length=255, width_field="width", height_field="height")
    width = models.PositiveIntegerField(null=True, editable=False)
    height = models.PositiveIntegerField(null=True, editable=False)
    thumbnail = MountFileField(upload_to="thumbs/", max_length=255, blank=True, editable=False)
    uploaded = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded", "-pk"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        """Save, then make the thumbnail of a new picture (on the picture's mount)."""
        # A file just assigned (an upload) is saved to its mount by super().save(), in pre_save.
        new_picture = bool(self.image) and not self.image._committed
        super().save(*args, **kwargs)
        if self.image and (new_picture or not self.thumbnail):
            self.thumbnail.name = make_thumbnail(self.image.node)
            super().save(update_fields=["thumbnail"])


class Document(models.Model):
    title = models.CharField(max_length=200)
    file = MountFileField(upload_to="docs/", max_length=255)
    uploaded = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded", "-pk"]

    def __str__(self) -> str:
        return self.title
