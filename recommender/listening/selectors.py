"""Reads of the listening log: history, ratings, and the verdicts other apps learn from."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from catalog.models import Track
from recommender.models import ListenEvent, ListeningSettings, Rating


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
