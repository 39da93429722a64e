"""/metrics: only with the token or as staff; request latency, queue depth, jobs by state, plays
and feed impressions; several server processes add up."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.utils import timezone
from kombu import Connection
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.parser import text_string_to_metric_families

from musicsite import metrics as site_metrics
from musicsite.celery import app
from tests.factories import (
    GenerationJobFactory,
    ListenEventFactory,
    TrackFactory,
    UserFactory,
)

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "scrape-" + "x" * 40


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_CACHE_SECONDS = 0
    site_metrics._site_collector._families = []


def _scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


@pytest.mark.django_db
def test_metrics_are_not_public(client, settings):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Token " + TOKEN).status_code == 404
    client.force_login(UserFactory())
    assert client.get("/metrics").status_code == 404
    client.force_login(UserFactory(is_staff=True))
    assert client.get("/metrics").status_code == 200
    settings.METRICS_TOKEN = ""  # no token configured: no bearer token opens it
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


@pytest.mark.django_db
def test_jobs_by_state_plays_and_impressions(client):
    from recommender.models import FeedImpression, RunStatus, TrainingRun

    GenerationJobFactory.create_batch(2)
    GenerationJobFactory(status="failed", error="x")
    TrainingRun.objects.create(kind="als", status=RunStatus.SUCCEEDED)
    TrainingRun.objects.create(kind="bpr", status=RunStatus.RUNNING)
    track = TrackFactory(render_status="ready")
    TrackFactory(render_status="failed")
    listener = UserFactory()
    ListenEventFactory(user=listener, track=track, counted=True)
    ListenEventFactory(user=listener, track=track, counted=True)
    ListenEventFactory(user=listener, track=track, counted=False, skipped=True)
    now = timezone.now()
    FeedImpression.objects.create(
        user=listener, track=track, shown_count=7, first_shown_at=now, last_shown_at=now
    )

    samples = _scrape(client)
    assert samples[("musicsite_generation_jobs", (("state", "queued"),))] == 2
    assert samples[("musicsite_generation_jobs", (("state", "failed"),))] == 1
    assert samples[("musicsite_generation_jobs", (("state", "running"),))] == 0
    assert samples[("musicsite_training_runs", (("state", "running"),))] == 1
    assert samples[("musicsite_training_runs", (("state", "succeeded"),))] == 1
    assert samples[("musicsite_track_renders", (("state", "failed"),))] == 1
    assert samples[("musicsite_plays_total", ())] == 2
    assert samples[("musicsite_skips_total", ())] == 1
    assert samples[("musicsite_feed_impressions", ())] == 7
    assert samples[("musicsite_feed_impression_pairs", ())] == 1


@pytest.mark.django_db
def test_request_latency_is_observed_by_route(client):
    client.get("/healthz")
    client.get("/healthz")
    samples = _scrape(client)
    labels = (("method", "GET"), ("route", "healthz"), ("status", "2xx"))
    assert samples[("musicsite_http_request_duration_seconds_count", labels)] >= 2
    bucket = (("le", "10.0"), *labels)
    assert samples[("musicsite_http_request_duration_seconds_bucket", tuple(sorted(bucket)))] >= 2


@pytest.mark.django_db
def test_queue_depth_is_read_from_the_broker(client, settings):
    """On the configured broker (Redis under CI): messages waiting in a queue nobody serves."""
    queue = f"test-metrics-{uuid.uuid4().hex[:8]}"
    settings.METRICS_QUEUES = [queue, "never-declared-" + queue]
    with app.connection_for_write() as connection:
        simple = connection.SimpleQueue(queue)
        for n in range(3):
            simple.put({"n": n})
        try:
            samples = _scrape(client)
        finally:
            simple.queue.delete()
            simple.close()
    assert samples[("musicsite_queue_depth", (("queue", queue),))] == 3
    assert samples[("musicsite_queue_depth", (("queue", "never-declared-" + queue),))] == 0
    assert samples[("musicsite_broker_up", ())] == 1


@pytest.fixture
def filesystem_broker(tmp_path):
    """The app on the filesystem transport, as `make run` (its queue folder under tmp_path)."""
    folders = {k: tmp_path / k for k in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    options = {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
    }
    saved = app.conf.broker_url, app.conf.broker_write_url, app.conf.broker_transport_options
    saved_pools = app._pool, app.amqp._producer_pool
    app.conf.broker_url = app.conf.broker_write_url = "filesystem://"
    app.conf.broker_transport_options = options
    app._pool = app.amqp._producer_pool = None
    try:
        yield Connection("filesystem://", transport_options=options)
    finally:
        app.conf.broker_url, app.conf.broker_write_url = saved[0], saved[1]
        app.conf.broker_transport_options = saved[2]
        app._pool, app.amqp._producer_pool = saved_pools


def test_queue_depth_on_the_filesystem_transport(filesystem_broker):
    with filesystem_broker as connection:
        for queue, count in (("ml", 2), ("default", 1)):
            simple = connection.SimpleQueue(queue)
            for n in range(count):
                simple.put({"n": n})
            simple.close()
    assert site_metrics.queue_depths(["interactive", "default", "ml"]) == {
        "interactive": 0,
        "default": 1,
        "ml": 2,
    }


def test_an_unreachable_broker_reads_as_down(broker_down):
    assert site_metrics.queue_depths(["ml"]) is None


_SERVE = """
import django
django.setup()
from django.test import Client
for _ in range({n}):
    Client().get("/healthz", HTTP_HOST="localhost")
"""


@pytest.mark.django_db
def test_several_server_processes_add_up(tmp_path, client, monkeypatch):
    """As under gunicorn's workers: each process writes its own samples, a scrape sums them."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        "DJANGO_SETTINGS_MODULE": "musicsite.test_settings",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "VAR_DIR": str(tmp_path / "var"),  # an empty SQLite file answers /healthz's SELECT 1
    }
    for n in (3, 2):
        code = _SERVE.format(n=n)
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, timeout=120)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(tmp_path))
    labels = {"method": "GET", "route": "healthz", "status": "2xx"}
    count = "musicsite_http_request_duration_seconds_count"
    assert registry.get_sample_value(count, labels) == 5

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = _scrape(client)  # this process is not in multiprocess mode: only the files count
    assert samples[(count, tuple(sorted(labels.items())))] == 5
    assert ("musicsite_generation_jobs", (("state", "queued"),)) in samples


@pytest.mark.slow
def test_under_gunicorn_every_worker_s_requests_are_counted(tmp_path):
    """The deployed server (gunicorn.conf.py, two worker processes): whichever worker answers a
    scrape, it counts the requests both served; the access log names each request's id."""
    import http.client
    import secrets
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PROMETHEUS_"))}
    env.pop("DATABASE_URL", None)  # SQLite under tmp_path: /healthz needs no table
    env |= {
        "DJANGO_SETTINGS_MODULE": "musicsite.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "METRICS_TOKEN": TOKEN,
        "METRICS_CACHE_SECONDS": "0",
        "VAR_DIR": str(tmp_path),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "1",
    }
    env.setdefault("CELERY_BROKER_URL", "memory://")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen(
        [gunicorn, "-c", "gunicorn.conf.py", "musicsite.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )

    def get(path: str, **headers) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)  # a new one each time
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        conn.close()
        return response

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get("/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.3)
        for _ in range(29):
            get("/healthz", **{"X-Request-ID": "req-from-proxy"})
        labels = {"method": "GET", "route": "healthz", "status": "2xx"}
        seen = set()
        for _ in range(6):  # the two workers take turns at random: both answer sooner or later
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
            conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            text = conn.getresponse().read().decode()
            conn.close()
            for family in text_string_to_metric_families(text):
                for s in family.samples:
                    if s.name == "musicsite_http_request_duration_seconds_count" and (
                        s.labels == labels
                    ):
                        seen.add(s.value)
        # One figure whichever worker answered, with every request in it (the readiness probe
        # may add one that was answered while its connection broke).
        assert len(seen) == 1 and seen.pop() in (30.0, 31.0)
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert "request=req-from-proxy" in out
