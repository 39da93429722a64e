"""A listener's ratings of their songs steer the next song's temperature, tempo and density."""

import random

import pytest

from catalog.models import Collection, Track
from generator import services
from generator.ml.compose import SongSpec, compose
from generator.ml.measures import piece_features
from generator.personalization import (
    DENSITY_BIAS,
    FEEL_ARMS,
    NEUTRAL_FEEL,
    Feel,
    arm_counts,
    conditioning_for,
    draw_feel,
    feel_counts,
    thompson_draw,
)
from tests.factories import (
    GenerationJobFactory,
    ListenEventFactory,
    RatingFactory,
    TrackFactory,
    UserFactory,
)

FAST_DENSE, SLOW_SPARSE = Feel(1.25, "dense"), Feel(0.8, "sparse")


def test_arm_counts_tally_likes_and_dislikes_and_skip_unknown_arms():
    outcomes = [("a", True, False), ("a", False, True), ("b", True, False), ("z", True, False)]
    outcomes += [(None, False, True), ("b", False, False)]  # unknown arm; neither verdict
    assert arm_counts(outcomes, ("a", "b", "c")) == {"a": (1, 1), "b": (1, 0), "c": (0, 0)}


def test_thompson_draw_plays_the_arm_that_was_liked():
    counts = {"liked": (9, 1), "disliked": (1, 9), "unknown": (0, 0)}
    picks = [thompson_draw(counts, random.Random(i)) for i in range(200)]
    assert picks.count("liked") > 150
    assert picks.count("disliked") < 5


def test_a_listener_without_rated_songs_gets_the_loved_pieces_own_feel():
    assert draw_feel(feel_counts([]), random.Random(0)) == NEUTRAL_FEEL
    old_songs = [({"temperature": 0.8}, True, False)]  # written before feels: teaches nothing
    assert draw_feel(feel_counts(old_songs), random.Random(0)) == NEUTRAL_FEEL


def test_feel_counts_read_the_arms_stored_in_the_settings():
    outcomes = [
        ({"tempo_factor": 1.25, "density": "dense"}, True, False),
        ({"tempo_factor": None, "density": "dense"}, True, False),  # a tempo asked for
        ({"tempo_factor": 0.8, "density": "sparse"}, False, True),
    ]
    counts = feel_counts(outcomes)
    assert counts[FAST_DENSE] == (1, 0) and counts[SLOW_SPARSE] == (0, 1)
    assert sum(s + f for s, f in counts.values()) == 2 and len(counts) == len(FEEL_ARMS) == 9


def _loved_chorale(catalog_track, user, tempo: float = 80.0) -> Track:
    chorales, _ = Collection.objects.get_or_create(name="Bach Chorales")
    loved = catalog_track(seed=3)
    Track.objects.filter(pk=loved.pk).update(collection=chorales, key="G major", tempo_bpm=tempo)
    RatingFactory(user=user, track=loved, stars=5)
    return loved


def _rated_song(user, feel: Feel, **verdict) -> Track:
    track = TrackFactory(origin=Track.Origin.GENERATED, owner=user)
    settings = {"temperature": 0.95, "tempo_factor": feel.tempo_factor, "density": feel.density}
    GenerationJobFactory(user=user, status="succeeded", track=track, settings=settings)
    if verdict:
        RatingFactory(user=user, track=track, **verdict)
    return track


@pytest.mark.django_db
def test_liked_fast_dense_songs_make_the_next_songs_fast_and_dense(catalog_track):
    user = UserFactory()
    _loved_chorale(catalog_track, user, tempo=80.0)
    for _ in range(10):
        _rated_song(user, FAST_DENSE, stars=5)
        _rated_song(user, SLOW_SPARSE, stars=1)
    conds = [conditioning_for(user, seed=i) for i in range(40)]
    fast = [c for c in conds if c.tempo_factor == 1.25 and c.density == "dense"]
    assert len(fast) >= 20  # the other seven arms, never rated, are still explored
    assert not [c for c in conds if c.tempo_factor == 0.8 and c.density == "sparse"]
    cond = fast[0]
    assert cond.tempo_bpm == pytest.approx(100.0)  # the loved chorale's 80 BPM, times 1.25
    assert cond.density_bias == DENSITY_BIAS["dense"] > 0
    assert cond.reason.startswith("In the style of the Bach chorales you loved")
    assert cond.reason.endswith(
        "Your ratings of earlier songs chose a faster tempo and denser writing."
    )


@pytest.mark.django_db
def test_skipped_songs_count_against_their_feel(catalog_track):
    user = UserFactory()
    _loved_chorale(catalog_track, user)
    for _ in range(6):
        ListenEventFactory(
            user=user, track=_rated_song(user, SLOW_SPARSE), skipped=True, counted=False
        )
        _rated_song(user, NEUTRAL_FEEL, liked=True, stars=None)
    conds = [conditioning_for(user, seed=i) for i in range(20)]
    assert not [c for c in conds if (c.tempo_factor, c.density) == (0.8, "sparse")]


@pytest.mark.django_db
def test_a_neutral_song_says_nothing_about_tempo_or_density(catalog_track):
    user = UserFactory()
    _loved_chorale(catalog_track, user)
    cond = conditioning_for(user, seed=0)
    assert (cond.tempo_factor, cond.density, cond.density_bias) == (1.0, "plain", 0.0)
    assert cond.tempo_bpm == pytest.approx(80.0)
    assert "tempo" not in cond.reason and "writing" not in cond.reason


@pytest.mark.django_db
def test_a_tempo_asked_for_wins_and_teaches_the_feel_bandit_nothing(
    active_version, catalog_track, monkeypatch, settings
):
    monkeypatch.setattr("generator.tasks.run_generation_job.delay", lambda job_id: None)
    settings.GENERATOR_JOBS_PER_HOUR = 100
    user = UserFactory()
    _loved_chorale(catalog_track, user)
    for _ in range(6):
        _rated_song(user, FAST_DENSE, stars=5)
    job = services.generation_job_create(user=user, seconds=8, seed=3, tempo_bpm=150.0)
    assert job.settings["tempo_bpm"] == 150.0
    assert job.settings["tempo_factor"] is None
    assert "tempo" not in job.settings["reason"]
    dense = {**job.settings, "density": "dense", "density_bias": DENSITY_BIAS["dense"]}
    assert services.song_spec(dense).density_bias == DENSITY_BIAS["dense"]  # the worker plays it


def test_dense_songs_have_more_notes_per_second_than_sparse_ones(tiny_checkpoint):
    from generator.ml.checkpoint import load_checkpoint

    model, _, tok, _ = load_checkpoint(tiny_checkpoint, "cpu")

    def notes_per_second(density: str) -> float:
        rates = []
        for seed in range(4):
            spec = SongSpec(
                style=None,
                key="C major",
                tempo_bpm=100.0,
                seconds=10.0,
                seed=seed,
                density_bias=DENSITY_BIAS[density],
            )
            rates.append(piece_features(compose(model, tok, spec).score)["notes_per_second"])
        return sum(rates) / len(rates)

    sparse, plain, dense = (notes_per_second(d) for d in ("sparse", "plain", "dense"))
    assert sparse < plain < dense
