"""The event log as training data: listens and ratings → weighted, time-ordered interactions.

The weights are those of ``recommender.ml.data.event_weight``: a counted play by how much was
heard, a completion on top, a skip down; stars around the neutral 3, a like up, "not interested"
strongly down.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from django.db.models import Q

from recommender.ml.data import Interactions, event_weight
from recommender.models import ListenEvent, Rating

__all__ = ["UserHistory", "dedupe_latest", "event_log_interactions", "user_history"]


LISTEN_FIELDS = (
    "user_id",
    "track_id",
    "started_at",
    "played_ms",
    "duration_ms",
    "completed",
    "counted",
    "skipped",
)


def _listen_records(rows) -> Iterator[tuple[int, int, float, float]]:
    """Weighted records from ``LISTEN_FIELDS`` tuples (listens merely started are left out)."""
    for user_id, track_id, started, played, duration, completed, counted, skipped in rows:
        ts = started.timestamp()
        if counted:
            weight = event_weight("play", completion=played / duration if duration else 1.0)
            if completed:
                weight += event_weight("complete")
            yield user_id, track_id, ts, weight
        elif skipped:
            yield user_id, track_id, ts, event_weight("skip")


def _rating_records(queryset) -> Iterator[tuple[int, int, float, float]]:
    for user_id, track_id, updated, stars, liked, hidden in queryset.values_list(
        "user_id", "track_id", "updated_at", "stars", "liked", "not_interested"
    ).iterator(chunk_size=5000):
        ts = updated.timestamp()
        if stars is not None:
            yield user_id, track_id, ts, event_weight("rating", rating=stars)
        if liked:
            yield user_id, track_id, ts, event_weight("like")
        if hidden:
            yield user_id, track_id, ts, event_weight("not_interested")


def event_log_interactions() -> Interactions:
    """Every listener's plays, skips and ratings as ``Interactions`` (ids are user/track pks)."""
    listens = ListenEvent.objects.filter(Q(counted=True) | Q(skipped=True))
    records = [
        *_listen_records(listens.values_list(*LISTEN_FIELDS).iterator(chunk_size=5000)),
        *_rating_records(Rating.objects.all()),
    ]
    return Interactions.from_records(records)


@dataclass
class UserHistory:
    """One listener's evidence, read live at recommendation time."""

    sequence: list[int]  # track ids of positive events, oldest first, each piece once (latest)
    weights: dict[int, float]  # net evidence per track id (may be negative)
    hidden: set[int]  # "not interested"
    last_event: float  # timestamp of the newest event (0 when none)

    @property
    def seen(self) -> set[int]:
        return set(self.weights)


def user_history(user_id: int, *, limit: int = 500) -> UserHistory:
    """The listener's latest ``limit`` listens and all their ratings, merged in time order."""
    listens = ListenEvent.objects.filter(user_id=user_id).order_by("-started_at")[:limit]
    records = [
        *_listen_records(listens.values_list(*LISTEN_FIELDS)),
        *_rating_records(Rating.objects.filter(user_id=user_id)),
    ]
    records.sort(key=lambda r: r[2])
    weights: dict[int, float] = {}
    order: dict[int, float] = {}
    hidden: set[int] = set()
    for _, track_id, ts, weight in records:
        weights[track_id] = weights.get(track_id, 0.0) + weight
        if weight > 0:
            order[track_id] = ts
        if weight <= event_weight("not_interested"):
            hidden.add(track_id)
    sequence = [t for t, _ in sorted(order.items(), key=lambda kv: kv[1]) if weights[t] > 0]
    last = max((r[2] for r in records), default=0.0)
    return UserHistory(sequence=sequence, weights=weights, hidden=hidden, last_event=last)


def dedupe_latest(sequence: np.ndarray) -> np.ndarray:
    """Keep each item once, at its latest position (a re-played piece moves to the end)."""
    reversed_seq = sequence[::-1]
    _, first = np.unique(reversed_seq, return_index=True)
    return reversed_seq[np.sort(first)][::-1]
