from django.contrib import admin
from django.urls import include, path
from gallery import views

urlpatterns = [
    path("", views.gallery, name="gallery"),
    path("documents/", views.documents, name="documents"),
    path("documents/<int:pk>/download", views.download, name="download"),
    path("media/", views.media, name="media"),
    path("upload/", views.upload, name="upload"),
    path("admin/", admin.site.urls),
    path("files/", include("genro_storage_django.urls")),  # = GENRO_STORAGE["BASE_URL"]
]
