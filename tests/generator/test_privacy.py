"""Every job is seeded, so two listeners with the same settings each get a piece of their own;
a job is reproducible from its row; a generated piece is never refused for resembling another
listener's private piece, and no message names another listener or their pieces."""

import pytest

from catalog.models import Track
from generator import services
from generator.models import GenerationJob
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _nothing_queued(monkeypatch):
    monkeypatch.setattr("generator.tasks.run_generation_job.delay", lambda job_id: None)
    monkeypatch.setattr("catalog.tasks.render_track.delay", lambda track_id: None)


def _made(user, **kwargs) -> GenerationJob:
    job = services.generation_job_create(user=user, seconds=6, **kwargs)
    return services.generation_job_run(job_id=job.pk)


def _midi(job: GenerationJob) -> bytes:
    with job.track.midi_file.open("rb") as handle:
        return handle.read()


def test_two_listeners_with_the_same_settings_each_get_a_piece_of_their_own(active_version):
    carol, ada = UserFactory(username="carol"), UserFactory(username="ada")
    carols = _made(carol, temperature=0.95)
    adas = _made(ada, temperature=0.95)
    assert carols.status == adas.status == GenerationJob.Status.SUCCEEDED, adas.error
    seeds = {carols.settings["seed"], adas.settings["seed"]}
    assert all(isinstance(seed, int) for seed in seeds) and len(seeds) == 2
    assert _midi(carols) != _midi(adas)
    assert "carol" not in adas.error and "carol" not in adas.track.title
    assert adas.track.owner == ada and adas.track.title == "Made for ada · no. 1"


def test_a_job_is_reproducible_from_its_row(active_version):
    """Bob asks with the seed stored in Ada's job: the same piece, and his job is not refused
    for resembling her private one."""
    ada, bob = UserFactory(username="ada"), UserFactory(username="bob")
    adas = _made(ada)
    assert adas.status == GenerationJob.Status.SUCCEEDED, adas.error
    bobs = _made(bob, seed=adas.settings["seed"])
    assert bobs.status == GenerationJob.Status.SUCCEEDED, bobs.error
    assert bobs.settings == adas.settings
    assert _midi(bobs) == _midi(adas)
    assert bobs.track.owner == bob and bobs.track.content_hash != adas.track.content_hash


def test_the_same_piece_twice_for_one_listener_says_so_naming_only_their_own(active_version):
    ada = UserFactory(username="ada")
    first = _made(ada, seed=7)
    again = _made(ada, seed=7)
    assert first.status == GenerationJob.Status.SUCCEEDED, first.error
    assert again.status == GenerationJob.Status.FAILED
    assert "came out the same as your “Made for ada · no. 1”" in again.error
    assert Track.objects.filter(owner=ada).count() == 1
