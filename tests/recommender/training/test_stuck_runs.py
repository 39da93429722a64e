"""Trainings that never hang: a run whose worker died is failed with a reason and no longer
blocks its kind; the broker being down fails the run at once; staff can fail a stuck run."""

import contextlib
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from recommender.models import RunStatus, TrainingRun
from recommender.training import recovery, services
from tests.factories import seconds_ago


@pytest.fixture
def bounds(job_bounds):
    return job_bounds


@pytest.mark.django_db
def test_a_run_whose_worker_died_is_failed_and_the_next_one_runs(bounds, monkeypatch):
    dead = TrainingRun.objects.create(
        kind="als",
        status=RunStatus.RUNNING,
        stage="training",
        started_at=seconds_ago(900),
        heartbeat_at=seconds_ago(61),
    )
    recovery.training_runs_reap()
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED and dead.finished_at is not None
    assert "stopped" in dead.error and "training" in dead.error
    sent: list[int] = []
    monkeypatch.setattr("recommender.tasks.train_model.delay", sent.append)
    with mock.patch("django.db.transaction.on_commit", lambda f: f()):
        fresh = services.training_request(kind="als")
    assert fresh.pk != dead.pk and fresh.status == RunStatus.QUEUED and sent == [fresh.pk]


@pytest.mark.django_db
def test_a_request_replaces_a_dead_open_run_at_once(bounds, monkeypatch):
    dead = TrainingRun.objects.create(
        kind="als",
        status=RunStatus.RUNNING,
        started_at=seconds_ago(900),
        heartbeat_at=seconds_ago(61),
    )
    monkeypatch.setattr("recommender.tasks.train_model.delay", lambda run_id: None)
    fresh = services.training_request(kind="als")
    assert fresh.pk != dead.pk
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED


@pytest.mark.django_db
def test_a_live_run_is_left_alone(bounds):
    alive = TrainingRun.objects.create(
        kind="als",
        status=RunStatus.RUNNING,
        started_at=seconds_ago(900),
        heartbeat_at=timezone.now(),
    )
    recovery.training_runs_reap()
    assert services.training_request(kind="als").pk == alive.pk
    alive.refresh_from_db()
    assert alive.status == RunStatus.RUNNING


@pytest.mark.django_db
def test_a_redelivered_run_whose_worker_died_is_failed_not_rerun(bounds):
    dead = TrainingRun.objects.create(
        kind="als",
        status=RunStatus.RUNNING,
        started_at=seconds_ago(900),
        heartbeat_at=seconds_ago(61),
    )
    assert services.training_execute(run_id=dead.pk) is None
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED and "stopped" in dead.error


@pytest.mark.django_db
def test_a_run_no_worker_started_in_time_is_failed(bounds):
    run = TrainingRun.objects.create(kind="als")
    TrainingRun.objects.filter(pk=run.pk).update(created_at=seconds_ago(3601))
    recovery.training_runs_reap()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "60 minutes" in run.error


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_a_training_fails_at_once_and_says_why(broker_down):
    with pytest.raises(services.TrainingError, match="broker"):
        services.training_request(kind="als")
    run = TrainingRun.objects.get(kind="als")
    assert run.status == RunStatus.FAILED and "broker" in run.error


@pytest.mark.django_db
def test_staff_can_fail_a_stuck_run(admin_client):
    stuck = TrainingRun.objects.create(
        kind="als", status=RunStatus.RUNNING, started_at=seconds_ago(60)
    )
    url = reverse("admin:recommender_trainingrun_changelist")
    admin_client.post(url, {"action": "fail_runs", "_selected_action": [stuck.pk]})
    stuck.refresh_from_db()
    assert stuck.status == RunStatus.FAILED and "staff" in stuck.error


@pytest.mark.django_db
def test_with_the_broker_down_feedback_does_not_pile_up_failed_runs(settings, monkeypatch):
    from recommender.listening.hub import Feedback
    from tests.factories import TrackFactory, UserFactory

    settings.RECOMMENDER_RETRAIN_AFTER_FEEDBACK = 1
    settings.RECOMMENDER_MF_KIND, settings.RECOMMENDER_SEQUENCE_KIND = "als", "sasrec"
    monkeypatch.setattr(  # both counters over the threshold, and they stay so (never taken)
        services.hub, "feedback_counts", lambda kinds: dict.fromkeys(kinds, 5)
    )

    def unreachable(run_id):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr("recommender.tasks.train_model.delay", unreachable)
    signal = Feedback(user_id=UserFactory().pk, track_id=TrackFactory().pk, kind="rating", value=5)
    with mock.patch("django.db.transaction.on_commit", lambda f: f()):
        for _ in range(5):  # five ratings while the broker is down
            with contextlib.suppress(services.TrainingError):
                services.training_trigger_on_feedback([signal])
    failed = TrainingRun.objects.filter(status=RunStatus.FAILED)
    assert sorted(failed.values_list("kind", flat=True)) == ["als", "sasrec"]
