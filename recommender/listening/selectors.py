"""Reads of the listening log: history, ratings, and the verdicts other apps learn from."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import FloatField, IntegerField, QuerySet, Value

from catalog.models import Track
from recommender.listening.upsert import ListenRow
from recommender.models import ListenEvent, ListeningSettings, Rating
from recommender.models.listening import LOVED

PAUSED = 0  # the track id that stands for "history paused" in listenable_or_paused()


def history_paused_for(user) -> bool:
    """Whether ``user`` paused their listening history."""
    return ListeningSettings.objects.filter(user=user, history_paused=True).exists()


def listens_for(user) -> QuerySet[ListenEvent]:
    """``user``'s listens, most recent first, with their pieces."""
    return ListenEvent.objects.filter(user=user).select_related(
        "track", "track__artist", "track__collection"
    )


def ratings_for(user) -> QuerySet[Rating]:
    """``user``'s ratings, likes and "not interested" marks, most recently changed first."""
    return Rating.objects.filter(user=user).select_related("track", "track__artist")


def liked_for(user) -> QuerySet[Rating]:
    """``user``'s likes of pieces they may still see, most recently changed first."""
    return ratings_for(user).filter(liked=True, track__in=Track.objects.visible_to(user))


def rated_for(user) -> QuerySet[Rating]:
    return ratings_for(user).filter(stars__isnull=False)


def rating_for(user, track: Track | int) -> Rating | None:
    """``user``'s rating of one piece, or None (also for anonymous visitors)."""
    if user is None or not user.is_authenticated:
        return None
    return Rating.objects.filter(user=user, track=track).first()


def ratings_by_track_for(user, track_ids: Iterable[int]) -> dict[int, Rating]:
    """``user``'s ratings of several pieces in one query (for lists that show the controls)."""
    if user is None or not user.is_authenticated:
        return {}
    return {r.track_id: r for r in Rating.objects.filter(user=user, track_id__in=list(track_ids))}


def private_pieces_for(user) -> QuerySet[Track]:
    """The pieces generated for ``user`` (private to them), oldest first."""
    return Track.objects.filter(owner=user).order_by("created_at", "id")


def loved_catalog_ratings_for(user, *, limit: int = 50) -> list[Rating]:
    """``user``'s loved public catalog pieces (not hidden), newest first, with their tracks."""
    return list(
        Rating.objects.filter(user=user, track__owner__isnull=True, not_interested=False)
        .loved()
        .filter(track__status=Track.Status.PUBLISHED)
        .select_related("track")
        .order_by("-updated_at")[:limit]
    )


def verdicts_for(user, track_ids: Iterable[int]) -> dict[int, tuple[bool, bool]]:
    """``(loved, disliked)`` of each of these pieces ``user`` rated, by track id."""
    rows = (
        Rating.objects.filter(user=user, track_id__in=list(track_ids))
        .with_verdict()
        .values_list("track_id", "is_loved", "is_disliked")
    )
    return {track_id: (loved, disliked) for track_id, loved, disliked in rows}


def loved_generated_track_ids() -> list[int]:
    """Generated pieces that their listener loved (examples for the generator's fine-tuning)."""
    return list(
        Rating.objects.filter(track__origin=Track.Origin.GENERATED)
        .loved()
        .values_list("track_id", flat=True)
    )


def disliked_generated_track_ids() -> list[int]:
    """Generated pieces that their listener disliked (2 stars or less, or "not interested") and
    did not also love: what the generator's fine-tuning learns not to write."""
    return list(
        Rating.objects.filter(track__origin=Track.Origin.GENERATED)
        .disliked()
        .exclude(LOVED)
        .values_list("track_id", flat=True)
    )


def listenable_or_paused(user, track_ids: Iterable[int]) -> dict[int, float]:
    """Durations (s) of the pieces ``user`` may hear (``Track.objects.visible_to``), by id, and
    ``PAUSED`` if their history is paused: both answers in one query (every listen asks)."""
    durations = Track.objects.visible_to(user).filter(pk__in=list(track_ids)).order_by()
    paused = (
        ListeningSettings.objects.filter(user=user, history_paused=True)
        .order_by()
        .values_list(
            Value(PAUSED, output_field=IntegerField()), Value(0.0, output_field=FloatField())
        )
    )
    return dict(durations.values_list("pk", "duration_seconds").union(paused, all=True))


def listens_existing(
    *, user_id: int, client_event_ids: Iterable[uuid.UUID], lock: bool = False
) -> dict[uuid.UUID, ListenRow]:
    """The stored state of the listener's listens with these ids, by id.

    ``lock``: inside a transaction, hold those rows until it ends (``SELECT ... FOR UPDATE``).
    """
    rows = ListenEvent.objects.filter(user_id=user_id, client_event_id__in=list(client_event_ids))
    if lock:
        rows = rows.select_for_update()
    return {row["client_event_id"]: ListenRow(**row) for row in rows.values(*ListenRow.FIELDS)}
