"""Writes that keep trainings from hanging: a run whose worker died is failed (and so no longer
blocks its kind), by the reaper on beat, by the next request of its kind, or by staff.

Trainings are not retried: the schedule, the feedback trigger or staff start the next one.
The bounds come from ``musicsite.jobs``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db.models import Q
from django.utils import timezone

from musicsite import jobs
from recommender.models import RunStatus, TrainingRun

logger = logging.getLogger(__name__)
STOPPED_BY_STAFF = "Stopped by the site's staff."


def _dead() -> Q:
    return Q(status=RunStatus.RUNNING) & jobs.silent_since(
        jobs.bounds().stale_before(), since="started_at"
    )


def _died_message(run: TrainingRun) -> str:
    stage = f" while {run.stage}" if run.stage else ""
    return (
        f"The worker running this training stopped{stage} (it was restarted or ran out of "
        "memory); the next training of this kind can start."
    )


def training_run_fail_if_dead(*, run: TrainingRun) -> bool:
    """Fail ``run`` if it is running and silent for ``JOBS_STALE_SECONDS``; True if it was."""
    return bool(
        TrainingRun.objects.filter(_dead(), pk=run.pk).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), error=_died_message(run)
        )
    )


def training_runs_reap() -> dict[str, int]:
    """Fail runs whose worker died, and queued runs no worker started in time."""
    failed = 0
    for run in TrainingRun.objects.filter(_dead())[:100]:
        failed += training_run_fail_if_dead(run=run)
    limits = jobs.bounds()
    failed += TrainingRun.objects.filter(
        jobs.silent_since(limits.queued_before()), status=RunStatus.QUEUED
    ).update(
        status=RunStatus.FAILED,
        finished_at=timezone.now(),
        error=f"No worker on the ml queue started this training within "
        f"{limits.queued_minutes} minutes.",
    )
    if failed:
        logger.warning("training reaper: %d run(s) failed", failed)
    return {"failed": failed}


def training_runs_fail(*, run_ids: Iterable[int], reason: str = STOPPED_BY_STAFF) -> int:
    """Fail queued or running runs (staff: a stuck run); returns how many were failed.

    A worker still running one stops at its next stage and registers nothing.
    """
    return TrainingRun.objects.filter(
        pk__in=list(run_ids), status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
    ).update(status=RunStatus.FAILED, finished_at=timezone.now(), error=reason)
