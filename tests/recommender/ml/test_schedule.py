"""The learning-rate schedule of the sequence models."""

import dataclasses
import itertools

import pytest

from recommender.ml import seq_train
from recommender.ml.seq_config import SeqConfig, SeqTrainConfig
from recommender.ml.seq_recommender import SASRecRecommender
from recommender.ml.seq_train import _lr_factor
from tests.recommender.ml.test_contract import _toy


def test_cosine_warms_up_peaks_and_ends_at_zero():
    c = SeqTrainConfig(lr_schedule="cosine", warmup=0.1)  # the training part is all it reads
    factors = [_lr_factor(c, p / 100) for p in range(101)]
    assert factors[0] < factors[5] < factors[10] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(factors[10:]))
    assert factors[-1] == pytest.approx(0.0, abs=1e-9)
    assert _lr_factor(SeqTrainConfig(lr_schedule="constant"), 0.7) == 1.0


@pytest.mark.parametrize(
    "change", [{"lr_schedule": "linear"}, {"lr_schedule": "cosine", "warmup": 1.0}]
)
def test_bad_schedule_settings_are_named(change):
    with pytest.raises(ValueError, match=r"lr_schedule|warmup"):
        _lr_factor(dataclasses.replace(SeqConfig(), **change), 0.5)


@pytest.mark.parametrize("schedule", ["cosine", "constant"])
def test_a_run_ends_with_its_best_validated_weights_whatever_its_schedule(schedule, monkeypatch):
    scores = iter([0.5, 0.4, 0.3, 0.2, 0.1, 0.0])  # validation peaks at the first epoch
    monkeypatch.setattr(seq_train, "validate", lambda *args: next(scores))
    config = dataclasses.replace(
        SeqConfig.tiny(), epochs=6, patience=6, lr_schedule=schedule, warmup=0.0
    )
    report = SASRecRecommender(config).fit(_toy()).meta["train"]
    assert (report["epochs"], report["best_epoch"], report["kept_epoch"]) == (6, 1, 1)


def test_a_cosine_run_ended_by_early_stopping_restores_its_best(monkeypatch):
    scores = iter([0.5, 0.4, 0.3, 0.2])
    monkeypatch.setattr(seq_train, "validate", lambda *args: next(scores))
    config = dataclasses.replace(
        SeqConfig.tiny(), epochs=6, patience=2, lr_schedule="cosine", warmup=0.0
    )
    report = SASRecRecommender(config).fit(_toy()).meta["train"]
    assert report["stopped_by"] == "early_stopping"
    assert (report["epochs"], report["kept_epoch"]) == (3, 1)
