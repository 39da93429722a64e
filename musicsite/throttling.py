"""API throttling: a budget per client and one per endpoint, counted together once per request.

Every request spends from its client's budget (scope ``anon``, by address, or ``user``, by
account) and, where the view names a ``throttle_scope`` (``auth``, ``feed``, ...), from that
endpoint's budget too. A refused request is still counted in the budgets that allowed it, as
DRF's throttles do; ``Retry-After`` is the longest wait among the budgets that refused it.
Anonymous requests spend from ``anon`` only (DRF's ``UserRateThrottle`` would also charge them
to ``user``, by address). Rates come from ``DEFAULT_THROTTLE_RATES`` at request time, so
``override_settings`` and tests can change them; a scope without a rate is not throttled.

Two ways of counting:

- Low rates (at most ``EXACT_UP_TO`` requests per period, which guard sign-in and sign-up) keep
  DRF's exact log of request times.
- Higher rates count in fixed windows: one counter per window whatever the rate, at the price of
  a client spending up to two windows' allowance around a window's end. DRF's log would be read
  and rewritten whole on every request (3,000 timestamps for 3,000/min). All of a request's
  window counters are counted at once; on Redis, in the background while a client is far from
  its limits (``musicsite.throttle_counters``).

Keys are DRF's (``throttle_<scope>_<ident>``; ``:<window number>`` added for a window counter).
An anonymous client is its address as ``musicsite.client_address`` decides it, never what it
writes in ``X-Forwarded-For`` unless proxies are configured.
While the cache's Redis cannot be reached, each process counts on its own and the API answers.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache
from typing import NamedTuple

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ImproperlyConfigured
from redis import RedisError
from rest_framework import throttling
from rest_framework.settings import api_settings

from musicsite.client_address import client_address
from musicsite.throttle_counters import Counter, window_counts

__all__ = ["ApiThrottle", "budgets_spend", "parse_rate"]

logger = logging.getLogger(__name__)

# Where the exact logs go for ``_LOGS_IN_PROCESS_SECONDS`` after the cache's Redis failed: this
# process's memory. Their requests are not added to Redis when it is back.
_PROCESS_LOGS = LocMemCache("throttle-logs", {"OPTIONS": {"MAX_ENTRIES": 100_000}})
_LOGS_IN_PROCESS_SECONDS = 10.0
_logs_in_process_until = 0.0


def _log_cache(cache: BaseCache) -> BaseCache:
    return _PROCESS_LOGS if time.monotonic() < _logs_in_process_until else cache


def _log_cache_failed() -> None:
    """Keep the logs in this process for a while (saying so once per while), not waiting on an
    unreachable Redis on every sign-in."""
    global _logs_in_process_until
    if time.monotonic() >= _logs_in_process_until:
        logger.warning("throttle logs not reachable; counting per process", exc_info=True)
    _logs_in_process_until = time.monotonic() + _LOGS_IN_PROCESS_SECONDS


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@lru_cache(maxsize=64)
def parse_rate(scope: str, rate: str) -> tuple[int, int]:
    """``"600/min"`` as (600, 60): requests per period (``s``, ``min``, ``hour``, ``day``: DRF's
    periods); ImproperlyConfigured naming ``scope`` and ``rate`` when malformed."""
    requests, _, period = rate.partition("/")
    try:
        return int(requests), _PERIODS[period.strip()[:1]]
    except (KeyError, ValueError):
        raise ImproperlyConfigured(
            f"Throttle rate {scope}={rate!r} is not valid: expected <requests>/<s|min|hour|day>"
        ) from None


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

    def get_ident(self, request) -> str:
        """The client's address (``musicsite.client_address``: ``X-Forwarded-For`` only behind
        ``NUM_PROXIES`` proxies)."""
        return client_address(request) or "unknown"

    def budgets(self, request, view) -> list[Budget]:
        """The budgets ``request`` spends from: its client's, then its view's scope's."""
        user = request.user
        if user is not None and user.is_authenticated:
            scopes, ident = ["user"], str(user.pk)
        else:
            scopes, ident = ["anon"], self.get_ident(request)
        view_scope = getattr(view, "throttle_scope", None)
        if view_scope:
            scopes.append(view_scope)
        return [b for scope in scopes if (b := self.budget(scope, ident)) is not None]

    def budget(self, scope: str, ident: str) -> Budget | None:
        """``ident``'s budget in ``scope``; None where the scope has no rate."""
        rate = (api_settings.DEFAULT_THROTTLE_RATES or {}).get(scope)
        if not rate:
            return None
        requests, seconds = parse_rate(scope, rate)
        return Budget(self.cache_format % {"scope": scope, "ident": ident}, requests, seconds)

    def allow_request(self, request, view) -> bool:
        self.waits = self.spend(self.budgets(request, view))
        return not self.waits

    def spend(self, budgets: list[Budget]) -> list[float]:
        """Count one request in each of ``budgets``; the seconds to wait of those that refuse."""
        now = self.timer()
        waits = []
        windowed: list[tuple[Budget, int]] = []  # and the number of the window now
        for budget in budgets:
            if budget.requests <= self.EXACT_UP_TO:
                wait = self._spend_from_log(budget, now)
                if wait is not None:
                    waits.append(wait)
            else:
                windowed.append((budget, int(now // budget.seconds)))
        if windowed:
            counters = [Counter(f"{b.key}:{n}", b.seconds + 1, b.requests) for b, n in windowed]
            counts = window_counts(self.cache, counters)
            for (budget, n), count in zip(windowed, counts, strict=True):
                if count > budget.requests:
                    waits.append((n + 1) * budget.seconds - now)
        return waits

    def _spend_from_log(self, budget: Budget, now: float) -> float | None:
        """Record the request in ``budget``'s log of request times (DRF's); None, or the seconds
        to wait when ``budget.requests`` requests already fall within the period."""
        if budget.requests <= 0:  # a scope switched off
            return float(budget.seconds)
        cache = _log_cache(self.cache)
        try:
            history = cache.get(budget.key, [])
        except RedisError:
            _log_cache_failed()
            cache = _PROCESS_LOGS
            history = cache.get(budget.key, [])
        while history and history[-1] <= now - budget.seconds:
            history.pop()
        if len(history) >= budget.requests:  # allowed again once the requests-th newest expires
            return history[budget.requests - 1] + budget.seconds - now
        history.insert(0, now)
        try:
            cache.set(budget.key, history, budget.seconds)
        except RedisError:
            _log_cache_failed()
            _PROCESS_LOGS.set(budget.key, history, budget.seconds)
        return None

    def wait(self) -> float | None:
        return max(self.waits) if self.waits else None


def budgets_spend(spends: list[tuple[str, str]]) -> float | None:
    """Count one request in each (scope, ident) budget outside the API (the sign-up and
    password-reset pages), as the API's throttle counts; None, or the longest wait."""
    throttle = ApiThrottle()
    budgets = [b for scope, ident in spends if (b := throttle.budget(scope, ident)) is not None]
    waits = throttle.spend(budgets)
    return max(waits) if waits else None
