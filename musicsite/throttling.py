"""API throttling: a budget per client and one per endpoint, counted in Django's cache.

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
- Higher rates count in fixed windows: one counter per window whatever the rate, at the price
  of a client spending up to two windows' allowance around a window's end. DRF's log would be
  read and rewritten whole on every request (3,000 timestamps for 3,000/min). On Redis a
  request's counters are counted in one round trip; elsewhere through the cache API.

Every response of a throttled request, allowed or refused, tells the client where it stands in
the budget it is closest to exhausting (the one that refused it, on a 429)::

    X-RateLimit-Limit: 3000       requests allowed per period
    X-RateLimit-Remaining: 2999   requests left (0 on a 429)
    X-RateLimit-Reset: 60         whole seconds until Remaining goes up again (on a 429, the
                                  Retry-After: a fixed window's end, or when the oldest request
                                  of an exact log stops counting)

The throttle leaves its ``Quota`` on the request; ``RateLimitHeadersMiddleware`` writes it.

Keys are DRF's (``throttle_<scope>_<ident>``; ``:<window number>`` added for a window counter).
An anonymous client is its address as ``musicsite.client_address`` decides it, never what it
writes in ``X-Forwarded-For`` unless proxies are configured. While the cache's Redis cannot be
reached, each process counts in its own memory for ``_LOCAL_SECONDS`` at a time (saying so once
a while) and the API answers.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from typing import NamedTuple, TypeVar

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from redis import RedisError
from rest_framework import throttling
from rest_framework.settings import api_settings

from musicsite.client_address import client_address

__all__ = ["ApiThrottle", "Quota", "RateLimitHeadersMiddleware", "budgets_spend", "parse_rate"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Where the counts go for ``_LOCAL_SECONDS`` after the cache's Redis failed: this process's
# memory. They are not added to Redis when it is back.
_LOCAL = LocMemCache("throttles", {"OPTIONS": {"MAX_ENTRIES": 100_000}})
_LOCAL_SECONDS = 10.0
_local_until = 0.0


def _counted(op: Callable[[BaseCache], T]) -> T:
    """``op`` on the default cache, or on this process's memory while Redis is unreachable."""
    global _local_until
    if time.monotonic() >= _local_until:
        try:
            return op(caches[DEFAULT_CACHE_ALIAS])
        except RedisError:
            logger.warning("throttle counters not reachable; counting per process", exc_info=True)
            _local_until = time.monotonic() + _LOCAL_SECONDS
    return op(_LOCAL)


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


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


class Quota(NamedTuple):
    """Where a request left its client in one budget."""

    limit: int  # requests per period
    remaining: int
    reset: float  # seconds until ``remaining`` goes up again
    refused: bool  # this request was over the budget

    def headers(self) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers (whole seconds, at least 1, as ``Retry-After``)."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(max(1, math.ceil(self.reset))),
        }


QUOTA_ATTRIBUTE = "api_quota"  # on Django's request: the Quota its response reports


def quota_reported(quotas: list[Quota]) -> Quota | None:
    """The budget a response reports: of those that refused the request (if any), the longest
    wait; else the one with the fewest requests left (then the longest until more)."""
    candidates = [q for q in quotas if q.refused] or quotas
    return min(candidates, key=lambda q: (q.remaining, -q.reset), default=None)


class ApiThrottle(throttling.BaseThrottle):
    """The API's one throttle class: the client's budget and the view's, as described above."""

    EXACT_UP_TO = 100
    cache_format = "throttle_%(scope)s_%(ident)s"
    timer: Callable[[], float] = time.time

    def __init__(self) -> None:
        self.quotas: list[Quota] = []

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
        requests, seconds = parse_rate(scope, rate)  # type: ignore[arg-type]  # stubs: a number
        return Budget(self.cache_format % {"scope": scope, "ident": ident}, requests, seconds)

    def allow_request(self, request, view) -> bool:
        self.quotas = self.spend(self.budgets(request, view))
        quota = quota_reported(self.quotas)
        if quota is not None:  # for RateLimitHeadersMiddleware
            setattr(getattr(request, "_request", request), QUOTA_ATTRIBUTE, quota)
        return not any(q.refused for q in self.quotas)

    def spend(self, budgets: list[Budget]) -> list[Quota]:
        """Count one request in each of ``budgets``; where it leaves the client in each."""
        now = self.timer()
        quotas = []
        windowed: list[tuple[Budget, int]] = []  # and the number of the window now
        for budget in budgets:
            if budget.requests <= 0:  # a scope switched off
                quotas.append(Quota(0, 0, float(budget.seconds), refused=True))
            elif budget.requests > self.EXACT_UP_TO:
                windowed.append((budget, int(now // budget.seconds)))
            else:
                quotas.append(_counted(functools.partial(_spend_from_log, budget=budget, now=now)))
        if windowed:
            counters = [(f"{b.key}:{n}", b.seconds + 1) for b, n in windowed]
            counts = _counted(functools.partial(_window_counts, counters=counters))
            for (budget, n), count in zip(windowed, counts, strict=True):
                remaining = max(0, budget.requests - count)
                reset = (n + 1) * budget.seconds - now
                quotas.append(Quota(budget.requests, remaining, reset, count > budget.requests))
        return quotas

    def wait(self) -> float | None:
        waits = [q.reset for q in self.quotas if q.refused]
        return max(waits) if waits else None


def _spend_from_log(cache: BaseCache, budget: Budget, now: float) -> Quota:
    """Record the request in ``budget``'s log of request times (DRF's, newest first), unless
    ``budget.requests`` requests already fall within the period (refused)."""
    history = cache.get(budget.key, [])
    while history and history[-1] <= now - budget.seconds:
        history.pop()
    if len(history) >= budget.requests:  # allowed again once the requests-th newest expires
        wait = history[budget.requests - 1] + budget.seconds - now
        return Quota(budget.requests, 0, wait, refused=True)
    history.insert(0, now)
    cache.set(budget.key, history, budget.seconds)
    reset = history[-1] + budget.seconds - now  # the oldest stops counting
    return Quota(budget.requests, budget.requests - len(history), reset, refused=False)


def _window_counts(cache: BaseCache, counters: list[tuple[str, int]]) -> list[int]:
    """One more request in each (key, ttl) window counter; their counts, this request's included.

    On Redis one round trip for all of them (``SET NX EX`` then ``INCR`` each, pipelined):
    through the cache API, each counter cost two. Django's Redis backend exposes no raw client:
    ``_cache`` is its (private) client factory.
    """
    if isinstance(cache, RedisCache):
        client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
        pipe = client.pipeline(transaction=False)
        for key, ttl in counters:
            full = cache.make_key(key)
            pipe.set(full, 0, ex=ttl, nx=True)
            pipe.incr(full)
        return [int(n) for n in pipe.execute()[1::2]]
    return [_count(cache, key, ttl) for key, ttl in counters]


def _count(cache: BaseCache, key: str, ttl: int) -> int:
    """One more request in a window's counter; its count, this request's included."""
    try:  # the steady state; a window's first request adds the counter
        return cache.incr(key)
    except ValueError:
        pass
    if cache.add(key, 1, ttl):
        return 1
    try:  # another request added it in between
        return cache.incr(key)
    except ValueError:  # and it expired since: a new window
        return 1


def budgets_spend(spends: list[tuple[str, str]]) -> float | None:
    """Count one request in each (scope, ident) budget outside the API (the sign-up and
    password-reset pages), as the API's throttle counts; None, or the longest wait."""
    throttle = ApiThrottle()
    budgets = [b for scope, ident in spends if (b := throttle.budget(scope, ident)) is not None]
    throttle.quotas = throttle.spend(budgets)
    return throttle.wait()


class RateLimitHeadersMiddleware:
    """Writes the ``X-RateLimit-*`` headers of the quota a throttled API request left on the
    request (``ApiThrottle.allow_request``), on its response whatever its status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        quota: Quota | None = getattr(request, QUOTA_ATTRIBUTE, None)
        if quota is not None:
            for name, value in quota.headers().items():
                response[name] = value
        return response
