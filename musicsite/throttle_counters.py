"""Window counters for the API's throttles: in the cache, and on Redis counted per process.

``window_counts`` counts one more request in each of a request's window counters and returns
their counts. On Redis, where every gunicorn worker (and host) shares the counters, a network
round trip on every API request cost more than most of the request's own work. So a process
counts locally while a counter is far from its limit and a background thread adds its counts
to Redis every ``API_THROTTLE_SYNC_SECONDS`` (0.05 s by default). From ``LOCAL_SHARE`` of a
limit on, a request counts in Redis at once and uses the total Redis answers:

- A client far from its limits (nearly every client) costs no round trip.
- Near a limit each process counts in Redis, but another process's local counts reach Redis
  only at its next sync. A client can therefore exceed a limit by what the other processes let
  through for it in the last sync interval, never more than ``LOCAL_SHARE`` of the limit each
  (a burst of that size within 0.05 s). ``API_THROTTLE_SYNC_SECONDS=0`` counts every request
  in Redis at once, exactly.
- While Redis cannot be reached, each process counts on its own (and says so once): the API
  keeps answering, with per-process limits, and adds the counts of windows still open once
  Redis is back.

Elsewhere (the per-process memory cache of ``make run``, any other backend) counts go through
the cache API, in the request.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from redis import RedisError

__all__ = ["LOCAL_SHARE", "Counter", "SharedCounters", "window_counts", "window_counts_flush"]

logger = logging.getLogger(__name__)

LOCAL_SHARE = 0.5  # a counter is counted locally up to this share of its limit
_MAX_KEYS = 100_000  # counters held per process (pending or known) before older ones go
_CHUNK = 1_000  # counters per pipeline


class Counter(NamedTuple):
    key: str  # the cache key (with the window's number)
    ttl: int  # seconds to keep it after its last count
    limit: int  # the most requests its budget allows


def window_counts(cache: BaseCache, counters: list[Counter]) -> list[int]:
    """Count one more request in each counter; their counts, this request's included."""
    if not counters:
        return []
    if isinstance(cache, RedisCache):  # keys of scope names and client ids: Redis takes any
        full = [Counter(cache.make_key(c.key), c.ttl, c.limit) for c in counters]
        return _shared_counters(cache).count(full)
    return [_count(cache, c.key, c.ttl) for c in counters]


def window_counts_flush(cache: BaseCache) -> None:
    """Add this process's pending counts to ``cache`` now (on Redis; elsewhere nothing waits)."""
    if isinstance(cache, RedisCache):
        _shared_counters(cache).flush()


def _count(cache: BaseCache, key: str, ttl: int) -> int:
    try:  # one operation in the steady state; a window's first request adds the counter
        return cache.incr(key)
    except ValueError:
        pass
    if cache.add(key, 1, ttl):
        return 1
    try:  # another request added it in between
        return cache.incr(key)
    except ValueError:  # and it expired since: a new window
        return 1


@dataclass(slots=True)
class Pending:
    """Counts of one counter not yet added to Redis."""

    count: int
    ttl: int
    since: float  # monotonic time of the first of them


class Known(NamedTuple):
    total: int  # the counter's total as Redis last answered it
    until: float  # monotonic time after which the counter has expired


class SharedCounters:
    """One process's counts on one Redis server (see the module's text).

    A counter's estimate is its last known total, plus the counts being sent, plus those
    pending. ``lock`` guards the dictionaries; ``writing`` makes a flush wait for one under way.
    """

    def __init__(self, client, *, background: bool = True) -> None:
        self.client = client  # redis-py, thread-safe (a connection pool)
        self.background = background  # False: counts wait for ``flush`` (tests)
        self.stop: threading.Event | None = None
        self.reset()

    def reset(self) -> None:
        """Start empty, ending the background thread (a forked child must not add its parent's
        counts again)."""
        if self.stop is not None:
            self.stop.set()
            self.wake.set()
        self.lock, self.writing = threading.Lock(), threading.Lock()
        self.pending: dict[str, Pending] = {}
        self.inflight: dict[str, int] = {}
        self.known: dict[str, Known] = {}
        self.stop, self.wake = threading.Event(), threading.Event()
        self.thread: threading.Thread | None = None
        self.failing = False

    def close(self) -> None:
        """End the background thread and forget what is pending (tests)."""
        thread = self.thread
        self.reset()
        if thread is not None:
            thread.join(timeout=5)

    def count(self, counters: list[Counter]) -> list[int]:
        """Count one request in each counter (full keys); the counts as described above."""
        exact = float(settings.API_THROTTLE_SYNC_SECONDS) <= 0
        with self.lock:
            estimates = [self._estimate(c.key) + 1 for c in counters]
            near = [n > c.limit * LOCAL_SHARE for n, c in zip(estimates, counters, strict=True)]
            if self.failing or not (exact or any(near)):
                now = time.monotonic()
                for c in counters:
                    self._add_pending(c.key, 1, c.ttl, now)
                self.wake.set()
                self._start()
                return estimates
            batch = {}
            for c in counters:
                held = self.pending.pop(c.key, None)
                batch[c.key] = Pending(1 + (held.count if held else 0), c.ttl, time.monotonic())
            self._take(batch)
        try:
            totals = self._send(batch)
        except RedisError:
            return estimates  # counted per process until Redis is back
        return [totals[c.key] for c in counters]

    def flush(self) -> int:
        """Add this process's pending counts to Redis now; the number of counters sent."""
        with self.writing:
            with self.lock:
                batch, self.pending = self.pending, {}
                self._take(batch)
                if len(self.known) > _MAX_KEYS:
                    now = time.monotonic()
                    self.known = {k: v for k, v in self.known.items() if v.until > now}
                    if len(self.known) > _MAX_KEYS:
                        self.known.clear()  # estimates start again from the next answers
            if not batch:
                return 0
            self._send(batch)
        if self.failing:
            logger.warning("throttle counters reachable again; counting in Redis")
            self.failing = False
        return len(batch)

    def _estimate(self, key: str) -> int:
        known = self.known.get(key)
        total = known.total if known is not None and known.until > time.monotonic() else 0
        pending = self.pending.get(key)
        return total + self.inflight.get(key, 0) + (pending.count if pending else 0)

    def _add_pending(self, key: str, n: int, ttl: int, since: float) -> None:
        entry = self.pending.get(key)
        if entry is not None:
            entry.count += n
        elif len(self.pending) < _MAX_KEYS:  # beyond, Redis has been away long: let it go
            self.pending[key] = Pending(n, ttl, since)

    def _take(self, batch: dict[str, Pending]) -> None:
        """Mark ``batch`` as being sent (under ``lock``): estimates still include it."""
        for key, entry in batch.items():
            self.inflight[key] = self.inflight.get(key, 0) + entry.count

    def _send(self, batch: dict[str, Pending]) -> dict[str, int]:
        """``INCRBY`` then ``EXPIRE`` per counter, a round trip per ``_CHUNK``; the totals.

        On failure the counts go back to pending (those of windows still open), and
        ``RedisError`` is raised.
        """
        totals: dict[str, int] = {}
        keys = list(batch)
        try:
            for start in range(0, len(keys), _CHUNK):
                pipe = self.client.pipeline(transaction=False)
                for key in keys[start : start + _CHUNK]:
                    pipe.incrby(key, batch[key].count)
                    pipe.expire(key, batch[key].ttl)
                replies = pipe.execute()[::2]
                totals.update(zip(keys[start : start + _CHUNK], map(int, replies), strict=True))
        except RedisError:
            self._failed({k: v for k, v in batch.items() if k not in totals})
            self._settle({k: v for k, v in batch.items() if k in totals}, totals)
            raise
        self._settle(batch, totals)
        return totals

    def _settle(self, batch: dict[str, Pending], totals: dict[str, int]) -> None:
        now = time.monotonic()
        with self.lock:
            for key, entry in batch.items():
                self._release(key, entry.count)
                known = self.known.get(key)  # totals only grow within a window
                if known is None or known.total < totals[key]:
                    self.known[key] = Known(totals[key], now + entry.ttl)

    def _failed(self, batch: dict[str, Pending]) -> None:
        now = time.monotonic()
        with self.lock:
            if not self.failing:
                logger.warning(
                    "throttle counters not reachable; counting per process", exc_info=True
                )
            self.failing = True
            for key, entry in batch.items():
                self._release(key, entry.count)
                if entry.since + entry.ttl > now:  # its window may still be open
                    self._add_pending(key, entry.count, entry.ttl, entry.since)
            self.wake.set()

    def _release(self, key: str, n: int) -> None:
        left = self.inflight.get(key, 0) - n
        if left > 0:
            self.inflight[key] = left
        else:
            self.inflight.pop(key, None)

    def _start(self) -> None:
        if not self.background:
            return
        if self.thread is None or not self.thread.is_alive():  # first use, or after a fork
            self.thread = threading.Thread(
                target=self._run, args=(self.stop, self.wake), name="throttle-sync", daemon=True
            )
            self.thread.start()

    def _run(self, stop: threading.Event, wake: threading.Event) -> None:
        while not stop.is_set():
            wake.wait()
            if stop.wait(max(float(settings.API_THROTTLE_SYNC_SECONDS), 0.001)):  # a batch
                break
            wake.clear()
            try:
                self.flush()
            except RedisError:  # logged once by ``_failed``; retried until Redis is back
                stop.wait(1.0)


_registry: dict[str, SharedCounters] = {}
_registry_lock = threading.Lock()


def _shared_counters(cache: RedisCache) -> SharedCounters:
    """The process's counters for ``cache``'s Redis server, kept on the (per-thread) backend.

    Django's Redis backend exposes no raw client: ``_cache`` is its (private) client factory.
    """
    counters = getattr(cache, "_throttle_counters", None)
    if counters is None:
        client = cache._cache.get_client(write=True)
        where = client.connection_pool.connection_kwargs
        server = repr([where.get(k) for k in ("host", "port", "path", "db", "username")])
        with _registry_lock:
            counters = _registry.setdefault(server, SharedCounters(client))
        cache._throttle_counters = counters
    return counters


def _reset_after_fork() -> None:
    global _registry_lock
    _registry_lock = threading.Lock()
    for counters in _registry.values():
        counters.reset()


os.register_at_fork(after_in_child=_reset_after_fork)


@atexit.register
def _flush_at_exit() -> None:
    for counters in list(_registry.values()):
        try:
            counters.flush()
        except RedisError:
            logger.warning("throttle counts not added at exit", exc_info=True)
