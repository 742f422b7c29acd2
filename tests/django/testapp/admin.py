from django.contrib import admin

from .models import Document, Picture

admin.site.register(Document)
admin.site.register(Picture)
