"""How long background work may go silent before it counts as dead, and the heartbeat that
says it is alive.

A generation job, a training run and a track render write their heartbeat column every
``JOBS_HEARTBEAT_SECONDS`` (5 s) while a worker runs them, from a thread of their own, so a long
step (loading a model, an epoch, a synthesis) still beats. A row silent for
``JOBS_STALE_SECONDS`` (60 s) has lost its worker (killed, out of memory, its host gone). The
reapers, on beat every ``JOBS_REAP_EVERY_SECONDS`` (30 s), retry or fail such rows, so a dead
row is acted on within 90 s; a row queued that no worker started within
``JOBS_QUEUED_TIMEOUT_SECONDS`` (2 h) is failed. A job or render is run at most
``JOBS_MAX_ATTEMPTS`` (2) times. The README's "Work that never hangs" states the bounds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.models import Q, QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bounds:
    """The settings above, in seconds (``max_attempts``: runs of one job or render in all)."""

    heartbeat_s: float
    stale_s: float
    reap_every_s: float
    queued_timeout_s: float
    max_attempts: int

    def stale_before(self, now: datetime | None = None) -> datetime:
        """A running row whose last heartbeat is older than this has lost its worker."""
        return (now or timezone.now()) - timedelta(seconds=self.stale_s)

    def queued_before(self, now: datetime | None = None) -> datetime:
        """A queued row silent since before this was never started by a worker."""
        return (now or timezone.now()) - timedelta(seconds=self.queued_timeout_s)

    @property
    def queued_minutes(self) -> int:
        return max(1, round(self.queued_timeout_s / 60))


def bounds() -> Bounds:
    """The bounds from settings (``JOBS_*``), with the defaults above."""
    return Bounds(
        heartbeat_s=float(getattr(settings, "JOBS_HEARTBEAT_SECONDS", 5.0)),
        stale_s=float(getattr(settings, "JOBS_STALE_SECONDS", 60.0)),
        reap_every_s=float(getattr(settings, "JOBS_REAP_EVERY_SECONDS", 30.0)),
        queued_timeout_s=float(getattr(settings, "JOBS_QUEUED_TIMEOUT_SECONDS", 2 * 3600.0)),
        max_attempts=int(getattr(settings, "JOBS_MAX_ATTEMPTS", 2)),
    )


def silent_since(before: datetime, *, beat: str = "heartbeat_at", since: str = "created_at") -> Q:
    """Rows whose last sign of life (``beat``, else ``since`` when never beaten) is before
    ``before``."""
    return Q(**{f"{beat}__lt": before}) | Q(**{f"{beat}__isnull": True, f"{since}__lt": before})


@contextmanager
def heartbeat(rows: QuerySet, *, field: str = "heartbeat_at") -> Iterator[None]:
    """Write ``field`` = now on ``rows`` every ``JOBS_HEARTBEAT_SECONDS`` until the block ends.

    The beat runs in a daemon thread with its own database connection, so it stops when the
    process dies (that is how a dead worker is told from a slow one). A failed beat is logged
    and the next one tried.
    """
    every = bounds().heartbeat_s
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every):
                try:
                    rows.update(**{field: timezone.now()})
                except DatabaseError:
                    logger.warning("heartbeat of %s failed", rows.model.__name__, exc_info=True)
        finally:
            connections.close_all()  # this thread's connections only

    thread = threading.Thread(target=beat, name=f"heartbeat-{rows.model.__name__}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
