from django.urls import path

from . import views

urlpatterns = [
    path("download/<path:path>", views.download),
    path("inline/<str:mount>/<path:path>", views.inline),
]
