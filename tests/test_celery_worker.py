"""A real worker consumes from the configured broker (Redis under CI) and writes to the database."""

import time

import pytest
from django.contrib.auth import get_user_model

from musicsite.celery import app


@app.task(name="tests.create_user")
def create_user(username: str) -> None:
    get_user_model().objects.create(username=username)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_queued_task(celery_worker_real):
    create_user.delay("queued-through-the-broker")
    for _ in range(100):
        if get_user_model().objects.filter(username="queued-through-the-broker").exists():
            break
        time.sleep(0.1)
    assert get_user_model().objects.filter(username="queued-through-the-broker").exists()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_piece_a_listener_waits_on_is_rendered_through_the_interactive_queue(
    celery_worker_real, client
):
    from unittest import mock

    from catalog import services
    from catalog.models import Track
    from tests.catalog.midi_samples import midi_bytes

    with mock.patch("catalog.tasks.render_track.delay"):  # its place in the default queue
        track = services.track_ingest(filename="waiting.mid", data=midi_bytes())
    assert client.get(f"/tracks/{track.pk}/").status_code == 200
    for _ in range(300):
        track.refresh_from_db()
        if track.render_status == Track.RenderStatus.READY:
            break
        time.sleep(0.1)
    assert track.render_status == Track.RenderStatus.READY and track.audio_file
