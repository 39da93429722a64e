import pytest
from django.urls import reverse

from generator.models import GenerationJob
from tests.factories import GenerationJobFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_queue(monkeypatch):
    monkeypatch.setattr("generator.tasks.run_generation_job.delay", lambda job_id: None)


def test_page_needs_login(client):
    response = client.get(reverse("generator:create"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_button_creates_a_job_and_opens_its_page(client, active_version, no_queue):
    user = UserFactory()
    client.force_login(user)
    page = client.get(reverse("generator:create"))
    assert b"Make me a song" in page.content
    response = client.post(reverse("generator:create"), {"seconds": "20"})
    job = GenerationJob.objects.get(user=user)
    assert response["Location"] == reverse("generator:job_detail", args=[job.pk])
    detail = client.get(response["Location"])
    assert b"Writing your song" in detail.content
    assert b'hx-trigger="every 1s"' in detail.content
    assert b'http-equiv="refresh"' in detail.content  # works without JavaScript too


def test_rate_limited_listener_sees_why(client, active_version, no_queue, settings):
    settings.GENERATOR_JOBS_PER_HOUR = 1
    client.force_login(UserFactory())
    client.post(reverse("generator:create"), {"seconds": "20"})
    response = client.post(reverse("generator:create"), {"seconds": "20"})
    assert response.status_code == 429
    assert "1 songs per hour" in response.content.decode()


def test_partial_polls_until_done_then_stops(client):
    user = UserFactory()
    client.force_login(user)
    job = GenerationJobFactory(user=user, status="running", progress=40)
    url = reverse("generator:job_detail", args=[job.pk])
    running = client.get(url, headers={"HX-Request": "true"})
    assert running.status_code == 200
    assert b"40% written" in running.content and b"<html" not in running.content
    track = TrackFactory(owner=user, origin="generated")
    GenerationJob.objects.filter(pk=job.pk).update(status="succeeded", progress=100, track=track)
    done = client.get(url, headers={"HX-Request": "true"})
    assert done.status_code == 286  # htmx: stop polling
    assert track.title.encode() in done.content
    assert b"every 1s" not in done.content
    # the audio is still being rendered: the site's player polls for it, as a generated piece
    player_url = reverse("catalog:track_player", args=[track.pk]) + "?context=generated"
    assert f'hx-get="{player_url}"'.encode() in done.content


def test_a_finished_song_plays_in_the_sites_player(client):
    """The job page's player is the site's, so its plays are recorded like any other piece's."""
    user = UserFactory()
    client.force_login(user)
    track = TrackFactory(owner=user, origin="generated", render_status="ready")
    track.audio_file.name = "audio/test/generated.ogg"
    track.save(update_fields=["audio_file"])
    job = GenerationJobFactory(user=user, status="succeeded", progress=100, track=track)
    page = client.get(reverse("generator:job_detail", args=[job.pk]))
    html = page.content.decode()
    player = f'data-player data-track-id="{track.pk}" data-context="generated"'
    assert player in " ".join(html.split())
    assert "js/player.js" in html and "js/listening.js" in html


def test_failed_job_shows_its_reason(client):
    user = UserFactory()
    client.force_login(user)
    job = GenerationJobFactory(user=user, status="failed", error="The model is missing.")
    response = client.get(reverse("generator:job_detail", args=[job.pk]))
    assert b"The model is missing." in response.content


def test_cancel_from_the_page(client):
    user = UserFactory()
    client.force_login(user)
    job = GenerationJobFactory(user=user)
    response = client.post(reverse("generator:job_cancel", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "cancelled"


def test_another_listeners_job_is_not_found(client):
    job = GenerationJobFactory()
    client.force_login(UserFactory())
    assert client.get(reverse("generator:job_detail", args=[job.pk])).status_code == 404
    assert client.post(reverse("generator:job_cancel", args=[job.pk])).status_code == 404
    job.refresh_from_db()
    assert job.status == "queued"


def test_admin_lists_versions_with_their_metrics(admin_client):
    from tests.factories import GeneratorVersionFactory

    GeneratorVersionFactory(name="ft-1", metrics={"val_nll": 1.2345}, is_active=True)
    response = admin_client.get(reverse("admin:generator_generatorversion_changelist"))
    assert response.status_code == 200
    assert b"ft-1" in response.content and b"1.2345" in response.content
