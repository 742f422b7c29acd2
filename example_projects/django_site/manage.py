#!/usr/bin/env python
"""The example site's manage.py (``python example_projects/run.py manage ...`` runs it with
the embedded S3's variables while ``run.py django`` is up)."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demosite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
