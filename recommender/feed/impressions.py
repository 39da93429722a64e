"""Feed impressions, counted in memory and written in batches.

Every feed page shows about twenty pieces. Writing each page's impressions at once made that
upsert the most expensive part of serving a page. Pages add to a per-process buffer instead,
written as one aggregated upsert at most ``FEED_IMPRESSIONS_FLUSH_SECONDS`` later (by a
background thread, and at process exit), so a piece shown several times between two flushes
costs one row update. A crash loses at most that interval's counts of one process: impressions
are a soft signal (they make pieces shown often and never played sink), unlike the listening
log, which is written synchronously. ``FEED_IMPRESSIONS_FLUSH_SECONDS = 0`` writes through.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from recommender.models import FeedImpression

__all__ = ["async_commit_source", "impressions_add", "impressions_flush", "impressions_write"]

logger = logging.getLogger(__name__)

_CHUNK = 500  # rows per statement
Counts = dict[tuple[int, int], list]  # (user id, track id) -> [count, first shown, last shown]


def async_commit_source() -> str:
    """A FROM item that lets a statement's own commit skip the wait for the WAL flush.

    For the feed's derived data only (snapshots, impressions): a crash may lose the last few,
    which costs one rebuild or a few counts, never the listening log. PostgreSQL in autocommit
    only: inside a transaction the setting would reach the caller's other writes. One statement
    instead of BEGIN / SET LOCAL / write / COMMIT: one round trip instead of four.
    """
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return "(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
    return ""


def impressions_write(counts: Counts) -> None:
    """Add ``counts`` to the impressions table (upserts of at most ``_CHUNK`` rows each)."""
    table = connection.ops.quote_name(FeedImpression._meta.db_table)
    rows = [(u, t, *v) for (u, t), v in counts.items()]
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        row_sql = "SELECT %s AS u, %s AS t, %s AS n, %s AS f, %s AS l"
        values = " UNION ALL ".join([row_sql] * len(chunk))
        async_commit = async_commit_source()
        source = f"({values}) AS shown" + (f", {async_commit}" if async_commit else "")
        sql = (
            f"INSERT INTO {table} (user_id, track_id, shown_count, first_shown_at, last_shown_at) "
            f"SELECT shown.u, shown.t, shown.n, shown.f, shown.l FROM {source} WHERE true "
            f"ON CONFLICT (user_id, track_id) DO UPDATE SET "
            f"shown_count = {table}.shown_count + EXCLUDED.shown_count, "
            f"last_shown_at = EXCLUDED.last_shown_at"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for row in chunk for value in row])


class _Buffer:
    """Counts waiting to be written, and the thread that writes them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counts = {}
        self.wake = threading.Event()
        self.pid = 0

    def add(self, user_id: int, track_ids: Iterable[int], now: datetime) -> None:
        with self.lock:
            for tid in track_ids:
                entry = self.counts.get((user_id, tid))
                if entry is None:
                    self.counts[(user_id, tid)] = [1, now, now]
                else:
                    entry[0] += 1
                    entry[2] = now
            if self.pid != os.getpid():  # first use in this process (or after a fork)
                self.pid = os.getpid()
                threading.Thread(target=self._run, name="impressions", daemon=True).start()

    def take(self) -> Counts:
        with self.lock:
            counts, self.counts = self.counts, {}
        return counts

    def put_back(self, counts: Counts) -> None:
        with self.lock:
            for key, (n, first, last) in counts.items():
                entry = self.counts.setdefault(key, [0, first, last])
                entry[0] += n
                entry[1] = min(entry[1], first)

    def flush(self) -> int:
        """Write what is buffered now; on a database error keep it for the next try."""
        counts = self.take()
        if not counts:
            return 0
        try:
            impressions_write(counts)
        except DatabaseError:
            self.put_back(counts)
            raise
        return len(counts)

    def _run(self) -> None:
        while True:
            self.wake.wait(max(float(settings.FEED_IMPRESSIONS_FLUSH_SECONDS), 0.05))
            self.wake.clear()
            try:
                self.flush()
            except DatabaseError:
                logger.warning("impressions not written yet; retrying", exc_info=True)
                connection.close()  # this thread's own connection; the next try reconnects
            else:
                connection.close_if_unusable_or_obsolete()  # honours CONN_MAX_AGE


_buffer = _Buffer()


def impressions_add(*, user_id: int, track_ids: Iterable[int]) -> None:
    """Count that these pieces were shown to a listener (written within the flush interval)."""
    ids = list(dict.fromkeys(track_ids))
    if not ids:
        return
    now = timezone.now()
    if float(settings.FEED_IMPRESSIONS_FLUSH_SECONDS) <= 0:
        impressions_write({(user_id, tid): [1, now, now] for tid in ids})
        return
    _buffer.add(user_id, ids, now)


def impressions_flush() -> int:
    """Write this process's buffered impressions now; the number of rows written."""
    return _buffer.flush()


@atexit.register
def _flush_at_exit() -> None:
    try:
        _buffer.flush()
    except Exception:
        logger.warning("impressions lost at exit", exc_info=True)
