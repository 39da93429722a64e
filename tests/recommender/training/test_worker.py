"""A training runs through a real Celery worker on the ``ml`` queue.

Against the configured broker: Celery's in-memory transport by default, Redis under CI
(``REQUIRE_SERVICES=1``), where an unreachable broker fails the test instead of skipping it.
"""

import threading

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun

from musicsite.celery import app
from recommender.models import RunStatus, TrainingRun
from recommender.training import services
from tests.conftest import REQUIRE_SERVICES


def _broker_reachable() -> None:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=2, interval_start=0.2, timeout=5)
    except Exception as exc:
        if REQUIRE_SERVICES:
            pytest.fail(f"the broker {app.conf.broker_url!r} is unreachable: {exc}")
        pytest.skip(f"no broker reachable at {app.conf.broker_url!r}: {exc}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_training_runs_through_a_real_worker(event_log):
    _broker_reachable()
    assert app.conf.task_routes["recommender.train_*"] == {"queue": "ml"}
    finished = threading.Event()
    ours: list[int] = []

    def on_postrun(sender=None, args=None, **kwargs):
        # Only our run counts: a real broker may still hold messages from earlier sessions.
        if sender is not None and sender.name == "recommender.train_model" and list(args) == ours:
            finished.set()

    # Wait for the worker's signal rather than polling the table it writes (SQLite's shared
    # in-memory test database locks whole tables between connections).
    task_postrun.connect(on_postrun, weak=False)
    # Queued before the worker starts (its start-up opens its own database connection).
    run = services.training_request(kind="als")  # sent on commit (autocommit here)
    ours.append(run.pk)
    try:
        with start_worker(
            app,
            pool="solo",
            concurrency=1,
            queues=["default", "ml"],
            perform_ping_check=False,
            shutdown_timeout=30,
        ):
            assert finished.wait(timeout=120), "the worker did not run the training in 120 s"
    finally:
        task_postrun.disconnect(on_postrun)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error or run.status
    assert run.version is not None and run.version.is_active
    assert TrainingRun.objects.filter(kind="als").count() == 1
