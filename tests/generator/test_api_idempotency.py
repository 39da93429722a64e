"""Idempotency-Key on POST /api/v1/generation-jobs/: a phone that retries after a lost answer
gets the same job back, not a second song, and not a second count toward the hourly limit."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from generator.idempotency import generation_job_create_once
from generator.models import GenerationJob
from tests.api.conftest import token_client
from tests.conftest import REQUIRE_SERVICES
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/generation-jobs/"
BODY = {"seconds": 20, "temperature": 0.9}


@pytest.fixture
def app(monkeypatch):
    monkeypatch.setattr("generator.tasks.run_generation_job.delay", lambda job_id: None)
    user = UserFactory(username="pocket")
    client = token_client(user)
    client.user = user
    return client


def _post(app, body=BODY, key="3f6c1a52-retry-me"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return app.post(URL, body, format="json", **headers)


def test_a_retry_returns_the_same_job(app):
    first = _post(app)
    assert first.status_code == 201, first.content
    again = _post(app, body={"temperature": 0.9, "seconds": 20})  # same settings, other order
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert GenerationJob.objects.filter(user=app.user).count() == 1


def test_a_retry_is_not_counted_twice_against_the_hourly_limit(app, settings):
    settings.GENERATOR_JOBS_PER_HOUR = 2
    assert _post(app, key="a").status_code == 201
    assert [_post(app, key="a").status_code for _ in range(3)] == [200, 200, 200]
    assert _post(app, key="b").status_code == 201  # the second song of the hour still allowed
    assert _post(app, key="c").status_code == 429
    assert _post(app, key="a").status_code == 200  # a replay even when the limit is reached


def test_the_same_key_with_other_settings_is_refused_naming_the_header(app):
    assert _post(app).status_code == 201
    refused = _post(app, body={"seconds": 60})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "idempotency_key_reused" and "Idempotency-Key" in error["message"]
    assert GenerationJob.objects.filter(user=app.user).count() == 1


def test_keys_belong_to_their_listener(app):
    other = token_client(UserFactory(username="other"))
    assert _post(app).status_code == 201
    assert _post(other, body={"seconds": 60}).status_code == 201  # same key, own job
    assert GenerationJob.objects.count() == 2


def test_a_key_is_released_after_24_hours(app):
    first = _post(app).json()
    GenerationJob.objects.filter(pk=first["id"]).update(
        created_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    again = _post(app, body={"seconds": 60})
    assert again.status_code == 201 and again.json()["id"] != first["id"]


def test_without_a_key_every_post_is_a_new_job(app):
    assert _post(app, key=None).status_code == 201
    assert _post(app, key=None).status_code == 201
    assert GenerationJob.objects.filter(user=app.user).count() == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "two words", "ü"])
def test_a_malformed_key_is_a_400_naming_the_header(app, key):
    refused = app.post(
        URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1")
    )
    assert refused.status_code == 400
    assert "Idempotency-Key" in refused.json()["error"]["fields"]
    assert not GenerationJob.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_job_the_broker_never_got_does_not_keep_its_key(monkeypatch):
    """The 503's job is failed; the retry after Retry-After with the same key is a new try."""

    def broker_down(job_id):
        raise ConnectionError("broker unreachable")

    app = token_client(UserFactory())
    monkeypatch.setattr("generator.tasks.run_generation_job.delay", broker_down)
    assert _post(app).status_code == 503
    monkeypatch.setattr("generator.tasks.run_generation_job.delay", lambda job_id: None)
    retried = _post(app)
    assert retried.status_code == 201 and retried.json()["status"] == "queued"
    assert _post(app).json()["id"] == retried.json()["id"]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_ten_racing_retries_with_one_key_make_one_song(monkeypatch):
    """A phone that fires the same request ten times at once gets one job, ten times."""
    if connection.vendor != "postgresql":
        assert not REQUIRE_SERVICES, "CI runs this on PostgreSQL"
        pytest.skip("the race needs PostgreSQL's concurrent transactions")
    monkeypatch.setattr("generator.tasks.run_generation_job.delay", lambda job_id: None)
    user = UserFactory()
    start = threading.Barrier(10)
    made: list[tuple[int, bool]] = []

    def request() -> None:
        try:
            start.wait()
            job, created = generation_job_create_once(
                user=user, key="same", settings={"seconds": 20.0}
            )
            made.append((job.pk, created))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=request) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({pk for pk, _ in made}) == 1 and sum(created for _, created in made) == 1
    assert len(made) == 10 and GenerationJob.objects.filter(user=user).count() == 1
