from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("files/", include("genro_storage_django.urls")),
    path("app/", include("testapp.urls_views")),
]
