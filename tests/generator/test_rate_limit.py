"""The song limit (GENERATOR_JOBS_PER_HOUR): held under a race, and its wait said once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from generator import services
from generator.models import GenerationJob
from tests.conftest import REQUIRE_SERVICES
from tests.factories import GenerationJobFactory, UserFactory


@pytest.fixture
def no_queue(monkeypatch):
    monkeypatch.setattr("generator.tasks.run_generation_job.delay", lambda job_id: None)


def _one_song_made_minutes_ago(settings, minutes: int):
    settings.GENERATOR_JOBS_PER_HOUR = 1
    user = UserFactory()
    job = GenerationJobFactory(user=user)
    GenerationJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes)
    )
    return user


@pytest.mark.django_db
def test_the_service_states_the_wait_it_gives(active_version, settings):
    user = _one_song_made_minutes_ago(settings, 14)
    with pytest.raises(services.RateLimited, match="Try again in 46 minutes") as refused:
        services.generation_job_create(user=user)
    assert refused.value.retry_after == 46 * 60


@pytest.mark.django_db
def test_the_api_sends_the_retry_after_its_message_states(active_version, settings, no_queue):
    api = APIClient()
    api.force_authenticate(_one_song_made_minutes_ago(settings, 14))
    response = api.post("/api/v1/generation-jobs/", {}, format="json")
    assert response.status_code == 429
    assert "Try again in 46 minutes." in response.json()["error"]["message"]
    assert response["Retry-After"] == "2760"


@pytest.mark.django_db
def test_the_page_sends_the_retry_after_its_message_states(
    client, active_version, settings, no_queue
):
    client.force_login(_one_song_made_minutes_ago(settings, 14))
    response = client.post(reverse("generator:create"), {"seconds": "20"})
    assert response.status_code == 429
    assert "Try again in 46 minutes." in response.content.decode()
    assert response["Retry-After"] == "2760"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_twenty_racing_requests_make_at_most_five_songs(active_version, settings, no_queue):
    if connection.vendor != "postgresql":
        assert not REQUIRE_SERVICES, "CI runs this on PostgreSQL"
        pytest.skip("the race needs PostgreSQL's concurrent transactions")
    settings.GENERATOR_JOBS_PER_HOUR = 5
    user = UserFactory()
    start = threading.Barrier(20)
    outcomes: list[str] = []

    def request() -> None:
        try:
            start.wait()
            services.generation_job_create(user=user)
            outcomes.append("made")
        except services.RateLimited:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=request) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["made"] * 5 + ["refused"] * 15
    assert GenerationJob.objects.filter(user=user).count() == 5
