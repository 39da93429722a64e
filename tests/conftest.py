"""Shared fixtures. Factories live in ``tests/factories.py``."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest

# Under CI (REQUIRE_SERVICES=1) tests marked `services` must find PostgreSQL and a real broker.
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


@pytest.fixture(autouse=True)
def _own_cache_keys(settings):
    """Each test keeps its cache entries (throttle counters) under a prefix of its own, so a
    shared Redis carries nothing between tests or runs, and nothing else there is touched."""
    default = settings.CACHES["default"]
    settings.CACHES = {"default": {**default, "KEY_PREFIX": f"test-{uuid.uuid4().hex[:12]}"}}


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Each test writes uploaded and rendered files to its own folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def celery_worker_real(settings):
    """A real Celery worker (a thread running the project's app) on the configured broker.

    Under CI the broker is Redis and an unreachable broker fails the test; locally it is
    Celery's in-memory transport. Use with ``@pytest.mark.django_db(transaction=True)`` so the
    worker's own database connection sees the rows the test committed.
    """
    from celery.contrib.testing.worker import start_worker

    from musicsite.celery import app

    if REQUIRE_SERVICES:
        assert app.conf.broker_url.startswith("redis://"), app.conf.broker_url
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=3)
    app.conf.task_always_eager = False
    with (
        _threads_share_an_in_memory_database(),
        start_worker(
            app,
            pool="solo",
            perform_ping_check=False,
            queues=["interactive", "default", "ml"],  # as the Procfile's workers
            loglevel="WARNING",
            shutdown_timeout=30,
        ) as worker,
    ):
        yield worker


@contextmanager
def _threads_share_an_in_memory_database() -> Iterator[None]:
    """On SQLite's in-memory test database, a thread that opens a connection from here on (the
    worker's, a job's heartbeat) gets the test's own, as Django gives the live server's threads.

    With connections of their own, a write that meets another connection's read of the same
    table (the worker recording a job's end while the job page polls) fails at once with
    "database table is locked": shared-cache table locks do not wait (no busy timeout).
    """
    from django.db import connections

    shared = connections["default"]
    if shared.vendor != "sqlite" or not shared.is_in_memory_db():
        yield
        return
    create = connections.create_connection

    def connection_for(alias: str):
        return shared if alias == shared.alias else create(alias)

    shared.inc_thread_sharing()
    try:
        with mock.patch.object(connections, "create_connection", connection_for):
            yield
    finally:
        shared.dec_thread_sharing()


UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


@pytest.fixture
def broker_down():
    """The Celery app points at a broker that refuses connections, as when Redis is stopped.

    The app's connection and producer pools are set aside and put back afterwards.
    """
    from musicsite.celery import app

    saved = app.conf.broker_url, app.conf.broker_write_url, app._pool, app.amqp._producer_pool
    app.conf.broker_url = app.conf.broker_write_url = UNREACHABLE_BROKER
    app._pool = app.amqp._producer_pool = None
    try:
        yield UNREACHABLE_BROKER
    finally:
        app.conf.broker_url, app.conf.broker_write_url = saved[0], saved[1]
        app._pool, app.amqp._producer_pool = saved[2], saved[3]


@pytest.fixture
def job_bounds(settings):
    """Bounds of the stuck-work reapers, small and fixed: silent 60 s is dead, two runs at most,
    queued an hour without a worker fails."""
    settings.JOBS_STALE_SECONDS = 60
    settings.JOBS_MAX_ATTEMPTS = 2
    settings.JOBS_QUEUED_TIMEOUT_SECONDS = 3600
    return settings
