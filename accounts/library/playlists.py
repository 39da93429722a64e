"""Playlists: reads and writes (create, rename, add, remove, reorder, delete; "Liked").

A playlist belongs to one listener and only they can see or change it; another listener's
playlist id answers as if it did not exist. Positions are kept dense (0..n-1). The "Liked"
playlist is not stored: it is the listener's liked pieces, most recently liked first.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Count, F, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Playlist, PlaylistItem
from catalog.models import MAX_ID, Track
from recommender.listening.selectors import liked_for

MAX_ITEMS = 1000
MAX_PLAYLISTS = 200


class PlaylistError(ValueError):
    """A playlist change that cannot be made; ``field`` names the culprit."""

    def __init__(self, field: str, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.code = code


# --- reads ---


def playlists_for(user) -> QuerySet[Playlist]:
    """``user``'s playlists with their item counts, most recently changed first."""
    return Playlist.objects.filter(owner=user).annotate(track_count=Count("items"))


def playlist_get(*, user, pk: int) -> Playlist:
    """One of ``user``'s playlists, or 404 (also for another listener's)."""
    playlist = playlists_for(user).filter(pk=pk).first()
    if playlist is None:
        raise Http404("No such playlist.")
    return playlist


def playlist_tracks(*, user, playlist: Playlist) -> list[Track]:
    """The pieces of ``playlist`` in order, leaving out any no longer visible to ``user``."""
    items = (
        PlaylistItem.objects.filter(playlist=playlist, track__in=Track.objects.visible_to(user))
        .select_related("track", "track__artist", "track__collection")
        .prefetch_related("track__tags")
        .order_by("position")
    )
    return [item.track for item in items]


def liked_tracks(*, user) -> list[Track]:
    """The automatic "Liked" playlist: pieces ``user`` liked, most recent first."""
    ratings = liked_for(user).select_related("track__collection").prefetch_related("track__tags")
    return [r.track for r in ratings]


def liked_count(*, user) -> int:
    """How many pieces the "Liked" playlist holds."""
    return liked_for(user).count()


# --- writes ---


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise PlaylistError("name", "Give the playlist a name.")
    if len(name) > 100:
        raise PlaylistError("name", "Names are at most 100 characters.")
    if name.casefold() == "liked":
        raise PlaylistError("name", '"Liked" is the automatic playlist of pieces you like.')
    return name


@transaction.atomic
def playlist_create(*, user, name: str, description: str = "") -> Playlist:
    """A new empty playlist; names are unique per listener."""
    name = _clean_name(name)
    if len(description) > 500:
        raise PlaylistError("description", "Descriptions are at most 500 characters.")
    if Playlist.objects.filter(owner=user).count() >= MAX_PLAYLISTS:
        raise PlaylistError("name", f"You can have at most {MAX_PLAYLISTS} playlists.")
    if Playlist.objects.filter(owner=user, name__iexact=name).exists():
        raise PlaylistError("name", f'You already have a playlist called "{name}".', "duplicate")
    try:
        with transaction.atomic():
            return Playlist.objects.create(owner=user, name=name, description=description)
    except IntegrityError as exc:
        raise PlaylistError("name", f'You already have a playlist called "{name}".') from exc


@transaction.atomic
def playlist_update(
    *, playlist: Playlist, name: str | None = None, description: str | None = None
) -> Playlist:
    """Rename or re-describe a playlist."""
    if name is not None:
        name = _clean_name(name)
        clash = Playlist.objects.filter(owner_id=playlist.owner_id, name__iexact=name)
        if clash.exclude(pk=playlist.pk).exists():
            raise PlaylistError("name", f'You already have a playlist called "{name}".')
        playlist.name = name
    if description is not None:
        if len(description) > 500:
            raise PlaylistError("description", "Descriptions are at most 500 characters.")
        playlist.description = description
    playlist.save(update_fields=["name", "description", "updated_at"])
    return playlist


@transaction.atomic
def playlist_delete(*, playlist: Playlist) -> None:
    playlist.delete()


@transaction.atomic
def playlist_add(*, user, playlist: Playlist, track_id: int, position: int | None = None) -> None:
    """Add a piece ``user`` may see, at ``position`` (default: the end)."""
    Playlist.objects.select_for_update().filter(pk=playlist.pk).first()
    if not Track.objects.visible_to(user).filter(pk=track_id).exists():
        raise PlaylistError("track", f"No piece with id {track_id}.", "not_found")
    items = PlaylistItem.objects.filter(playlist=playlist)
    if items.filter(track_id=track_id).exists():
        raise PlaylistError("track", "That piece is already in this playlist.", "duplicate")
    count = items.count()
    if count >= MAX_ITEMS:
        raise PlaylistError("track", f"A playlist holds at most {MAX_ITEMS} pieces.")
    if position is None or position >= count:
        position = count
    if position < 0:
        raise PlaylistError("position", "Positions start at 0.")
    items.filter(position__gte=position).update(position=F("position") + 1)
    PlaylistItem.objects.create(playlist=playlist, track_id=track_id, position=position)
    Playlist.objects.filter(pk=playlist.pk).update(updated_at=timezone.now())


@transaction.atomic
def playlist_add_to_new(*, user, name: str, track_id: int) -> Playlist:
    """A new playlist named ``name`` holding the piece; neither if the piece cannot go in."""
    playlist = playlist_create(user=user, name=name)
    playlist_add(user=user, playlist=playlist, track_id=track_id)
    return playlist


@transaction.atomic
def playlist_remove(*, playlist: Playlist, track_id: int) -> None:
    """Take a piece out and close the gap."""
    Playlist.objects.select_for_update().filter(pk=playlist.pk).first()
    item = None
    if 0 < track_id <= MAX_ID:
        item = PlaylistItem.objects.filter(playlist=playlist, track_id=track_id).first()
    if item is None:
        raise PlaylistError("track", "That piece is not in this playlist.", "not_found")
    item.delete()
    PlaylistItem.objects.filter(playlist=playlist, position__gt=item.position).update(
        position=F("position") - 1
    )
    Playlist.objects.filter(pk=playlist.pk).update(updated_at=timezone.now())


@transaction.atomic
def playlist_move(*, playlist: Playlist, track_id: int, position: int) -> None:
    """Move one piece to ``position`` (clamped to the end), shifting the others."""
    Playlist.objects.select_for_update().filter(pk=playlist.pk).first()
    ids = list(
        PlaylistItem.objects.filter(playlist=playlist)
        .order_by("position")
        .values_list("track_id", flat=True)
    )
    if track_id not in ids:
        raise PlaylistError("track", "That piece is not in this playlist.", "not_found")
    if position < 0:
        raise PlaylistError("position", "Positions start at 0.")
    ids.remove(track_id)
    ids.insert(min(position, len(ids)), track_id)
    _write_order(playlist, ids)


@transaction.atomic
def playlist_reorder(*, playlist: Playlist, track_ids: list[int]) -> None:
    """Set the whole order at once; ``track_ids`` must be exactly the playlist's pieces."""
    Playlist.objects.select_for_update().filter(pk=playlist.pk).first()
    current = list(
        PlaylistItem.objects.filter(playlist=playlist).values_list("track_id", flat=True)
    )
    if len(track_ids) != len(set(track_ids)) or set(track_ids) != set(current):
        raise PlaylistError(
            "tracks", "List every piece of the playlist exactly once, in the new order."
        )
    _write_order(playlist, track_ids)


def _write_order(playlist: Playlist, ids: list[int]) -> None:
    items = {i.track_id: i for i in PlaylistItem.objects.filter(playlist=playlist)}
    changed = []
    for position, tid in enumerate(ids):
        item = items[tid]
        if item.position != position:
            item.position = position
            changed.append(item)
    PlaylistItem.objects.bulk_update(changed, ["position"])
    Playlist.objects.filter(pk=playlist.pk).update(updated_at=timezone.now())
