"""musicsite: a music site that learns each listener's taste and writes new music for them."""

from musicsite.celery import app as celery_app

__all__ = ["celery_app"]
