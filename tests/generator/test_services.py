import pretty_midi
import pytest

from catalog.models import Track
from generator import services
from generator.models import GenerationJob
from generator.personalization import TEMPERATURE_ARMS, choose_temperature, conditioning_for
from tests.factories import GenerationJobFactory, RatingFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_create_queues_the_job_on_the_ml_task_after_commit(
    active_version, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr("generator.tasks.run_generation_job.delay", queued.append)
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = services.generation_job_create(user=user, seconds=20)
    assert queued == []  # nothing leaves before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert queued == [job.pk]
    assert job.status == GenerationJob.Status.QUEUED
    assert job.version == active_version
    assert job.settings["seconds"] == 20


def test_ml_routing_sends_generation_to_the_ml_queue(settings):
    from musicsite.celery import app

    route = app.amqp.router.route({}, "generator.run_generation_job")
    assert route["queue"].name == "ml"


def test_rate_limit_has_a_clear_message(active_version, settings, monkeypatch):
    monkeypatch.setattr("generator.tasks.run_generation_job.delay", lambda job_id: None)
    settings.GENERATOR_JOBS_PER_HOUR = 2
    user = UserFactory()
    services.generation_job_create(user=user)
    services.generation_job_create(user=user)
    with pytest.raises(services.RateLimited, match=r"2 songs per hour\. Try again in 60 minutes"):
        services.generation_job_create(user=user)
    services.generation_job_create(user=UserFactory())  # other listeners are not affected
    assert GenerationJob.objects.filter(user=user).count() == 2


def test_cancelled_songs_do_not_count_towards_the_rate_limit(active_version, settings, monkeypatch):
    monkeypatch.setattr("generator.tasks.run_generation_job.delay", lambda job_id: None)
    settings.GENERATOR_JOBS_PER_HOUR = 1
    user = UserFactory()
    services.generation_job_cancel(job=services.generation_job_create(user=user))
    services.generation_job_create(user=user)  # the cancelled one left the hour's slot free
    with pytest.raises(services.RateLimited):
        services.generation_job_create(user=user)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key": "H major"}, "Unknown key"),
        ({"seconds": 1}, "between 5 and 180"),
        ({"temperature": 5}, "temperature"),
        ({"tempo_bpm": 400}, "tempo"),
    ],
)
def test_bad_settings_are_refused_and_nothing_is_queued(active_version, kwargs, message):
    with pytest.raises(services.GenerationError, match=message):
        services.generation_job_create(user=UserFactory(), **kwargs)
    assert not GenerationJob.objects.exists()


def test_new_listener_gets_a_fresh_piece_without_primer():
    cond = conditioning_for(UserFactory(), seed=0)
    assert cond.primer_track_id is None
    assert cond.temperature in TEMPERATURE_ARMS
    assert "rate some music" in cond.reason


def test_loved_piece_becomes_the_primer_and_sets_key_and_tempo(catalog_track):
    user = UserFactory()
    loved = catalog_track(seed=1)
    Track.objects.filter(pk=loved.pk).update(key="D minor", tempo_bpm=132.0)
    disliked = catalog_track(seed=2)
    RatingFactory(user=user, track=loved, stars=5)
    RatingFactory(user=user, track=disliked, stars=1)
    cond = conditioning_for(user, seed=0)
    assert cond.primer_track_id == loved.pk
    assert cond.key == "D minor"
    assert cond.tempo_bpm == pytest.approx(132.0)
    assert loved.title in cond.reason


def test_bandit_prefers_the_temperature_whose_pieces_were_loved():
    import random

    user = UserFactory()
    for arm, stars in ((0.8, 5), (1.1, 1)):
        for _ in range(8):
            track = TrackFactory(origin=Track.Origin.GENERATED, owner=user)
            GenerationJobFactory(
                user=user, status="succeeded", track=track, settings={"temperature": arm}
            )
            RatingFactory(user=user, track=track, stars=stars)
    picks = [choose_temperature(user, random.Random(i)) for i in range(40)]
    assert picks.count(0.8) > 25
    assert picks.count(1.1) < 5


def test_run_writes_a_private_playable_track(active_version, catalog_track, monkeypatch):
    monkeypatch.setattr("generator.tasks.run_generation_job.delay", lambda job_id: None)
    monkeypatch.setattr("catalog.tasks.render_track.delay", lambda track_id: None)
    user = UserFactory()
    RatingFactory(user=user, track=catalog_track(seed=3), stars=5)
    job = services.generation_job_create(user=user, seconds=8, seed=1)
    job = services.generation_job_run(job_id=job.pk)
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    assert job.progress == 100 and job.finished_at is not None
    track = job.track
    assert track.owner == user and track.origin == Track.Origin.GENERATED
    assert track.render_status == Track.RenderStatus.READY
    assert track.audio_file.size > 1000 and track.pianoroll_image.size > 100
    midi = pretty_midi.PrettyMIDI(track.midi_file.path)
    assert midi.instruments[0].notes
    assert all(n.end <= midi.get_end_time() + 1e-6 for n in midi.instruments[0].notes)
    assert track in Track.objects.visible_to(user)
    assert track not in Track.objects.visible_to(UserFactory())


def test_a_cancelled_job_is_not_run(active_version):
    job = GenerationJobFactory(version=active_version)
    services.generation_job_cancel(job=job)
    job = services.generation_job_run(job_id=job.pk)
    assert job.status == GenerationJob.Status.CANCELLED
    assert job.track is None
    assert not Track.objects.exists()


def test_a_broken_checkpoint_fails_the_job_with_a_reason(active_version, tmp_path):
    active_version.artifact_path = str(tmp_path / "missing")
    active_version.save()
    job = GenerationJobFactory(version=active_version)
    job = services.generation_job_run(job_id=job.pk)
    assert job.status == GenerationJob.Status.FAILED
    assert "could not be written" in job.error and "no checkpoint" in job.error
    assert not Track.objects.exists()


def test_fine_tune_registers_a_candidate_and_promotes_only_if_not_worse(
    active_version, catalog_track, settings, tmp_path
):
    settings.MODEL_ROOT = str(tmp_path / "models")
    for seed in range(10, 16):
        catalog_track(seed=seed)
    version = services.generator_fine_tune(time_budget_s=5, max_epochs=2)
    assert version is not None and version.parent == active_version
    metrics = version.metrics
    assert {"val_nll", "parent_val_nll", "promoted"} <= set(metrics)
    assert version.is_active == (metrics["promoted"] is True)
    if metrics["promoted"]:
        assert metrics["val_nll"] <= metrics["parent_val_nll"]
    active_version.refresh_from_db()
    assert active_version.is_active != version.is_active


def test_cancel_while_rendering_keeps_no_track_or_file(active_version, monkeypatch, settings):
    from pathlib import Path

    import catalog.services

    real_render = catalog.services.track_render
    job = GenerationJobFactory(version=active_version)

    def cancel_then_render(*, track_id, **options):
        services.generation_job_cancel(job=GenerationJob.objects.get(pk=job.pk))
        return real_render(track_id=track_id, **options)

    monkeypatch.setattr(catalog.services, "track_render", cancel_then_render)
    monkeypatch.setattr("catalog.tasks.render_track.delay", lambda track_id: None)
    job = services.generation_job_run(job_id=job.pk)
    assert job.status == GenerationJob.Status.CANCELLED
    assert job.track is None and not Track.objects.exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_a_version_whose_checkpoint_is_gone_cannot_be_activated(active_version, tmp_path):
    """A pruned (or moved) version is refused with a reason; the active one stays active."""
    gone = services.GeneratorVersion.objects.create(
        name="pruned", artifact_path=str(tmp_path / "gone"), config={}
    )
    with pytest.raises(services.GenerationError, match="checkpoint"):
        services.generator_version_activate(version=gone)
    active_version.refresh_from_db()
    gone.refresh_from_db()
    assert active_version.is_active and not gone.is_active
