"""Window counters for the API's throttles: in the cache, and on Redis batched per process.

``window_counts`` counts one more request in each of a request's window counters and returns
their counts. On Redis, where every gunicorn worker (and host) shares the counters, a network
round trip on every API request cost more than most of the request's own work. So a process
counts locally while a counter is far from its limit and adds its counts to Redis in the
background (``API_THROTTLE_SYNC_SECONDS``, 0.05 s by default), and counts in Redis at once,
in the request, from half its limit on:

- A client far from its limits (nearly every client) costs no round trip.
- Near a limit every process counts in Redis, so the limit holds exactly; a client that
  rushes past half its limit within one sync interval can overshoot by what the other
  processes counted in that interval.
- While Redis cannot be reached, each process counts on its own (and logs a warning): the API
  keeps answering, with per-process limits, until Redis is back, and nothing counted is lost.

Elsewhere (the per-process memory cache of ``make run``, any other backend) counts go through
the cache API, in the request.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from django.conf import settings
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache

__all__ = ["SharedCounters", "Window", "window_counts", "window_counts_flush"]

logger = logging.getLogger(__name__)

Window = tuple[str, int, int]  # cache key, seconds to keep the counter, the limit it guards
_MAX_KEYS = 100_000  # counts and known totals held per process before they are let go


def window_counts(cache: BaseCache, windows: list[Window]) -> list[int]:
    """Count one more request in each window counter; their counts, this request's included."""
    if not windows:
        return []
    if isinstance(cache, RedisCache):
        return _shared_counters(cache).count(
            [(cache.make_and_validate_key(key), ttl, limit) for key, ttl, limit in windows]
        )
    return [_count(cache, key, ttl) for key, ttl, _ in windows]


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


class SharedCounters:
    """One process's view of the window counters on one Redis server (see the module's text).

    ``pending``: counts not yet added to Redis, by key; ``known``: each counter's total as Redis
    last answered it, with when this process may forget it.
    """

    def __init__(self, client, *, background: bool = True) -> None:
        self.client = client  # redis-py, thread-safe (a connection pool)
        self.background = background  # False: counts wait for ``flush`` (tests)
        self.reset()

    def reset(self) -> None:
        """Start empty (a forked child must not add its parent's counts again)."""
        self.lock = threading.Lock()
        self.pending: dict[str, list[int]] = {}  # key -> [count, ttl]
        self.known: dict[str, tuple[int, float]] = {}  # key -> (total, forget at, monotonic)
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.failing = False

    def count(self, windows: list[Window]) -> list[int]:
        """Count one request in each ``(full key, ttl, limit)``; the counts as described."""
        with self.lock:
            estimates = [self._estimate(key) + 1 for key, _, _ in windows]
            if self.failing or all(
                2 * n <= limit for n, (_, _, limit) in zip(estimates, windows, strict=True)
            ):
                for key, ttl, _ in windows:
                    self._add_pending(key, 1, ttl)
                self.wake.set()
                self._start()
                return estimates
            batch = {key: [1 + self.pending.pop(key, [0])[0], ttl] for key, ttl, _ in windows}
        try:
            totals = self._send(batch)
        except Exception:
            logger.warning("throttle counters not reachable; counting per process", exc_info=True)
            self._put_back(batch, failing=True)
            return estimates
        return [totals[key] for key, _, _ in windows]

    def flush(self) -> int:
        """Add this process's pending counts to Redis now; the number of counters sent."""
        with self.lock:
            batch, self.pending = self.pending, {}
            now = time.monotonic()
            if len(self.known) > _MAX_KEYS // 2:
                self.known = {k: v for k, v in self.known.items() if v[1] > now}
        if not batch:
            return 0
        try:
            self._send(batch)
        except Exception:
            self._put_back(batch, failing=True)
            raise
        if self.failing:
            logger.warning("throttle counters reachable again; counting in Redis")
            self.failing = False
        return len(batch)

    def _estimate(self, key: str) -> int:
        known = self.known.get(key)
        total = known[0] if known is not None and known[1] > time.monotonic() else 0
        pending = self.pending.get(key)
        return total + (pending[0] if pending is not None else 0)

    def _add_pending(self, key: str, n: int, ttl: int) -> None:
        entry = self.pending.get(key)
        if entry is None:
            if len(self.pending) >= _MAX_KEYS:
                return  # Redis has been away a long time: let this count go
            self.pending[key] = [n, ttl]
        else:
            entry[0] += n

    def _put_back(self, batch: dict[str, list[int]], *, failing: bool) -> None:
        with self.lock:
            self.failing = failing
            for key, (n, ttl) in batch.items():
                self._add_pending(key, n, ttl)
            self.wake.set()

    def _send(self, batch: dict[str, list[int]]) -> dict[str, int]:
        """``INCRBY`` then ``EXPIRE`` per counter, one round trip; the totals Redis answers."""
        pipe = self.client.pipeline(transaction=False)
        for key, (n, ttl) in batch.items():
            pipe.incrby(key, n)
            pipe.expire(key, ttl)
        replies = pipe.execute()[::2]
        totals = dict(zip(batch, map(int, replies), strict=True))
        now = time.monotonic()
        with self.lock:
            for key, total in totals.items():
                known = self.known.get(key)  # totals only grow within a window
                if known is None or known[0] < total:
                    self.known[key] = (total, now + batch[key][1])
        return totals

    def _start(self) -> None:
        if not self.background:
            return
        if self.thread is None or not self.thread.is_alive():  # first use, or after a fork
            self.thread = threading.Thread(target=self._run, name="throttle-sync", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        while True:
            self.wake.wait()
            time.sleep(max(float(settings.API_THROTTLE_SYNC_SECONDS), 0.001))  # gather a batch
            self.wake.clear()
            try:
                self.flush()
            except Exception:  # this thread must outlive an unreachable Redis
                logger.warning("throttle counters not reachable; retrying", exc_info=True)
                time.sleep(1.0)


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
    for counters in _registry.values():
        counters.reset()


os.register_at_fork(after_in_child=_reset_after_fork)


@atexit.register
def _flush_at_exit() -> None:
    for counters in list(_registry.values()):
        try:
            counters.flush()
        except Exception:
            logger.warning("throttle counts not added at exit", exc_info=True)
