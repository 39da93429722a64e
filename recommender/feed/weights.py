"""Each feed source's blend multiplier, fitted on the impression log.

A source's pieces that listeners go on to play earn it a larger share of the feed. Per source,
over the impressions last shown in the past ``WINDOW``: ``shown`` pieces, of which ``played``
were played (a counted listen) after they were first shown. Its play rate is shrunk toward the
mean rate of all sources by ``PRIOR`` impressions, so a source with few impressions stays near
the mean; the multiplier is that rate over the mean, clipped to ``[LOWEST, HIGHEST]``, and 1 for
a source that showed fewer than ``MIN_SHOWN`` pieces. ``builder.source_weights`` multiplies the
listener's stage weights by it.

The fit runs hourly (the ``recommender.refit_feed_weights`` task) and stores one
``FeedSourceWeight`` row per source; feed builds read them through a per-process cache of
``CACHE_SECONDS``, so a build costs no query for them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from recommender.models import FeedImpression, FeedSourceWeight, ListenEvent

WINDOW = timedelta(days=30)
PRIOR = 50  # impressions' worth of the mean rate each source starts from
MIN_SHOWN = 100  # fewer impressions than this: the multiplier stays 1
LOWEST, HIGHEST = 0.25, 4.0
CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class SourceCounts:
    """What one source's pieces came to in the window."""

    shown: int
    played: int


def source_counts(*, since: datetime) -> dict[str, SourceCounts]:
    """Per source, the impressions last shown since ``since`` and how many of their pieces the
    listener played after first being shown them (one aggregate query)."""
    played_after = ListenEvent.objects.filter(
        user_id=OuterRef("user_id"),
        track_id=OuterRef("track_id"),
        counted=True,
        started_at__gt=OuterRef("first_shown_at"),
    )
    rows = (
        FeedImpression.objects.filter(last_shown_at__gte=since)
        .exclude(source="")
        .order_by()
        .values("source")
        .annotate(shown=Count("pk"), played=Count("pk", filter=Exists(played_after)))
        .values_list("source", "shown", "played")
    )
    return {source: SourceCounts(shown, played) for source, shown, played in rows}


def multipliers_from_counts(counts: dict[str, SourceCounts]) -> dict[str, float]:
    """Each source's play rate, shrunk toward the mean, over the mean (see the module), to
    three decimals."""
    shown = sum(c.shown for c in counts.values())
    played = sum(c.played for c in counts.values())
    if not shown or not played:
        return {source: 1.0 for source in counts}
    mean = played / shown
    out = {}
    for source, c in counts.items():
        if c.shown < MIN_SHOWN:
            out[source] = 1.0
            continue
        rate = (c.played + PRIOR * mean) / (c.shown + PRIOR)
        out[source] = round(min(HIGHEST, max(LOWEST, rate / mean)), 3)
    return out


def feed_source_weights_fit(*, now: datetime | None = None) -> list[FeedSourceWeight]:
    """Fit every source's multiplier on the impressions of the past ``WINDOW`` and store them
    (replacing the last fit; a source that showed nothing since is dropped, so it weighs 1)."""
    now = now or timezone.now()
    counts = source_counts(since=now - WINDOW)
    multipliers = multipliers_from_counts(counts)
    rows = [
        FeedSourceWeight(
            source=source,
            multiplier=multipliers[source],
            shown=c.shown,
            played=c.played,
            fitted_at=now,
        )
        for source, c in sorted(counts.items())
    ]
    with transaction.atomic():
        FeedSourceWeight.objects.all().delete()
        FeedSourceWeight.objects.bulk_create(rows)
    reset_source_multipliers()
    return rows


_lock = threading.Lock()
_cache: tuple[float, dict[str, float]] | None = None


def source_multipliers() -> dict[str, float]:
    """The stored multipliers by source (empty before the first fit), cached per process for
    ``CACHE_SECONDS``."""
    global _cache
    cached = _cache
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    with _lock:
        found = dict(FeedSourceWeight.objects.values_list("source", "multiplier"))
        _cache = (time.monotonic(), found)
        return found


def reset_source_multipliers() -> None:
    """Forget this process's cached multipliers (the next read queries them)."""
    global _cache
    _cache = None
