"""The sequence models' last phase: each history followed by its validation item is learned too."""

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.ml import seq_train
from recommender.ml.base import FitData
from recommender.ml.seq_config import SeqConfig
from recommender.ml.seq_recommender import SASRecRecommender, with_valid_items
from recommender.ml.seq_train import REFIT_LR, TrainReport, first_phase, refit_phase

N_ITEMS, NEW = 31, 30  # item 30 never appears in the training sequences


def _walks_then_a_new_item() -> FitData:
    """Listeners walk items 0..29 upward; each one's newest play, after item 29, is item 30.

    The newest play is each one's validation target (on the site and in the evaluation it is
    the second-newest, the newest being the test), so only the last phase can learn that 30
    follows 29.
    """
    rng = np.random.default_rng(0)
    history = [np.arange(rng.integers(0, 20), 30, dtype=np.int64) for _ in range(60)]
    rows = np.repeat(np.arange(len(history)), [len(h) for h in history])
    matrix = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, np.concatenate(history))),
        shape=(len(history), N_ITEMS),
    )
    targets = np.full(len(history), NEW, dtype=np.int64)
    targets[::10] = -1  # some listeners have too little history to hold anything out
    return FitData(matrix, history, valid_history=history, valid_target=targets)


def _rank_of_new_item_after_29(refit: float, seed: int) -> int:
    """Where item 30 ranks among the unheard items after a history ending 20..29."""
    config = dataclasses.replace(
        SeqConfig.tiny(), epochs=30, eval_every=30, lr=1e-2, batch_size=8, maxlen=10
    )
    config = dataclasses.replace(config, refit=refit, seed=seed)
    model = SASRecRecommender(config).fit(_walks_then_a_new_item())
    history = np.arange(20, 30)
    scores = model.scores(np.array([0]), [history])[0]
    scores[history] = -np.inf
    return int((scores > scores[NEW]).sum())


@pytest.mark.parametrize("seed", [0, 1])
def test_the_newest_play_is_learned_only_by_the_refit_phase(seed):
    assert _rank_of_new_item_after_29(refit=0.0, seed=seed) > 5
    assert _rank_of_new_item_after_29(refit=0.2, seed=seed) == 0


def test_histories_are_followed_by_their_validation_items():
    data = _walks_then_a_new_item()
    known = with_valid_items(data)
    assert known is not None and len(known) == len(data.sequences)
    assert list(known[1][-2:]) == [29, NEW]
    assert list(known[0]) == list(data.sequences[0])  # no target: the sequence as it is
    assert with_valid_items(FitData(data.matrix, data.sequences)) is None


def test_the_phases_share_the_budget_and_the_report_counts_both():
    c = SeqConfig(time_budget=100.0, refit=0.2, lr=1e-3)
    assert first_phase(c).time_budget == pytest.approx(80.0)
    last = refit_phase(c, TrainReport(epochs=12, best_epoch=8, kept_epoch=8))
    assert last.time_budget == pytest.approx(20.0)
    assert last.epochs == 2  # a quarter of the eight epochs whose weights were kept
    assert last.lr == pytest.approx(1e-3 * REFIT_LR) and last.lr_schedule == "cosine"
    assert first_phase(dataclasses.replace(c, refit=0.0)).time_budget == 100.0


def test_the_refit_runs_in_proportion_to_the_epochs_whose_weights_were_kept(monkeypatch):
    scores = iter([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.5, 0.4, 0.3, 0.2])  # peak: epoch 8
    monkeypatch.setattr(seq_train, "validate", lambda *args: next(scores))
    config = dataclasses.replace(SeqConfig.tiny(), epochs=12, patience=12)  # constant rate
    report = SASRecRecommender(config).fit(_walks_then_a_new_item()).meta["train"]
    assert (report["epochs"], report["kept_epoch"], report["refit_epochs"]) == (12, 8, 2)


def test_a_sequence_that_already_holds_its_target_is_not_extended():
    data = _walks_then_a_new_item()
    pairs = zip(data.sequences, data.valid_target, strict=True)
    sequences = [np.append(h, t) if t >= 0 else h for h, t in pairs]
    known = with_valid_items(
        FitData(
            data.matrix,
            sequences,
            valid_history=data.valid_history,
            valid_target=data.valid_target,
        )
    )
    assert [list(s) for s in known] == [list(s) for s in sequences]


@pytest.mark.parametrize("refit", [-0.1, 1.0])
def test_a_refit_share_outside_zero_to_one_is_named(refit):
    with pytest.raises(ValueError, match="refit must be a share"):
        dataclasses.replace(SeqConfig.tiny(), refit=refit)
