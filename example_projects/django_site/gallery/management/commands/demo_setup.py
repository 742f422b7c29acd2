"""``manage.py demo_setup``: what ``run.py django`` does before starting the server.

Migrates, collects the static files (to the ``static`` mount), makes the ``admin`` user
(its password kept in the state directory and printed) and, on an empty site, adds the
sample pictures as photos and the sample PDF as a document.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management import call_command
from django.core.management.base import BaseCommand
from samples import cache_dir

from ...models import Document, Photo

PHOTOS = {"harbour.png": "Harbour", "meadow.jpg": "Meadow", "sunset.png": "Sunset"}


class Command(BaseCommand):
    help = "Migrate, collect static files, create the admin user and seed an empty site."

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        password = self._admin_password(Path(settings.STATE) / "admin-password")
        samples = cache_dir()
        if not Photo.objects.exists():
            for name, title in PHOTOS.items():
                with open(samples / name, "rb") as picture:
                    Photo(title=title, image=File(picture, name=name)).save()
        if not Document.objects.exists():
            with open(samples / "guide.pdf", "rb") as pdf:
                Document(title="The guide", file=File(pdf, name="guide.pdf")).save()
        self.stdout.write(f"admin user: admin, password: {password}")
        self.stdout.write(f"photos: {Photo.objects.count()}, documents: {Document.objects.count()}")

    def _admin_password(self, path: Path) -> str:
        """The admin's password, made once and kept in ``path``; the user is (re)set to it."""
        if not path.exists():
            path.write_text(secrets.token_urlsafe(12))
            path.chmod(0o600)
        password = path.read_text().strip()
        user, _ = get_user_model().objects.get_or_create(username="admin", defaults={"email": "admin@example.com"})
        user.is_staff = user.is_superuser = True
        if not user.check_password(password):
            user.set_password(password)
        user.save()
        return password
