"""A Django project for the tests that need real processes (gunicorn, uvicorn, manage.py).

Its settings come from the environment, so each test starts it on its own mounts and
database: ``GENRO_TEST_STORAGE`` (the JSON of ``GENRO_STORAGE``) and ``GENRO_TEST_DB``
(an SQLite file).
"""
