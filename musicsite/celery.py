"""The Celery application: configuration comes from Django settings (``CELERY_*``)."""

import os

from celery import Celery

from musicsite.observability import celery_logging_connect

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "musicsite.settings")

app = Celery("musicsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
celery_logging_connect()  # worker logs carry the task's id and its row's (job, run, track)
