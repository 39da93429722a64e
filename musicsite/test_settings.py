"""Settings for the test suite: embedded defaults unless DATABASE_URL / CELERY_BROKER_URL are set.

Tasks go to Celery's in-memory transport unless a real broker URL is given, so a test never
drops messages into the development worker's queue.
"""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("CELERY_BROKER_URL", "memory://")
# Settings as on a development machine (the suite sets DEBUG off at run time itself): the
# development secret key, no HTTPS redirect. Tests of production settings start a process of
# their own (tests/test_deploy_settings.py).
os.environ.setdefault("DJANGO_DEBUG", "true")

from musicsite.settings import *  # noqa: F403  (test settings extend the real ones)

MEDIA_ROOT = tempfile.mkdtemp(prefix="musicsite-test-media-")
MODEL_ROOT = tempfile.mkdtemp(prefix="musicsite-test-models-")
STATIC_ROOT = tempfile.mkdtemp(prefix="musicsite-test-static-")
for _folder in (MEDIA_ROOT, MODEL_ROOT, STATIC_ROOT):
    atexit.register(shutil.rmtree, _folder, ignore_errors=True)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
# Worker and live-server threads close their connections after each task/request, so the test
# database can be dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
