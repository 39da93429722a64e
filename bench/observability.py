"""Benchmark: what the request-id and latency middlewares add to one request (in-process).

Times a trivial response through each middleware alone, against django-prometheus's pair of
middlewares for comparison, best of five rounds of 20,000 calls:
``python bench/observability.py``. Prints microseconds per request; the feed's own server time
is in the milliseconds (``make bench-feed``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "musicsite.test_settings")

import django

django.setup()

from django.http import HttpResponse  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.urls import resolve  # noqa: E402

CALLS, ROUNDS = 20_000, 5


def per_call_us(chain) -> float:
    factory = RequestFactory()
    requests = []
    for _ in range(CALLS):
        request = factory.get("/api/v1/feed/")
        request.resolver_match = resolve("/api/v1/feed/")
        requests.append(request)
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for request in requests:
            chain(request)
        best = min(best, time.perf_counter() - start)
    return best / CALLS * 1e6


def main() -> None:
    from django_prometheus.middleware import (
        PrometheusAfterMiddleware,
        PrometheusBeforeMiddleware,
    )

    from musicsite.metrics import LatencyMiddleware
    from musicsite.observability import RequestIdMiddleware

    response = HttpResponse(b"{}", content_type="application/json")

    def view(request):
        return response

    base = per_call_us(view)
    chains = {
        "request id": RequestIdMiddleware(view),
        "latency histogram": LatencyMiddleware(view),
        "both (as deployed)": LatencyMiddleware(RequestIdMiddleware(view)),
        "django-prometheus": PrometheusBeforeMiddleware(PrometheusAfterMiddleware(view)),
    }
    print(f"bare view call: {base:.2f} µs")
    for name, chain in chains.items():
        print(f"{name:>20}: +{per_call_us(chain) - base:.2f} µs per request")


if __name__ == "__main__":
    main()
