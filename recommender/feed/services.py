"""Writes of the feed: (re)building a listener's snapshot, invalidating it, logging impressions."""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from catalog.models import Track
from recommender.feed.builder import build_feed
from recommender.feed.content import single_threaded_blas
from recommender.feed.context import build_context
from recommender.feed.cursor import FeedCursor
from recommender.feed.selectors import FeedPage, Resolver, feed_page
from recommender.models import FeedImpression, FeedSnapshot

logger = logging.getLogger(__name__)

SNAPSHOT_TTL = timedelta(minutes=20)


def feed_snapshot_rebuild(*, user) -> FeedSnapshot:
    """Build ``user``'s feed now and store it as their snapshot."""
    with single_threaded_blas():
        ctx = build_context(user)
        items = [[c.track_id, c.source, c.reason_code, c.reason_text] for c in build_feed(ctx)]
    now = timezone.now()
    table = connection.ops.quote_name(FeedSnapshot._meta.db_table)
    postgres = connection.vendor == "postgresql"
    value = "%s::jsonb" if postgres else "%s"
    # One upsert: no read of the old (large) row, and the build number grows atomically.
    sql = (
        f"INSERT INTO {table} (user_id, items, build, stale, built_at) "
        f"VALUES (%s, {value}, 1, %s, %s) ON CONFLICT (user_id) DO UPDATE SET "
        f"items = EXCLUDED.items, build = {table}.build + 1, stale = EXCLUDED.stale, "
        f"built_at = EXCLUDED.built_at RETURNING build"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:  # a cache: a crash just means one more rebuild, so skip the WAL wait
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
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


def feed_snapshot_current(*, user) -> FeedSnapshot:
    """``user``'s snapshot, rebuilt first if feedback arrived, it is old, or a new piece of
    theirs was generated since it was built. One small query when nothing changed."""
    newer_own = Track.objects.filter(owner=OuterRef("user_id"), created_at__gt=OuterRef("built_at"))
    row = (
        FeedSnapshot.objects.filter(user=user)
        .annotate(newer_own=Exists(newer_own))
        .values_list("build", "stale", "built_at", "newer_own")
        .first()
    )
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
    FeedSnapshot.objects.filter(user_id=user_id, stale=False).update(stale=True)


def feed_impressions_record(*, user, track_ids: Iterable[int]) -> None:
    """Count that these pieces were shown to ``user`` (one upsert statement)."""
    ids = list(dict.fromkeys(track_ids))
    if not ids:
        return
    table = connection.ops.quote_name(FeedImpression._meta.db_table)
    now = timezone.now()
    values = ", ".join(["(%s, %s, 1, %s, %s)"] * len(ids))
    params: list = []
    for tid in ids:
        params += [user.pk, tid, now, now]
    sql = (
        f"INSERT INTO {table} (user_id, track_id, shown_count, first_shown_at, last_shown_at) "
        f"VALUES {values} ON CONFLICT (user_id, track_id) DO UPDATE SET "
        f"shown_count = {table}.shown_count + 1, last_shown_at = EXCLUDED.last_shown_at"
    )
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    with transaction.atomic(), connection.cursor() as cursor:
        # Impressions are cheap signals: don't wait for the WAL flush (a crash may lose the
        # last few; never the listening log, which commits synchronously).
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(sql, params)


def feed_page_serve(
    *, user, cursor: FeedCursor | None, size: int, resolve: Resolver | None = None
) -> FeedPage:
    """One page of ``user``'s feed (page and API alike), logged as impressions."""
    snapshot = feed_snapshot_current(user=user)
    page = feed_page(user=user, snapshot=snapshot, cursor=cursor, size=size, resolve=resolve)
    feed_impressions_record(user=user, track_ids=[item.track_id for item in page.items])
    return page


def on_feedback(signals: list) -> None:
    """Feedback batch hook (``recommender.signals_hub``): any signal makes the feed stale."""
    user_ids = {signal.user_id for signal in signals}
    FeedSnapshot.objects.filter(user_id__in=user_ids, stale=False).update(stale=True)


def register_feed_hooks() -> None:
    """Called from ``RecommenderConfig.ready``."""
    from recommender import signals_hub

    signals_hub.register_feedback_hook(on_feedback, batch=True)
