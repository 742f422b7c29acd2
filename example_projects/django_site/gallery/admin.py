from django.contrib import admin
from django.utils.html import format_html

from .links import served_url
from .models import Document, Photo


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ["title", "preview", "mount", "width", "height", "uploaded"]
    readonly_fields = ["preview", "width", "height"]

    @admin.display(description="thumbnail")
    def preview(self, photo: Photo) -> str:
        if not photo.thumbnail:
            return "-"
        return format_html('<img src="{}" alt="" style="max-height:80px">', served_url(photo.thumbnail))

    @admin.display(description="mount")
    def mount(self, photo: Photo) -> str:
        return photo.image.mount if photo.image else "-"


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "file", "mount", "uploaded"]

    @admin.display(description="mount")
    def mount(self, document: Document) -> str:
        return document.file.mount if document.file else "-"
