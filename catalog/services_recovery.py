"""Writes that keep renders from hanging: the reaper (on beat) and staff's fail. Staff's retry
is the "Re-render" action (``services.tracks_rerender``). Bounds: ``musicsite.jobs``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial

from django.db import transaction
from django.utils import timezone

from catalog import services
from catalog.models import Track
from musicsite import jobs

logger = logging.getLogger(__name__)
Render = Track.RenderStatus
STOPPED_BY_STAFF = "Stopped by the site's staff."


def track_renders_reap() -> dict[str, int]:
    """Queue again, or fail, renders whose worker died (silent for ``JOBS_STALE_SECONDS``).

    A render with tries left (``JOBS_MAX_ATTEMPTS``) goes back to ``pending`` and is queued;
    one without is failed with a reason. The piece a generation job renders itself is left
    to that job's own recovery. A track pending for ``JOBS_QUEUED_TIMEOUT_SECONDS`` (its
    message lost: the broker was down at import) is queued again. Returns how many renders
    were retried and failed.
    """
    limits = jobs.bounds()
    now = timezone.now()
    dead = jobs.silent_since(
        limits.stale_before(now), beat="render_heartbeat_at", since="updated_at"
    )
    stuck = Track.objects.filter(dead, render_status=Render.RENDERING).exclude(
        origin=Track.Origin.GENERATED, generation_job__isnull=True
    )
    retried = failed = 0
    for track_id, attempts in stuck.values_list("pk", "render_attempts")[:500]:
        rows = Track.objects.filter(dead, pk=track_id, render_status=Render.RENDERING)
        with transaction.atomic():
            if attempts < limits.max_attempts:
                if rows.update(render_status=Render.PENDING, updated_at=now):
                    transaction.on_commit(partial(services._queue_render, track_id))
                    retried += 1
            else:
                failed += rows.update(
                    render_status=Render.FAILED,
                    render_error=services.render_died_message(attempts),
                    render_attempts=0,
                    updated_at=now,
                )
    lost = Track.objects.filter(
        render_status=Render.PENDING, updated_at__lt=limits.queued_before(now)
    ).exclude(origin=Track.Origin.GENERATED, generation_job__isnull=True)
    with transaction.atomic():
        for track_id in lost.values_list("pk", flat=True)[:500]:
            Track.objects.filter(pk=track_id).update(updated_at=now)  # next try in as long
            transaction.on_commit(partial(services._queue_render, track_id))
            retried += 1
    if retried or failed:
        logger.warning("render reaper: %d render(s) retried, %d failed", retried, failed)
    return {"retried": retried, "failed": failed}


def track_renders_fail(*, track_ids: Iterable[int], reason: str = STOPPED_BY_STAFF) -> int:
    """Fail pending or rendering tracks (staff: a stuck render); returns how many."""
    return Track.objects.filter(
        pk__in=list(track_ids), render_status__in=[Render.PENDING, Render.RENDERING]
    ).update(
        render_status=Render.FAILED,
        render_error=reason,
        render_attempts=0,
        updated_at=timezone.now(),
    )
