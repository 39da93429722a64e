"""Fine-tuning learns from every rating: songs their listener disliked become negatives, and a
candidate is promoted only when validation NLL and the music-quality OA do not get worse."""

import pytest

from generator import evaluation, services
from generator.selectors import disliked_generated_pieces, loved_generated_pieces
from tests.factories import RatingFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _nothing_queued(monkeypatch):
    monkeypatch.setattr("generator.tasks.run_generation_job.delay", lambda job_id: None)
    monkeypatch.setattr("catalog.tasks.render_track.delay", lambda track_id: None)


@pytest.fixture
def made_song(active_version):
    """A song the tiny generator wrote for a new listener (in the folk-song style)."""

    def make(seed: int):
        user = UserFactory()
        job = services.generation_job_create(user=user, seconds=6, seed=seed, style="folksong")
        job = services.generation_job_run(job_id=job.pk)
        assert job.track is not None, job.error
        return user, job.track

    return make


@pytest.fixture
def corpus(catalog_track, settings, tmp_path):
    settings.MODEL_ROOT = str(tmp_path / "models")
    for seed in range(10, 16):
        catalog_track(seed=seed)


def test_disliked_generated_songs_are_the_low_stars_and_not_interested_ones(made_song):
    low, hidden, loved, unrated, torn = (made_song(seed) for seed in (1, 2, 3, 4, 5))
    RatingFactory(user=low[0], track=low[1], stars=2)
    RatingFactory(user=hidden[0], track=hidden[1], stars=None, not_interested=True)
    RatingFactory(user=loved[0], track=loved[1], stars=5)
    RatingFactory(user=UserFactory(), track=unrated[1], stars=3)  # neither loved nor disliked
    RatingFactory(user=torn[0], track=torn[1], stars=1, liked=True)  # loved wins: no negative
    disliked = disliked_generated_pieces()
    assert [p.ident for p in disliked] == [f"generated:{low[1].pk}", f"generated:{hidden[1].pk}"]
    assert {p.style for p in disliked} == {"folksong"}  # the style each was written in
    assert all(p.path.is_file() for p in disliked)
    loved_idents = [p.ident for p in loved_generated_pieces()]
    assert loved_idents == [f"generated:{loved[1].pk}", f"generated:{torn[1].pk}"]


def test_a_disliked_song_is_passed_to_training_as_a_negative(made_song, corpus, monkeypatch):
    from generator.ml import train
    from generator.ml.data import tokenize_pieces

    user, track = made_song(7)
    RatingFactory(user=user, track=track, stars=1)
    real_fit, seen = train.fit, {}

    def spy(**kwargs):
        seen.update(kwargs)
        return real_fit(**kwargs)

    monkeypatch.setattr(train, "fit", spy)
    version = services.generator_fine_tune(time_budget_s=5, max_epochs=1)
    assert version is not None
    (expected,) = tokenize_pieces(
        seen["tokenizer"], [(disliked_generated_pieces()[0].path, "folksong")]
    )
    assert seen["negative_seqs"] == [expected]
    assert expected not in seen["train_seqs"]  # it is not learnt as an example as well
    assert version.metrics["disliked_pieces"] == 1
    assert "1 disliked as negatives" in version.notes


def test_a_candidate_whose_music_gets_worse_is_registered_but_not_promoted(
    active_version, corpus, monkeypatch
):
    figures = iter([0.60, 0.60 - evaluation.OA_TOLERANCE - 0.01])  # parent, then candidate
    monkeypatch.setattr(evaluation, "quality_oa", lambda *args, **kwargs: next(figures))
    version = services.generator_fine_tune(time_budget_s=5, max_epochs=1)
    assert version is not None and version.parent == active_version
    assert not version.is_active and version.metrics["promoted"] is False
    metrics = version.metrics
    assert metrics["parent_oa_mean"] == pytest.approx(0.60)
    assert metrics["oa_mean"] == pytest.approx(0.57)
    assert metrics["oa_ok"] is False and metrics["oa_tolerance"] == evaluation.OA_TOLERANCE
    assert "OA mean 0.600 → 0.570" in version.notes and "not promoted" in version.notes
    active_version.refresh_from_db()
    assert active_version.is_active


def test_the_gate_measures_both_models_and_records_both_figures(active_version, corpus):
    version = services.generator_fine_tune(time_budget_s=5, max_epochs=1)
    assert version is not None
    metrics = version.metrics
    assert 0.0 < metrics["parent_oa_mean"] <= 1.0 and 0.0 < metrics["oa_mean"] <= 1.0
    assert version.is_active == (metrics["nll_ok"] and metrics["oa_ok"])
    assert f"{metrics['parent_oa_mean']:.3f} → {metrics['oa_mean']:.3f}" in version.notes


@pytest.mark.parametrize(
    ("val_nll", "oa_mean", "promoted"),
    [
        (1.9, 0.59, True),  # NLL better, OA within the tolerance
        (1.9, 0.57, False),  # OA fell more than the tolerance
        (2.1, 0.65, False),  # OA better, NLL worse
    ],
)
def test_promotion_needs_both_nll_and_oa(monkeypatch, val_nll, oa_mean, promoted):
    figures = iter([0.60, oa_mean])
    monkeypatch.setattr(evaluation, "quality_oa", lambda *args, **kwargs: next(figures))
    gate = evaluation.promotion_gate(
        parent=None,
        candidate=None,
        tokenizer=None,
        val_pieces=[],
        parent_val_nll=2.0,
        val_nll=val_nll,
    )
    assert gate.promoted is promoted
