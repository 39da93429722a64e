"""The feed's fast paths: raw SQL kept where the ORM's way broke the feed's goal.

The goal (issue 16): feed p95 <= 50 ms with 16 clients at 10k pieces, 2k listeners and 1M events
on two cores (``make bench-feed``). Each statement here replaced its ORM version only where
measurement showed that version costing the goal; each says what it saves. Both PostgreSQL
and SQLite run every statement (SQLite takes ``ON CONFLICT`` since 3.24).

- ``impressions_upsert``: a page's impressions in one statement. The ORM's way (insert the new
  pairs, then ``F() + 1`` on all, in a transaction) doubled the CPU of a feed page
  (2.5 -> 5.3 ms in-process at 16 listeners); this statement costs ~0.3 ms.
- ``snapshot_state``: every feed page's first query (the listener's snapshot, whether it is
  stale and whether a piece of theirs is newer), raw: through the ORM (``Exists``/``OuterRef``)
  compiling it cost 0.70 ms CPU a page against 0.10 ms (``feed_snapshot_current`` alone, 16
  listeners), a quarter of a page's CPU. Its items come in the same row, so no process keeps
  a cache of them (that cache saved 0.1 ms).
- ``async_commit_from``: the impressions commit without waiting for the WAL flush.

Not here: the snapshot's store goes through the ORM (``feed.services``: ~1 ms CPU of a ~14 ms
rebuild). What each process still holds: the pieces' API JSON (``feed.api.track_payloads``:
without a cache a page's CPU triples; behind Django's cache on Redis it cost 1.4 ms of web CPU
a page, 30 %), the content index (``feed.content``: the public catalog's vectors, rebuilt when
it changes), popularity (``feed.context``: an aggregate over every listen, for five minutes)
and the lists derived from both (``feed.sources``). The last three were not measured removed:
each is an aggregate over the whole catalog or the 1M events, far more than a page's 50 ms.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from catalog.models import Track
from recommender.models import FeedImpression, FeedSnapshot

__all__ = ["SnapshotState", "async_commit_from", "impressions_upsert", "snapshot_state"]


def async_commit_from(*sources: str) -> str:
    """`` FROM`` with ``sources`` plus an item that lets the statement's own commit skip the
    wait for the WAL flush (or just ``sources``; empty for none).

    For the feed's derived data only (impressions): a crash may lose the last few counts, never
    the listening log. PostgreSQL in autocommit
    only: inside a transaction the setting would reach the caller's other writes. One statement
    instead of BEGIN / SET LOCAL / write / COMMIT: one round trip instead of four.
    """
    items = list(sources)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        items.append("(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit")
    return f" FROM {', '.join(items)}" if items else ""


def impressions_upsert(*, user_id: int, shown: Sequence[tuple[int, str]], now: datetime) -> None:
    """Add one to the count of each (listener, piece) pair and set the source that showed it,
    in one statement; ``shown`` holds ``(track_id, source)`` pairs.

    Pairs whose listener or piece was deleted meanwhile are left out, never failing the rest.
    ``shown`` must hold each piece once. Rows are written in the order of their piece, so
    two pages of one listener served at once wait for each other instead of deadlocking.
    """
    q = connection.ops.quote_name
    table = q(FeedImpression._meta.db_table)
    user_meta, track_meta = get_user_model()._meta, Track._meta
    users, user_pk = q(user_meta.db_table), q(user_meta.pk.column)
    tracks, track_pk = q(track_meta.db_table), q(track_meta.pk.column)
    values = " UNION ALL ".join(["SELECT %s AS t, %s AS s"] * len(shown))
    source = async_commit_from(f"({values}) AS shown")
    sql = (
        f"INSERT INTO {table} "
        f"(user_id, track_id, shown_count, first_shown_at, last_shown_at, source) "
        f"SELECT %s, shown.t, 1, %s, %s, shown.s{source} "
        f"WHERE EXISTS (SELECT 1 FROM {users} WHERE {user_pk} = %s) "
        f"AND EXISTS (SELECT 1 FROM {tracks} WHERE {track_pk} = shown.t) ORDER BY shown.t "
        f"ON CONFLICT (user_id, track_id) DO UPDATE SET "
        f"shown_count = {table}.shown_count + 1, last_shown_at = EXCLUDED.last_shown_at, "
        f"source = EXCLUDED.source"
    )
    pairs = [value for track_id, name in shown for value in (track_id, name)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, now, now, *pairs, user_id])


SnapshotState = tuple[int, bool, datetime, bool, list]  # build, stale, built_at, newer own, items


def snapshot_state(*, user_id: int) -> SnapshotState | None:
    """A listener's snapshot: its build, whether it is stale, when it was built, whether a piece
    of theirs was created since, and its items; None without one."""
    q = connection.ops.quote_name
    table, tracks = q(FeedSnapshot._meta.db_table), q(Track._meta.db_table)
    sql = (
        f"SELECT s.build, s.stale, s.built_at, EXISTS (SELECT 1 FROM {tracks} own "
        f"WHERE own.owner_id = s.user_id AND own.created_at > s.built_at), s.items "
        f"FROM {table} s WHERE s.user_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    build, stale, built_at, newer_own, items = row
    if isinstance(built_at, str):  # SQLite may return timestamps as text to raw queries
        built_at = datetime.fromisoformat(built_at)
    if isinstance(items, str):  # and JSON always
        items = json.loads(items)
    if timezone.is_naive(built_at):
        built_at = timezone.make_aware(built_at, UTC)
    return build, bool(stale), built_at, bool(newer_own), items
