"""One flow through Celery's eager mode with the checkpoint shipped in the repository."""

import pretty_midi
import pytest

from catalog.models import Track
from generator import services
from generator.models import GenerationJob
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def eager(monkeypatch):
    from musicsite.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    queued_renders: list[int] = []
    monkeypatch.setattr("catalog.tasks.render_track.delay", queued_renders.append)
    services._load.cache_clear()
    return queued_renders


def test_shipped_checkpoint_makes_a_playable_private_piece(
    eager, django_capture_on_commit_callbacks
):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        job = services.generation_job_create(user=user, seconds=15, seed=3)
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    assert job.version.name == "demo" and job.version.is_active
    track = job.track
    assert track.origin == Track.Origin.GENERATED and track.owner == user
    assert track.render_status == Track.RenderStatus.READY
    assert 8 <= track.duration_seconds <= 20
    midi = pretty_midi.PrettyMIDI(track.midi_file.path)
    assert sum(len(i.notes) for i in midi.instruments) > 10
    assert track.audio_file.size > 10_000
    assert track.title == f"Made for {user.username} · no. 1"  # the listener's own count
    assert eager == []  # rendered by the job itself, not queued a second time
