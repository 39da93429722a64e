"""Writes of the feed: (re)building a listener's snapshot, invalidating it, serving pages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from recommender.feed.builder import build_feed
from recommender.feed.content import single_threaded_blas
from recommender.feed.context import build_context
from recommender.feed.cursor import FeedCursor
from recommender.feed.fast_paths import snapshot_state
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
    build = _snapshot_store(user=user, items=items, now=now)
    return FeedSnapshot(user=user, items=items, build=build, stale=False, built_at=now)


def _snapshot_store(*, user, items: list, now) -> int:
    """Store ``items`` as ``user``'s snapshot, its build number one more than the last (1 for
    the first); that number. The old (large) row is never read."""
    fields = {"items": items, "stale": False, "built_at": now}
    with transaction.atomic():
        if not FeedSnapshot.objects.filter(user=user).update(build=F("build") + 1, **fields):
            try:
                with transaction.atomic():  # another request may build the first one too
                    FeedSnapshot.objects.create(user=user, build=1, **fields)
                return 1
            except IntegrityError:
                FeedSnapshot.objects.filter(user=user).update(build=F("build") + 1, **fields)
        return FeedSnapshot.objects.filter(user=user).values_list("build", flat=True).get()


def feed_snapshot_current(*, user) -> FeedSnapshot:
    """``user``'s snapshot, rebuilt first if feedback arrived, it is old, or a new piece of
    theirs was generated since it was built. One query when nothing changed."""
    row = snapshot_state(user_id=user.pk)
    if row is not None:
        build, stale, built_at, newer_own, items = row
        if timezone.now() - built_at < SNAPSHOT_TTL and not stale and not newer_own:
            return FeedSnapshot(user=user, items=items, build=build, stale=False, built_at=built_at)
    return feed_snapshot_rebuild(user=user)


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
    impressions_add(user_id=user.pk, shown=[(item.track_id, item.source) for item in page.items])
    return page


def on_feedback(signals: list) -> None:
    """Listening hub subscriber: any feedback makes its listeners' feeds stale."""
    feeds_invalidate(user_ids={signal.user_id for signal in signals})


def on_tastes_changed(user_id: int) -> None:
    """Listening hub subscriber: new onboarding picks make the listener's feed stale."""
    feed_invalidate(user_id=user_id)
