"""API throttling: a budget per client and one per endpoint, counted together once per request.

Every request spends from its client's budget (scope ``anon``, by address, or ``user``, by
account) and, where the view names a ``throttle_scope`` (``auth``, ``feed``, ...), from that
endpoint's budget too. Rates come from ``DEFAULT_THROTTLE_RATES`` at request time, so
``override_settings`` and tests can change them; a scope without a rate is not throttled.

Two ways of counting:

- Low rates (at most ``EXACT_UP_TO`` requests per period, which guard sign-in and generation)
  keep DRF's exact log of request times.
- Higher rates count in fixed windows: one counter per window whatever the rate, at the price of
  a client spending up to two windows' allowance around a window's end. DRF's log would be read
  and rewritten whole on every request (3,000 timestamps for 3,000/min). All of a request's
  window counters are counted at once: on Redis, one round trip for both budgets.

Keys are DRF's (``throttle_<scope>_<ident>``), so a deployment keeps its counters.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from rest_framework import throttling
from rest_framework.settings import api_settings

__all__ = ["ApiThrottle", "window_counts"]


def window_counts(cache: BaseCache, windows: list[tuple[str, int]]) -> list[int]:
    """Count one more request in each window counter ``(key, ttl seconds)``; their counts.

    On Redis, one round trip for all of them: per counter, a pipelined ``SET key 0 EX ttl NX``
    (which starts the window) then ``INCR`` (which keeps the expiry; any Redis version), on a
    client kept with the cache. Django's ``incr`` takes two round trips per counter and builds a
    client object for each. Elsewhere, the cache API.
    """
    if isinstance(cache, RedisCache):
        # Django's Redis backend exposes no raw client: ``_cache`` is its (private) client
        # factory. Backends are per thread, and so is the client kept on one.
        client = getattr(cache, "_throttle_client", None)
        if client is None:
            client = cache._throttle_client = cache._cache.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        for key, ttl in windows:
            full_key = cache.make_and_validate_key(key)
            pipe.set(full_key, 0, ex=ttl, nx=True)
            pipe.incr(full_key)
        return [int(count) for count in pipe.execute()[1::2]]
    return [_count(cache, key, ttl) for key, ttl in windows]


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


class Budget(NamedTuple):
    key: str  # DRF's cache key of the scope and client
    requests: int
    seconds: int


class ApiThrottle(throttling.BaseThrottle):
    """The API's one throttle class: the client's budget and the view's, as described above."""

    EXACT_UP_TO = 100
    cache_format = "throttle_%(scope)s_%(ident)s"
    timer = time.time

    def __init__(self) -> None:
        self.waits: list[float] = []

    @property
    def cache(self) -> BaseCache:
        return caches[DEFAULT_CACHE_ALIAS]

    def budgets(self, request, view) -> list[Budget]:
        """The budgets ``request`` spends from: its client's, then its view's scope's."""
        rates = api_settings.DEFAULT_THROTTLE_RATES or {}
        user = request.user
        if user is not None and user.is_authenticated:
            scopes, ident = ["user"], str(user.pk)
        else:
            scopes, ident = ["anon"], self.get_ident(request)
        view_scope = getattr(view, "throttle_scope", None)
        if view_scope:
            scopes.append(view_scope)
        budgets = []
        for scope in scopes:
            rate = rates.get(scope)
            if rate:
                requests, seconds = throttling.SimpleRateThrottle.parse_rate(self, rate)
                key = self.cache_format % {"scope": scope, "ident": ident}
                budgets.append(Budget(key, requests, seconds))
        return budgets

    def allow_request(self, request, view) -> bool:
        now = self.timer()
        self.waits = []
        windowed: list[tuple[Budget, int]] = []
        for budget in self.budgets(request, view):
            if budget.requests <= self.EXACT_UP_TO:
                self._exact(budget, now)
            else:
                windowed.append((budget, int(now // budget.seconds)))
        if windowed:
            counters = [(f"{b.key}:{window}", b.seconds + 1) for b, window in windowed]
            counts = window_counts(self.cache, counters)
            for (budget, window), count in zip(windowed, counts, strict=True):
                if count > budget.requests:
                    self.waits.append((window + 1) * budget.seconds - now)
        return not self.waits

    def _exact(self, budget: Budget, now: float) -> None:
        """DRF's log of request times: refused while ``requests`` fall within the period."""
        history = self.cache.get(budget.key, [])
        while history and history[-1] <= now - budget.seconds:
            history.pop()
        if len(history) >= budget.requests:  # allowed again when the oldest of them expires
            self.waits.append(history[budget.requests - 1] + budget.seconds - now)
            return
        history.insert(0, now)
        self.cache.set(budget.key, history, budget.seconds)

    def wait(self) -> float | None:
        return max(self.waits) if self.waits else None
