"""Renders that never hang: a render whose worker died is queued again, then failed; a pending
piece's page answers while the broker and the cache are down; staff can fail a stuck render."""

from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog import services, services_recovery
from catalog.models import Track
from tests.factories import TrackFactory, seconds_ago

Render = Track.RenderStatus


@pytest.fixture
def bounds(job_bounds):
    return job_bounds


@pytest.fixture
def sent(monkeypatch):
    ids: list[int] = []
    monkeypatch.setattr("catalog.tasks.render_track.delay", lambda pk, **kw: ids.append(pk))
    return ids


@pytest.mark.django_db
def test_a_render_whose_worker_died_is_queued_again_then_failed(bounds, sent):
    track = TrackFactory(render_status=Render.RENDERING, render_attempts=1)
    Track.objects.filter(pk=track.pk).update(render_heartbeat_at=seconds_ago(61))
    alive = TrackFactory(render_status=Render.RENDERING, render_attempts=1)
    Track.objects.filter(pk=alive.pk).update(render_heartbeat_at=timezone.now())
    with mock.patch("django.db.transaction.on_commit", lambda f: f()):
        services_recovery.track_renders_reap()
    track.refresh_from_db()
    assert track.render_status == Render.PENDING and sent == [track.pk]
    Track.objects.filter(pk=track.pk).update(
        render_status=Render.RENDERING, render_attempts=2, render_heartbeat_at=seconds_ago(61)
    )
    services_recovery.track_renders_reap()
    track.refresh_from_db()
    assert track.render_status == Render.FAILED and "stopped" in track.render_error
    alive.refresh_from_db()
    assert alive.render_status == Render.RENDERING


@pytest.mark.django_db
def test_a_render_whose_message_was_lost_is_queued_again(bounds, sent, settings):
    settings.JOBS_QUEUED_TIMEOUT_SECONDS = 3600
    lost = TrackFactory(render_status=Render.PENDING)
    waiting = TrackFactory(render_status=Render.PENDING)
    Track.objects.filter(pk=lost.pk).update(updated_at=seconds_ago(3601))
    with mock.patch("django.db.transaction.on_commit", lambda f: f()):
        services_recovery.track_renders_reap()
        assert sent == [lost.pk]
        services_recovery.track_renders_reap()  # not again before another timeout
    assert sent == [lost.pk] and waiting.pk not in sent


@pytest.mark.django_db
def test_a_redelivered_render_that_died_on_every_try_fails(bounds):
    track = TrackFactory(render_status=Render.RENDERING, render_attempts=2)
    with mock.patch("catalog.rendering.render_media") as render:
        rendered = services.track_render(track_id=track.pk, skip_ready=True)
    render.assert_not_called()
    assert rendered.render_status == Render.FAILED and "stopped" in rendered.render_error


@pytest.mark.django_db
def test_a_pending_piece_page_answers_with_the_broker_and_cache_down(client, broker_down):
    track = TrackFactory(render_status=Render.PENDING)
    with mock.patch("django.core.cache.cache.add", side_effect=ConnectionError("refused")):
        assert client.get(reverse("catalog:track_detail", args=[track.pk])).status_code == 200
        player = client.get(reverse("catalog:track_player", args=[track.pk]))
    assert player.status_code == 200


@pytest.mark.django_db
def test_staff_can_fail_a_stuck_render(admin_client):
    track = TrackFactory(render_status=Render.RENDERING)
    url = reverse("admin:catalog_track_changelist")
    admin_client.post(url, {"action": "fail_render", "_selected_action": [track.pk]})
    track.refresh_from_db()
    assert track.render_status == Render.FAILED and "staff" in track.render_error
