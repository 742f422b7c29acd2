"""The Django app: ``INSTALLED_APPS += ["genro_storage_django"]`` registers the checks."""

from django.apps import AppConfig


class GenroStorageConfig(AppConfig):
    name = "genro_storage_django"
    label = "genro_storage"
    verbose_name = "genro-storage"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
