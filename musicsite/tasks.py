"""Celery tasks of the site itself (the ``default`` queue)."""

from celery import shared_task

from musicsite import retention


@shared_task(name="musicsite.retention_prune", soft_time_limit=1800, time_limit=1900)
def retention_prune() -> str:
    return retention.retention_prune().summary()
