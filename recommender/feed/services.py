"""Writes of the feed: (re)building a listener's snapshot, invalidating it, serving pages."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache

from django.db import connection
from django.utils import timezone

from catalog.models import Track
from recommender.feed.builder import build_feed
from recommender.feed.content import single_threaded_blas
from recommender.feed.context import build_context
from recommender.feed.cursor import FeedCursor
from recommender.feed.fast_paths import async_commit_from
from recommender.feed.impressions import impressions_add
from recommender.feed.selectors import FeedPage, Resolver, feed_page
from recommender.models import FeedSnapshot

SNAPSHOT_TTL = timedelta(minutes=20)


def feed_snapshot_rebuild(*, user) -> FeedSnapshot:
    """Build ``user``'s feed now and store it as their snapshot."""
    with single_threaded_blas():
        ctx = build_context(user)
        items = [[c.track_id, c.source, c.reason_code, c.reason_text] for c in build_feed(ctx)]
    now = timezone.now()
    table = connection.ops.quote_name(FeedSnapshot._meta.db_table)
    value = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    # One upsert: no read of the old (large) row, and the build number grows atomically.
    sql = (
        f"INSERT INTO {table} (user_id, items, build, stale, built_at) "
        f"SELECT %s, {value}, 1, %s, %s{async_commit_from()} WHERE true "
        f"ON CONFLICT (user_id) DO UPDATE SET "
        f"items = EXCLUDED.items, build = {table}.build + 1, stale = EXCLUDED.stale, "
        f"built_at = EXCLUDED.built_at RETURNING build"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, json.dumps(items), False, now])
        (build,) = cursor.fetchone()
    return FeedSnapshot(user=user, items=items, build=build, stale=False, built_at=now)


# Recently read snapshots' items by (user id, build), per process: a page then reads only the
# snapshot's small columns (the items are a few dozen KB of JSON).
_ITEMS_CACHE_SIZE = 2048
_items_cache: OrderedDict[tuple, list] = OrderedDict()
_items_lock = threading.Lock()


def _items_remember(key: tuple, items: list) -> None:
    with _items_lock:
        _items_cache[key] = items
        _items_cache.move_to_end(key)
        while len(_items_cache) > _ITEMS_CACHE_SIZE:
            _items_cache.popitem(last=False)


SnapshotState = tuple[int, bool, datetime, bool]  # build, stale, built_at, a newer own piece


@cache
def _state_columns() -> str:
    tracks = connection.ops.quote_name(Track._meta.db_table)
    return (
        f"s.build, s.stale, s.built_at, EXISTS (SELECT 1 FROM {tracks} own "
        f"WHERE own.owner_id = s.user_id AND own.created_at > s.built_at)"
    )


def snapshot_state_of(values: tuple) -> SnapshotState | None:
    """The state in ``values`` (the state columns), None where the listener has no snapshot."""
    build, stale, built_at, newer_own = values
    if build is None:
        return None
    if isinstance(built_at, str):  # SQLite returns text for raw timestamp columns
        built_at = datetime.fromisoformat(built_at)
    if timezone.is_naive(built_at):
        built_at = timezone.make_aware(built_at, UTC)
    return build, bool(stale), built_at, bool(newer_own)


def _snapshot_state(user_id: int) -> SnapshotState | None:
    """The state of a listener's snapshot (None without one).

    Every feed page needs this first, so it is one raw query: through the ORM, compiling it cost
    several times what PostgreSQL spends answering it.
    """
    table = connection.ops.quote_name(FeedSnapshot._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_state_columns()} FROM {table} s WHERE s.user_id = %s", [user_id])
        row = cursor.fetchone()
    return None if row is None else snapshot_state_of(row)


def feed_snapshot_current(*, user) -> FeedSnapshot:
    """``user``'s snapshot, rebuilt first if feedback arrived, it is old, or a new piece of
    theirs was generated since it was built. One small query when nothing changed."""
    row = _snapshot_state(user.pk)
    if row is not None:
        build, stale, built_at, newer_own = row
        fresh = timezone.now() - built_at < SNAPSHOT_TTL
        if fresh and not stale and not newer_own:
            key = (user.pk, build, built_at)  # built_at too: a deleted snapshot restarts at 1
            items = _items_cache.get(key)
            if items is None:
                items = (
                    FeedSnapshot.objects.filter(user=user, build=build)
                    .values_list("items", flat=True)
                    .first()
                )
            if items is not None:
                _items_remember(key, items)
                return FeedSnapshot(
                    user=user, items=items, build=build, stale=False, built_at=built_at
                )
    snapshot = feed_snapshot_rebuild(user=user)
    _items_remember((user.pk, snapshot.build, snapshot.built_at), snapshot.items)
    return snapshot


def feed_invalidate(*, user_id: int) -> None:
    """Mark a listener's feed stale (one UPDATE); the next page rebuilds it."""
    feeds_invalidate(user_ids=[user_id])


def feeds_invalidate(*, user_ids: Iterable[int]) -> None:
    """Mark these listeners' feeds stale, in one UPDATE."""
    FeedSnapshot.objects.filter(user_id__in=list(user_ids), stale=False).update(stale=True)


def feed_page_serve(
    *,
    user,
    cursor: FeedCursor | None,
    size: int,
    resolve: Resolver | None = None,
) -> FeedPage:
    """One page of ``user``'s feed (page and API alike), logged as impressions."""
    snapshot = feed_snapshot_current(user=user)
    page = feed_page(user=user, snapshot=snapshot, cursor=cursor, size=size, resolve=resolve)
    impressions_add(user_id=user.pk, track_ids=[item.track_id for item in page.items])
    return page


def on_feedback(signals: list) -> None:
    """Listening hub subscriber: any feedback makes its listeners' feeds stale."""
    feeds_invalidate(user_ids={signal.user_id for signal in signals})


def on_tastes_changed(user_id: int) -> None:
    """Listening hub subscriber: new onboarding picks make the listener's feed stale."""
    feed_invalidate(user_id=user_id)
