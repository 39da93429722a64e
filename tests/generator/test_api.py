import pytest
from rest_framework.test import APIClient

from generator.models import GenerationJob
from tests.factories import GenerationJobFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(monkeypatch):
    monkeypatch.setattr("generator.tasks.run_generation_job.delay", lambda job_id: None)
    return APIClient()


def test_create_read_cancel(api, active_version):
    user = UserFactory()
    api.force_authenticate(user)
    created = api.post(
        "/api/v1/generation-jobs/", {"seconds": 20, "temperature": 0.9}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "queued" and body["settings"]["temperature"] == 0.9
    got = api.get(f"/api/v1/generation-jobs/{body['id']}/")
    assert got.status_code == 200 and got.json()["progress"] == 0
    cancelled = api.post(f"/api/v1/generation-jobs/{body['id']}/cancel/")
    assert cancelled.json()["status"] == "cancelled"


def test_needs_authentication(api):
    assert api.post("/api/v1/generation-jobs/", {}, format="json").status_code in (401, 403)


def test_bad_input_is_a_400_naming_the_field(api, active_version):
    api.force_authenticate(UserFactory())
    response = api.post("/api/v1/generation-jobs/", {"seconds": 2}, format="json")
    assert response.status_code == 400
    assert "seconds" in response.content.decode()
    response = api.post("/api/v1/generation-jobs/", {"key": "Q minor"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["key"] == [
        'A key is a tonic and a mode, e.g. "D minor" or "Bb major".'
    ]
    assert not GenerationJob.objects.exists()


def test_rate_limit_is_429(api, active_version, settings):
    settings.GENERATOR_JOBS_PER_HOUR = 1
    api.force_authenticate(UserFactory())
    assert api.post("/api/v1/generation-jobs/", {}, format="json").status_code == 201
    response = api.post("/api/v1/generation-jobs/", {}, format="json")
    assert response.status_code == 429
    assert "songs per hour" in response.content.decode()


def test_another_listeners_job_is_404(api):
    job = GenerationJobFactory()
    api.force_authenticate(UserFactory())
    assert api.get(f"/api/v1/generation-jobs/{job.pk}/").status_code == 404
    assert api.post(f"/api/v1/generation-jobs/{job.pk}/cancel/").status_code == 404
    job.refresh_from_db()
    assert job.status == "queued"
