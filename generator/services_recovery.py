"""Writes that keep generation jobs from hanging: the reaper (on beat) and staff's fail and
retry. The bounds come from ``musicsite.jobs``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from functools import partial

from django.db import transaction
from django.utils import timezone

from generator import services
from generator.models import GenerationJob
from musicsite import jobs

logger = logging.getLogger(__name__)
Status = GenerationJob.Status
STOPPED_BY_STAFF = "Stopped by the site's staff. Please try again."


def _requeue(job_id: int) -> None:
    with contextlib.suppress(services.QueueUnavailable):  # _queue failed the job, with why
        services._queue(job_id)


def generation_jobs_reap() -> dict[str, int]:
    """Retry or fail jobs whose worker died; fail jobs no worker started in time.

    A running job silent for ``JOBS_STALE_SECONDS`` is queued again while it has tries left
    (``JOBS_MAX_ATTEMPTS``), else failed with a reason; either way its half-made piece is
    deleted. A queued job silent for ``JOBS_QUEUED_TIMEOUT_SECONDS`` is failed. Returns how
    many jobs were retried and failed.
    """
    limits = jobs.bounds()
    now = timezone.now()
    dead = jobs.silent_since(limits.stale_before(now), since="started_at")
    retried = failed = 0
    for job in GenerationJob.objects.filter(dead, status=Status.RUNNING)[:200]:
        with transaction.atomic():
            rows = GenerationJob.objects.filter(dead, pk=job.pk, status=Status.RUNNING)
            if job.attempts < limits.max_attempts:
                if rows.update(status=Status.QUEUED, progress=0, heartbeat_at=now):
                    services.discard_unfinished(job)
                    transaction.on_commit(partial(_requeue, job.pk))
                    retried += 1
            elif rows.update(
                status=Status.FAILED,
                finished_at=now,
                error=services.worker_died_message(job.attempts),
            ):
                services.discard_unfinished(job)
                failed += 1
    failed += GenerationJob.objects.filter(
        jobs.silent_since(limits.queued_before(now)), status=Status.QUEUED
    ).update(
        status=Status.FAILED,
        finished_at=now,
        error=f"No music worker started this piece within {limits.queued_minutes} minutes. "
        "Please try again later.",
    )
    if retried or failed:
        logger.warning("generation reaper: %d job(s) retried, %d failed", retried, failed)
    return {"retried": retried, "failed": failed}


def generation_jobs_fail(*, job_ids: Iterable[int], reason: str = STOPPED_BY_STAFF) -> int:
    """Fail queued or running jobs (staff: a stuck job); returns how many were failed.

    A worker still running one stops at its next progress step and keeps nothing.
    """
    with transaction.atomic():
        rows = GenerationJob.objects.filter(
            pk__in=list(job_ids), status__in=[Status.QUEUED, Status.RUNNING]
        )
        stopped = list(rows.select_for_update())
        count = rows.update(status=Status.FAILED, finished_at=timezone.now(), error=reason)
        for job in stopped:
            services.discard_unfinished(job)
    return count


def generation_jobs_retry(*, job_ids: Iterable[int]) -> int:
    """Queue failed, cancelled, stuck (silent) or queued jobs again with fresh tries; returns
    how many were queued. A job a live worker is running, or one that succeeded, is left."""
    limits = jobs.bounds()
    now = timezone.now()
    dead = jobs.silent_since(limits.stale_before(now), since="started_at")
    retryable = (
        GenerationJob.objects.filter(status__in=[Status.FAILED, Status.CANCELLED, Status.QUEUED])
        | GenerationJob.objects.filter(dead, status=Status.RUNNING)
    ).filter(pk__in=list(job_ids))
    count = 0
    with transaction.atomic():
        for job in retryable.select_for_update():
            services.discard_unfinished(job)
            GenerationJob.objects.filter(pk=job.pk).update(
                status=Status.QUEUED,
                progress=0,
                error="",
                attempts=0,
                heartbeat_at=now,
                started_at=None,
                finished_at=None,
            )
            transaction.on_commit(partial(_requeue, job.pk))
            count += 1
    return count
