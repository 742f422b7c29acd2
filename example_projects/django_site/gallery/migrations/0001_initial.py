from django.db import migrations, models

import genro_storage_django.fields


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Document",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("title", models.CharField(max_length=200)),
                ("file", genro_storage_django.fields.MountFileField(max_length=255, upload_to="docs/")),
                ("uploaded", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["-uploaded", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="Photo",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("title", models.CharField(max_length=200)),
                (
                    "image",
                    genro_storage_django.fields.MountImageField(
                        height_field="height", max_length=255, upload_to="photos/", width_field="width"
                    ),
                ),
                ("width", models.PositiveIntegerField(editable=False, null=True)),
                ("height", models.PositiveIntegerField(editable=False, null=True)),
                (
                    "thumbnail",
                    genro_storage_django.fields.MountFileField(
                        blank=True, editable=False, max_length=255, upload_to="thumbs/"
                    ),
                ),
                ("uploaded", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["-uploaded", "-pk"],
            },
        ),
    ]
