"""Feed impressions, counted in memory and written in batches.

Every feed page shows about twenty pieces. Writing each page's impressions at once made that
upsert the most expensive part of serving a page. Pages add to a per-process buffer instead,
written as one aggregated upsert at most ``FEED_IMPRESSIONS_FLUSH_SECONDS`` later (by a
background thread, and at process exit), so a piece shown several times between two flushes
costs one row update. A crash loses at most that interval's counts of one process: impressions
are a soft signal (they make pieces shown often and never played sink), unlike the listening
log, which is written synchronously. ``FEED_IMPRESSIONS_FLUSH_SECONDS = 0`` writes through.

A page that must leave out what its session was shown (after feedback rebuilt the feed) writes
this process's buffer first; another process's share arrives within the interval, so a page
served in that second may repeat a piece another process showed.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection
from django.utils import timezone

from catalog.models import Track
from recommender.models import FeedImpression

__all__ = ["async_commit_from", "impressions_add", "impressions_flush", "impressions_write"]

logger = logging.getLogger(__name__)

_CHUNK = 500  # rows per statement
_MAX_PENDING = 200_000  # (listener, piece) pairs held while the database is unreachable


@dataclass(slots=True)
class Shown:
    """How often one piece was shown to one listener since the last write."""

    count: int
    first: datetime
    last: datetime


Counts = dict[tuple[int, int], Shown]  # (user id, track id) -> Shown


def async_commit_from(*sources: str) -> str:
    """`` FROM`` with ``sources`` plus an item that lets the statement's own commit skip the
    wait for the WAL flush (or just ``sources``; empty for none).

    For the feed's derived data only (snapshots, impressions): a crash may lose the last few,
    which costs one rebuild or a few counts, never the listening log. PostgreSQL in autocommit
    only: inside a transaction the setting would reach the caller's other writes. One statement
    instead of BEGIN / SET LOCAL / write / COMMIT: one round trip instead of four.
    """
    items = list(sources)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        items.append("(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit")
    return f" FROM {', '.join(items)}" if items else ""


def impressions_write(counts: Counts) -> None:
    """Add ``counts`` to the impressions table (upserts of at most ``_CHUNK`` rows each).

    Pairs whose listener or piece was deleted meanwhile are left out, so one deletion never
    blocks the rest.
    """
    q = connection.ops.quote_name
    table = q(FeedImpression._meta.db_table)
    user_meta, track_meta = get_user_model()._meta, Track._meta
    users, user_pk = q(user_meta.db_table), q(user_meta.pk.column)
    tracks, track_pk = q(track_meta.db_table), q(track_meta.pk.column)
    latest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    row_sql = "SELECT %s AS u, %s AS t, %s AS n, %s AS f, %s AS l"
    rows = [(u, t, s.count, s.first, s.last) for (u, t), s in counts.items()]
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        values = " UNION ALL ".join([row_sql] * len(chunk))
        source = async_commit_from(f"({values}) AS shown")
        sql = (
            f"INSERT INTO {table} (user_id, track_id, shown_count, first_shown_at, last_shown_at) "
            f"SELECT shown.u, shown.t, shown.n, shown.f, shown.l{source} "
            f"WHERE EXISTS (SELECT 1 FROM {users} WHERE {user_pk} = shown.u) "
            f"AND EXISTS (SELECT 1 FROM {tracks} WHERE {track_pk} = shown.t) "
            f"ON CONFLICT (user_id, track_id) DO UPDATE SET "
            f"shown_count = {table}.shown_count + EXCLUDED.shown_count, "
            f"last_shown_at = {latest}({table}.last_shown_at, EXCLUDED.last_shown_at)"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for row in chunk for value in row])


class _Buffer:
    """Counts waiting to be written, and the thread that writes them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # guards ``counts``
        self.writing = threading.Lock()  # one write at a time: a flush waits for one under way
        self.counts: Counts = {}
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def add(self, user_id: int, track_ids: Iterable[int], now: datetime) -> None:
        with self.lock:
            for tid in track_ids:
                shown = self.counts.get((user_id, tid))
                if shown is None:
                    self.counts[(user_id, tid)] = Shown(1, now, now)
                else:
                    shown.count += 1
                    shown.last = now
            if self.thread is None or not self.thread.is_alive():  # first use, or after a fork
                self.thread = threading.Thread(target=self._run, name="impressions", daemon=True)
                self.thread.start()

    def reset(self) -> None:
        """Forget everything (a forked child must not write its parent's counts again)."""
        self.lock, self.writing = threading.Lock(), threading.Lock()
        self.counts, self.thread = {}, None

    def _put_back(self, counts: Counts) -> None:
        with self.lock:
            if len(self.counts) + len(counts) > _MAX_PENDING:
                logger.warning("impressions buffer full; %d counts dropped", len(counts))
                return
            for key, shown in counts.items():
                mine = self.counts.get(key)
                if mine is None:
                    self.counts[key] = shown
                else:
                    mine.count += shown.count
                    mine.first, mine.last = min(mine.first, shown.first), max(mine.last, shown.last)

    def flush(self) -> int:
        """Write what is buffered now; the number of (listener, piece) pairs sent.

        A database that cannot be reached keeps the counts for the next try (and raises); a
        batch the database refuses (a constraint) is dropped with a warning, never retried
        for ever.
        """
        with self.writing:
            with self.lock:
                counts, self.counts = self.counts, {}
            if not counts:
                return 0
            try:
                impressions_write(counts)
            except IntegrityError:
                logger.warning("%d impressions refused by the database; dropped", len(counts))
                return 0
            except Exception:
                self._put_back(counts)
                raise
            return len(counts)

    def _run(self) -> None:
        while not self.stop.wait(max(float(settings.FEED_IMPRESSIONS_FLUSH_SECONDS), 0.05)):
            try:
                self.flush()
            except Exception:  # this thread must outlive any one failed write
                logger.warning("impressions not written yet; retrying", exc_info=True)
                connection.close()  # this thread's own connection; the next try reconnects
            else:
                connection.close_if_unusable_or_obsolete()  # honours CONN_MAX_AGE
        connection.close()


_buffer = _Buffer()
os.register_at_fork(after_in_child=_buffer.reset)


def impressions_add(*, user_id: int, track_ids: Iterable[int]) -> None:
    """Count that these pieces were shown to a listener (written within the flush interval)."""
    ids = list(dict.fromkeys(track_ids))
    if not ids:
        return
    now = timezone.now()
    if float(settings.FEED_IMPRESSIONS_FLUSH_SECONDS) <= 0:
        impressions_write({(user_id, tid): Shown(1, now, now) for tid in ids})
        return
    _buffer.add(user_id, ids, now)


def impressions_flush() -> int:
    """Write this process's buffered impressions now; the number of pairs sent."""
    return _buffer.flush()


@atexit.register
def _flush_at_exit() -> None:
    try:
        _buffer.flush()
    except Exception:
        logger.warning("impressions lost at exit", exc_info=True)
