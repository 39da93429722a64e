"""Reads of the catalog, shared by the HTML pages and the REST API."""

from __future__ import annotations

import re

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404

from catalog.filters import TrackFilters
from catalog.models import Artist, Collection, Tag, Track

QUEUE_MAX_LENGTH = 100
_CONTEXT_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def _visible(user) -> QuerySet[Track]:
    return Track.objects.visible_to(user)


def track_list(*, user, filters: TrackFilters | None = None) -> QuerySet[Track]:
    """The tracks ``user`` may see, filtered, with composer, collection and tags prefetched."""
    filters = filters or TrackFilters()
    tracks = _visible(user).select_related("artist", "collection").prefetch_related("tags")
    if filters.q:
        tracks = tracks.filter(search_matches(filters.q))
    if filters.collection is not None:
        tracks = tracks.filter(collection=filters.collection)
    if filters.composer is not None:
        tracks = tracks.filter(artist=filters.composer)
    if filters.tag is not None:
        tracks = tracks.filter(tags=filters.tag)
    if filters.key:
        tracks = tracks.filter(key__iexact=filters.key)
    if filters.tempo_min is not None:
        tracks = tracks.filter(tempo_bpm__gte=filters.tempo_min)
    if filters.tempo_max is not None:
        # An upper bound of 120 includes 120.4 bpm: tempos are shown rounded.
        tracks = tracks.filter(tempo_bpm__lt=filters.tempo_max + 0.5)
    return tracks.order_by("title", "id")


def search_matches(query: str) -> Q:
    """Pieces where every word of ``query`` is in the title, the composer, the collection or a
    tag ("bach chorale" finds Bach's chorales), ignoring case."""
    matches = Q()
    for word in query.split():
        matches &= Q(
            Q(title__icontains=word)
            | Q(artist__name__icontains=word)
            | Q(collection__name__icontains=word)
            | Exists(Tag.objects.filter(tracks=OuterRef("pk"), name__icontains=word))
        )
    return matches


def track_get(*, user, pk: int) -> Track:
    """One track ``user`` may see, or 404 (hidden, draft or another listener's private piece)."""
    tracks = _visible(user).select_related("artist", "collection").prefetch_related("tags")
    return get_object_or_404(tracks, pk=pk)


def collections_visible_to(user) -> QuerySet[Collection]:
    """Collections holding at least one piece ``user`` may see (the browse filter's choices)."""
    return Collection.objects.filter(Exists(_visible(user).filter(collection=OuterRef("pk"))))


def composers_visible_to(user) -> QuerySet[Artist]:
    """Composers of at least one piece ``user`` may see."""
    return Artist.objects.filter(Exists(_visible(user).filter(artist=OuterRef("pk"))))


def tags_visible_to(user) -> QuerySet[Tag]:
    """Tags of at least one piece ``user`` may see."""
    return Tag.objects.filter(Exists(_visible(user).filter(tags=OuterRef("pk"))))


def track_key_choices(*, user) -> list[str]:
    """The distinct keys of the tracks ``user`` may see, for the browse filter."""
    # order_by("key") replaces the model's default ordering, which DISTINCT would include.
    keys = _visible(user).exclude(key="").order_by("key").values_list("key", flat=True)
    return list(keys.distinct())


def track_featured(*, user, limit: int = 8) -> list[Track]:
    """A few rendered pieces for the landing page, taken in turn from every collection: the
    first piece (by title) of each collection, then the second of each, and so on (one query)."""
    in_collection = Window(
        RowNumber(), partition_by=F("collection_id"), order_by=(F("title").asc(), F("id").asc())
    )
    tracks = (
        _visible(user)
        .filter(render_status=Track.RenderStatus.READY)
        .annotate(turn=in_collection)
        .filter(turn__lte=limit)
        .select_related("artist", "collection")
        .order_by("turn", "collection__name", "id")
    )
    return list(tracks[:limit])


def parse_queue(raw: str) -> list[int]:
    """Parse a ``?queue=`` value ("3,5,8") into distinct positive ids; junk is dropped."""
    ids: list[int] = []
    for part in raw.split(",")[: QUEUE_MAX_LENGTH * 2]:
        part = part.strip()
        if part.isdigit() and int(part) > 0 and int(part) not in ids:
            ids.append(int(part))
    return ids[:QUEUE_MAX_LENGTH]


def track_queue(*, user, track: Track, requested: list[int]) -> list[int]:
    """The play queue around ``track``: the requested ids the user may see, in their order.

    Without a requested queue (or when ``track`` is not in it) the queue is the track's
    collection in title order, a window of at most ``QUEUE_MAX_LENGTH`` ids around it.
    """
    if track.pk in requested:
        visible = set(_visible(user).filter(pk__in=requested).values_list("pk", flat=True))
        return [pk for pk in requested if pk in visible]
    if track.collection_id is None:
        return [track.pk]
    ids = list(
        _visible(user)
        .filter(collection_id=track.collection_id)
        .order_by("title", "id")
        .values_list("pk", flat=True)
    )
    try:
        index = ids.index(track.pk)
    except ValueError:
        return [track.pk]
    start = max(0, index - QUEUE_MAX_LENGTH // 2)
    return ids[start : start + QUEUE_MAX_LENGTH]


def queue_neighbours(queue: list[int], pk: int) -> tuple[int | None, int | None]:
    """The ids before and after ``pk`` in ``queue`` (None at either end)."""
    if pk not in queue:
        return None, None
    index = queue.index(pk)
    previous = queue[index - 1] if index > 0 else None
    following = queue[index + 1] if index + 1 < len(queue) else None
    return previous, following


def clean_context(raw: str, default: str = "track_page") -> str:
    """A listening context label (``browse``, ``home``...) from a query parameter."""
    return raw if _CONTEXT_RE.match(raw or "") else default
