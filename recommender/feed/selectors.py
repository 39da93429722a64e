"""Reads of the feed: a page of a snapshot, similar pieces (shared by the page and the API)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from catalog.models import Track
from recommender.feed.content import catalog_index, single_threaded_blas
from recommender.feed.cursor import FeedCursor
from recommender.models import FeedImpression, FeedSnapshot, Rating

MAX_PAGE_SIZE = 50


class FeedItem(NamedTuple):
    """One entry of a feed page: the piece, where it sits in the feed, and why."""

    track: Any  # a Track (pages) or whatever the caller's resolver returns (the API: its JSON)
    track_id: int
    position: int
    source: str
    reason_code: str
    reason_text: str


@dataclass(frozen=True)
class FeedPage:
    items: list[FeedItem]
    next_cursor: FeedCursor | None
    build: int
    since: int  # when this browsing session's first page was served (unix seconds)


def tracks_by_id(*, user, track_ids: list[int]) -> dict[int, Track]:
    """The pieces among ``track_ids`` that ``user`` may see, with composer and collection."""
    tracks = Track.objects.visible_to(user).filter(pk__in=track_ids)
    tracks = tracks.select_related("artist", "collection").prefetch_related("tags")
    return {t.pk: t for t in tracks}


Resolver = Callable[..., dict[int, Any]]


def feed_page(
    *,
    user,
    snapshot: FeedSnapshot,
    cursor: FeedCursor | None,
    size: int,
    resolve: Resolver | None = None,
) -> FeedPage:
    """The next ``size`` items of ``snapshot`` after ``cursor``, their pieces looked up by
    ``resolve(user=, track_ids=)`` (default: ``tracks_by_id``; pieces it omits are left out).

    A cursor from an older build (the feed was rebuilt after feedback) starts the new build from
    the top, leaving out what this session already showed.
    """
    size = max(1, min(size, MAX_PAGE_SIZE))
    since = cursor.since if cursor else int(time.time())
    start = 0
    skip: set[int] = set()
    if cursor is not None:
        if cursor.build == snapshot.build:
            start = cursor.offset
        else:
            shown_after = datetime.fromtimestamp(cursor.since, tz=UTC)
            skip = set(
                FeedImpression.objects.filter(
                    user=user, last_shown_at__gte=shown_after
                ).values_list("track_id", flat=True)
            )
    entries = snapshot.items
    chosen: list[tuple[int, list]] = []
    pos = start
    while pos < len(entries) and len(chosen) < size:
        if entries[pos][0] not in skip:
            chosen.append((pos, entries[pos]))
        pos += 1
    tracks = (resolve or tracks_by_id)(user=user, track_ids=[e[0] for _, e in chosen])
    items = [
        FeedItem(
            track=tracks[e[0]],
            track_id=e[0],
            position=p,
            source=e[1],
            reason_code=e[2],
            reason_text=e[3],
        )
        for p, e in chosen
        if e[0] in tracks
    ]
    next_cursor = FeedCursor(snapshot.build, pos, since) if pos < len(entries) else None
    return FeedPage(items=items, next_cursor=next_cursor, build=snapshot.build, since=since)


def ratings_for_tracks(*, user, track_ids: list[int]) -> dict[int, Rating]:
    """``user``'s ratings of the listed pieces, one query (for rating controls on a list)."""
    if not track_ids:
        return {}
    return {r.track_id: r for r in Rating.objects.filter(user=user, track_id__in=track_ids)}


def similar_track_ids(*, track: Track, k: int = 10, exclude: set[int] | None = None) -> list[int]:
    """Ids of the public pieces most like ``track`` by content (MIDI features and tags)."""
    index = catalog_index()
    vec = index.vector_of([track.pk])
    if not len(vec):
        return []  # a private or unindexed piece: nothing to compare against yet
    exclude = (exclude or set()) | {track.pk}
    with single_threaded_blas():
        return [tid for tid, _ in index.nearest(vec[0], k, exclude=exclude)]


def similar_tracks(*, user, track: Track, k: int = 10) -> list[Track]:
    """Pieces like ``track`` that ``user`` may see, most similar first (two queries)."""
    hidden: set[int] = set()
    if user is not None and user.is_authenticated:
        hidden = set(
            Rating.objects.filter(user=user, not_interested=True).values_list("track_id", flat=True)
        )
    ids = similar_track_ids(track=track, k=k, exclude=hidden)
    found = tracks_by_id(user=user, track_ids=ids)
    return [found[t] for t in ids if t in found]
