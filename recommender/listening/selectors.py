"""Reads of the recommender app's listening log (history, ratings, what to hide from the feed)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from catalog.models import Track
from recommender.models import ListenEvent, ListeningSettings, Rating


def hidden_track_ids_for(user) -> set[int]:
    """Ids of pieces ``user`` marked "not interested": the feed leaves them out."""
    if user is None or not user.is_authenticated:
        return set()
    return set(
        Rating.objects.filter(user=user, not_interested=True).values_list("track_id", flat=True)
    )


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
    return ratings_for(user).filter(liked=True)


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


def track_for_listener(user, track_id: int) -> Track:
    """A piece ``user`` may see and rate (raises ``Track.DoesNotExist`` otherwise)."""
    return Track.objects.visible_to(user).get(pk=track_id)


def private_pieces_for(user) -> QuerySet[Track]:
    """The pieces generated for ``user`` (private to them), oldest first."""
    return Track.objects.filter(owner=user).order_by("created_at", "id")
