"""``path("files/", include("genro_storage_django.urls"))``: the serve view at
``<mount>/<path>``, reversed as ``genro_storage:serve``. ``GENRO_STORAGE['BASE_URL']`` must
name the same prefix (the system check ``genro_storage.E009`` compares them)."""

from django.urls import path

from .views import serve

app_name = "genro_storage"

urlpatterns = [path("<path:path>", serve, name="serve")]
