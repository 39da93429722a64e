"""Jobs that never hang: a dead worker's job is retried or failed, the broker being down at
submit fails the job at once with a clear message, and staff can fail or retry a stuck job."""

from unittest import mock

import pytest
from django.contrib.admin.sites import site
from django.urls import reverse
from django.utils import timezone

from generator import services, services_recovery
from generator.models import GenerationJob
from tests.factories import GenerationJobFactory, TrackFactory, UserFactory, seconds_ago

Status = GenerationJob.Status


@pytest.fixture
def bounds(job_bounds):
    job_bounds.JOBS_HEARTBEAT_SECONDS = 0.05
    return job_bounds


@pytest.fixture
def sent(monkeypatch):
    """Job ids sent to the ``ml`` queue (nothing reaches a broker)."""
    ids: list[int] = []
    monkeypatch.setattr("generator.tasks.run_generation_job.delay", ids.append)
    return ids


@pytest.mark.django_db
def test_a_job_whose_worker_died_is_run_again_when_redelivered(bounds, monkeypatch):
    job = GenerationJobFactory(
        status=Status.RUNNING,
        started_at=seconds_ago(600),
        heartbeat_at=seconds_ago(120),
        attempts=1,
    )
    monkeypatch.setattr(services, "_write_piece", lambda job: TrackFactory(owner=job.user))
    finished = services.generation_job_run(job_id=job.pk, redelivered=True)
    assert finished.status == Status.SUCCEEDED and finished.track is not None
    assert finished.attempts == 2


@pytest.mark.django_db
def test_a_job_another_worker_is_running_is_left_to_it(bounds, monkeypatch):
    job = GenerationJobFactory(
        status=Status.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now(), attempts=1
    )
    write = mock.Mock()
    monkeypatch.setattr(services, "_write_piece", write)
    assert services.generation_job_run(job_id=job.pk).status == Status.RUNNING
    write.assert_not_called()


@pytest.mark.django_db
def test_a_job_whose_worker_died_on_every_try_fails_with_a_reason(bounds, monkeypatch):
    job = GenerationJobFactory(
        status=Status.RUNNING,
        started_at=seconds_ago(600),
        heartbeat_at=seconds_ago(120),
        attempts=2,
    )
    monkeypatch.setattr(services, "_write_piece", mock.Mock())
    finished = services.generation_job_run(job_id=job.pk, redelivered=True)
    assert finished.status == Status.FAILED
    assert "stopped" in finished.error and "try again" in finished.error


@pytest.mark.django_db
def test_the_reaper_requeues_a_dead_job_once_then_fails_it(bounds, sent, settings):
    settings.GENERATOR_JOBS_PER_HOUR = 1
    user = UserFactory()
    job = GenerationJobFactory(
        user=user,
        status=Status.RUNNING,
        started_at=seconds_ago(600),
        heartbeat_at=seconds_ago(61),
        attempts=1,
    )
    leftover = TrackFactory(owner=user, origin="generated", source=f"generation job {job.pk}")
    alive = GenerationJobFactory(
        status=Status.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now(), attempts=1
    )
    with mock.patch("django.db.transaction.on_commit", lambda f: f()):
        services_recovery.generation_jobs_reap()
    job.refresh_from_db()
    assert job.status == Status.QUEUED and sent == [job.pk]
    assert not type(leftover).objects.filter(pk=leftover.pk).exists()  # its half-made piece
    alive.refresh_from_db()
    assert alive.status == Status.RUNNING

    type(job).objects.filter(pk=job.pk).update(
        status=Status.RUNNING, attempts=2, heartbeat_at=seconds_ago(61)
    )
    services_recovery.generation_jobs_reap()
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.finished_at is not None
    assert "stopped" in job.error
    # A failed job does not count toward the listener's hourly limit.
    with mock.patch("django.db.transaction.on_commit", lambda f: f()):
        services.generation_job_create(user=user, seconds=10)


@pytest.mark.django_db
def test_the_reaper_fails_a_job_no_worker_started_in_time(bounds):
    old = GenerationJobFactory()
    type(old).objects.filter(pk=old.pk).update(created_at=seconds_ago(3601))
    fresh = GenerationJobFactory()
    services_recovery.generation_jobs_reap()
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == Status.FAILED and "60 minutes" in old.error
    assert fresh.status == Status.QUEUED


@pytest.mark.django_db(transaction=True)
def test_make_me_a_song_with_the_broker_down_says_so(client, broker_down):
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("generator:create"), {"seconds": "20"})
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    assert "cannot be reached" in response.content.decode()
    job = GenerationJob.objects.get(user=user)
    assert job.status == Status.FAILED and job.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_api_answers_503_with_retry_after_when_the_broker_is_down(settings, broker_down):
    from rest_framework.test import APIClient

    settings.GENERATOR_JOBS_PER_HOUR = 1
    user = UserFactory()
    api = APIClient()
    api.force_authenticate(user)
    response = api.post("/api/v1/generation-jobs/", {"seconds": 15}, format="json")
    assert response.status_code == 503
    assert int(response["Retry-After"]) >= 1
    body = response.json()["error"]
    assert body["code"] == "unavailable" and "cannot be reached" in body["message"]
    assert GenerationJob.objects.get(user=user).status == Status.FAILED
    # The failed job does not count toward the limit (1 an hour here): the next one is taken.
    with mock.patch("generator.tasks.run_generation_job.delay"):
        services.generation_job_create(user=user, seconds=10)


@pytest.mark.django_db
def test_staff_can_fail_and_retry_stuck_jobs(admin_client, sent):
    stuck = GenerationJobFactory(
        status=Status.RUNNING,
        started_at=seconds_ago(600),
        heartbeat_at=seconds_ago(600),
        attempts=1,
    )
    url = reverse("admin:generator_generationjob_changelist")
    admin_client.post(url, {"action": "fail_jobs", "_selected_action": [stuck.pk]})
    stuck.refresh_from_db()
    assert stuck.status == Status.FAILED and stuck.error
    with mock.patch("django.db.transaction.on_commit", lambda f: f()):
        admin_client.post(url, {"action": "retry_jobs", "_selected_action": [stuck.pk]})
    stuck.refresh_from_db()
    assert stuck.status == Status.QUEUED and stuck.attempts == 0 and sent == [stuck.pk]
    assert site.is_registered(GenerationJob)
