"""Prometheus metrics at ``/metrics``: request latency, queue depth, jobs by state, plays and
feed impressions. Not public: a bearer token (``METRICS_TOKEN``) or a staff session.

Request latency is one histogram observed by ``LatencyMiddleware`` (two clock reads and one
observation per request). Under gunicorn's several workers, prometheus_client's multiprocess
mode (``PROMETHEUS_MULTIPROC_DIR``) adds up every worker's histogram at scrape time. The other
figures are read at scrape time from the database and the broker, so any worker answers them
right; they are kept ``METRICS_CACHE_SECONDS`` so that several scrapers cost one read.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

REQUEST_LATENCY = Histogram(
    "musicsite_http_request_duration_seconds",
    "Time from the request reaching Django's middleware to its response, by route.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
_STATUS_CLASS = {n: f"{n}xx" for n in range(1, 6)}


class LatencyMiddleware:
    """Observes each request's duration, labelled by its URL pattern (not the raw path)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        route = match.route if match is not None else "unmatched"
        status = _STATUS_CLASS.get(response.status_code // 100, "other")
        REQUEST_LATENCY.labels(route, request.method, status).observe(time.perf_counter() - start)
        return response


def queue_depths(queues: list[str]) -> dict[str, int] | None:
    """Messages waiting in each Celery queue on the broker (Redis lists, or the filesystem
    transport's queue folder); None if the broker does not answer."""
    from kombu.exceptions import ChannelError

    from musicsite.celery import app

    depths: dict[str, int] = {}
    try:
        with app.connection_for_write(connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
            channel = connection.default_channel
            for queue in queues:
                try:
                    depths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
                except ChannelError:  # never declared: nothing waits there
                    depths[queue] = 0
                    channel = connection.channel()
    except Exception:
        logger.warning("metrics: the broker does not answer", exc_info=True)
        return None
    return depths


def _rows_by_status(model, field: str) -> dict[str, int]:
    rows = model.objects.order_by().values(field).annotate(n=Count("pk"))
    return {row[field]: row["n"] for row in rows}


def _database_metrics() -> list[Metric]:
    """Jobs, runs and renders by state; plays, skips and feed impressions."""
    from catalog.models import Track
    from generator.models import GenerationJob
    from recommender.models import FeedImpression, ListenEvent, RunStatus, TrainingRun

    families: list[Metric] = []
    for name, doc, model, field, states in (
        ("generation_jobs", "Song generation jobs", GenerationJob, "status", GenerationJob.Status),
        ("training_runs", "Recommender training runs", TrainingRun, "status", RunStatus),
        ("track_renders", "Tracks by audio render", Track, "render_status", Track.RenderStatus),
    ):
        counts = _rows_by_status(model, field)
        gauge = GaugeMetricFamily(f"musicsite_{name}", f"{doc}, by state.", labels=["state"])
        for state in states.values:
            gauge.add_metric([state], counts.get(state, 0))
        families.append(gauge)

    plays = ListenEvent.objects.order_by().aggregate(
        plays=Count("pk", filter=Q(counted=True)), skips=Count("pk", filter=Q(skipped=True))
    )
    families.append(
        CounterMetricFamily(
            "musicsite_plays", "Listens heard long enough to count as a play.", value=plays["plays"]
        )
    )
    families.append(
        CounterMetricFamily(
            "musicsite_skips", "Listens skipped before counting as a play.", value=plays["skips"]
        )
    )
    shown = FeedImpression.objects.order_by().aggregate(pairs=Count("pk"), shown=Sum("shown_count"))
    families.append(
        GaugeMetricFamily(
            "musicsite_feed_impressions",
            "Times pieces were shown in feeds, over the impressions retention keeps.",
            value=shown["shown"] or 0,
        )
    )
    families.append(
        GaugeMetricFamily(
            "musicsite_feed_impression_pairs",
            "(listener, piece) pairs shown in feeds, over the impressions retention keeps.",
            value=shown["pairs"],
        )
    )
    return families


def collect_site_metrics() -> list[Metric]:
    """The figures read from the database and the broker, as metric families (a part whose
    store does not answer is left out, and its ``_up`` gauge says 0)."""
    try:
        families = _database_metrics()
    except Exception:
        logger.warning("metrics: the database does not answer", exc_info=True)
        families = []
    families.append(
        GaugeMetricFamily(
            "musicsite_database_up", "1 if the database answered.", value=1 if families else 0
        )
    )
    queues = list(getattr(settings, "METRICS_QUEUES", ["interactive", "default", "ml"]))
    depths = queue_depths(queues)
    families.append(
        GaugeMetricFamily(
            "musicsite_broker_up",
            "1 if Celery's broker answered.",
            value=0 if depths is None else 1,
        )
    )
    depth = GaugeMetricFamily(
        "musicsite_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"]
    )
    for queue, count in (depths or {}).items():
        depth.add_metric([queue], count)
    families.append(depth)
    return families


class SiteCollector(Collector):
    """Reads the site's figures at scrape time, at most once per ``METRICS_CACHE_SECONDS``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at = 0.0
        self._families: list[Metric] = []

    def collect(self) -> Iterator[Metric]:
        ttl = float(getattr(settings, "METRICS_CACHE_SECONDS", 10.0))
        with self._lock:
            if time.monotonic() - self._at >= ttl or not self._families:
                self._families = collect_site_metrics()
                self._at = time.monotonic()
            return iter(list(self._families))


_site_collector = SiteCollector()


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # every gunicorn worker's histograms
    else:
        registry.register(REQUEST_LATENCY)
    registry.register(_site_collector)
    return registry


def allowed(request: HttpRequest) -> bool | None:
    """True for the bearer token ``METRICS_TOKEN`` or a staff session; False for another
    bearer token; None for no credentials (the endpoint then does not exist)."""
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "bearer":
        token = getattr(settings, "METRICS_TOKEN", "")
        return bool(token) and hmac.compare_digest(given.strip().encode(), token.encode())
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    return None


def metrics(request: HttpRequest) -> HttpResponse:
    """The metrics in Prometheus's text format: 404 without credentials, 403 with wrong ones."""
    verdict = allowed(request)
    if verdict is None:
        raise Http404
    if not verdict:
        return HttpResponseForbidden("not allowed")
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
