"""The budgeted search: settings chosen on the validation items, the test items never read."""

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.ml.base import FitData
from recommender.ml.data import leave_one_out
from recommender.ml.registry import default_config
from recommender.ml.search import LARGE_CATALOG, BudgetTooSmall, search_model
from recommender.ml.seq_config import SeqConfig

N_ITEMS, NEW = 32, 30  # item 30 follows item 29 only as a validation item or a test item


def _walks_then_a_new_item() -> FitData:
    """Listeners walk items 0..29 upward; each one's newest play, after item 29, is item 30.

    The newest play is each one's validation target (on the site and in the evaluation it is
    the second-newest, the newest being the test), so a model trained on the histories alone
    never learns that 30 follows 29.
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


def _walk_split():
    """Walks upward from 0..9 to an end in 20..29, then the next two steps: the first is the
    validation item, the second the test item. Item 30 is only ever a validation item (after
    29) or a test item (after 28, 29)."""
    rng = np.random.default_rng(1)
    sequences = []
    for user in range(90):
        end = 29 if user % 3 == 0 else int(rng.integers(20, 29))
        sequences.append(np.arange(rng.integers(0, 10), end + 3, dtype=np.int64))
    return leave_one_out(sequences, N_ITEMS)


SEQ_BASE = dataclasses.replace(
    SeqConfig.tiny(), epochs=30, lr=1e-2, batch_size=8, item_init="random", device="cpu"
)
SEQ_PINNED = frozenset({"lr", "batch_size", "maxlen", "hidden", "item_init"})


def _rank_after_29(model) -> int:
    history = np.arange(20, 30)
    scores = model.scores(np.array([0]), [history])[0]
    scores[history] = -np.inf
    return int((scores > scores[NEW]).sum())


def test_the_chosen_network_learns_the_validation_items_before_it_is_tested():
    split = _walk_split()
    model, result = search_model(
        "sasrec", split, budget=60, base=SEQ_BASE, pinned=SEQ_PINNED, max_trials=2
    )
    assert result.retrained
    assert _rank_after_29(model) == 0  # 30 after 29 was learned from the validation items


def test_the_search_never_reads_the_test_items():
    split = _walk_split()
    split.test_target = None  # any read of the test items would fail
    for kind, base, pinned in (
        ("sasrec", SEQ_BASE, SEQ_PINNED),
        ("als", default_config("als"), frozenset()),
        ("pop", default_config("pop"), frozenset()),
    ):
        _, result = search_model(kind, split, budget=30, base=base, pinned=pinned, max_trials=2)
        assert result.valid_ndcg10 > 0


def test_matrix_factorisation_keeps_the_best_validated_trial_starting_from_the_defaults():
    base = dataclasses.replace(default_config("als"), factors=8)
    model, result = search_model("als", _walk_split(), budget=60, base=base, max_trials=6)
    assert len(result.trials) == 6
    first = result.trials[0]["params"]
    assert first == {"factors": 8, "regularization": 0.05, "alpha": 5.0, "iterations": 15}
    best = max(result.trials, key=lambda trial: trial["valid_NDCG10"])
    assert result.chosen == best["params"]
    assert result.valid_ndcg10 == pytest.approx(best["valid_NDCG10"], abs=1e-5)
    assert model.config.factors == best["params"]["factors"]  # fitted with the chosen settings
    assert model.meta["search"]["chosen"] == result.chosen


def test_pinned_settings_are_not_searched():
    pinned = frozenset({"factors", "iterations"})
    base = dataclasses.replace(default_config("als"), factors=8, iterations=5)
    _, result = search_model(
        "als", _walk_split(), budget=60, base=base, pinned=pinned, max_trials=4
    )
    assert all(set(trial["params"]) == {"regularization", "alpha"} for trial in result.trials)


def test_a_budget_too_small_for_one_trial_is_named():
    with pytest.raises(BudgetTooSmall, match="time budget of 1 s is too small for one trial"):
        search_model("sasrec", _walk_split(), budget=1)


def test_a_search_records_each_trial_of_a_sequence_model():
    _, result = search_model(
        "sasrec", _walk_split(), budget=60, base=SEQ_BASE, pinned=SEQ_PINNED, max_trials=3
    )
    tried = [trial for trial in result.trials if trial["state"] in {"complete", "pruned"}]
    assert len(tried) == 3
    assert {"params", "valid_NDCG10", "seconds", "epochs", "best_epoch"} <= set(tried[0])
    assert tried[0]["params"]["dropout"] == SEQ_BASE.dropout  # the defaults come first
    assert result.members >= 1 and set(result.chosen) == set(tried[0]["params"])


def test_a_large_catalog_starts_from_the_sampled_softmax_and_may_choose_either():
    split = _walk_split()
    split = dataclasses.replace(split, n_items=LARGE_CATALOG + 1)  # items no one played
    _, result = search_model(
        "sasrec", split, budget=30, base=SEQ_BASE, pinned=SEQ_PINNED, max_trials=1
    )
    assert result.trials[0]["params"]["loss"] == "sampled"
    _, small = search_model(
        "sasrec", _walk_split(), budget=30, base=SEQ_BASE, pinned=SEQ_PINNED, max_trials=1
    )
    assert "loss" not in small.trials[0]["params"]  # the full softmax, not searched


def test_a_sequence_search_first_tries_the_defaults_then_each_regime():
    base = dataclasses.replace(SEQ_BASE, hidden=16)
    pinned = frozenset({"lr", "batch_size", "item_init", "layers"})
    _, result = search_model(
        "sasrec", _walk_split(), budget=60, base=base, pinned=pinned, max_trials=3
    )
    tried = [t["params"] for t in result.trials if t["state"] in {"complete", "pruned"}]
    assert tried[0]["dropout"] == base.dropout and tried[0]["hidden"] == 16
    assert (tried[1]["hidden"], tried[1]["dropout"], tried[1]["weight_decay"]) == (128, 0.6, 0.1)
    assert (tried[2]["dropout"], tried[2]["weight_decay"]) == (0.1, 0.0)
    assert all(t["maxlen"] <= 50 for t in tried)  # the walks are short: no longer history is read


def test_a_retraining_is_costed_by_the_epochs_validation_kept():
    from recommender.ml.search import _retrain_seconds
    from recommender.ml.seq_train import TrainReport

    members = [
        (None, None, TrainReport(epochs=14, best_epoch=7, seconds=100.0)),
        (None, None, TrainReport(epochs=10, best_epoch=10, seconds=50.0)),
    ]
    assert _retrain_seconds(members) == pytest.approx(50.0 + 50.0)


def test_half_the_validation_stops_training_and_the_other_half_chooses():
    from recommender.ml.search import choosing_targets, split_fit_data

    split = _walk_split()
    stopping = split_fit_data(split, test=False).valid_target
    choosing = choosing_targets(split)
    held = split.valid_target >= 0
    assert ((stopping >= 0) ^ (choosing >= 0))[held].all()  # each listener in one half
    assert abs(int((stopping >= 0).sum()) - int((choosing >= 0).sum())) <= 1
    assert (np.maximum(stopping, choosing)[held] == split.valid_target[held]).all()


def test_a_trial_cut_short_by_its_time_is_trained_longer_and_kept_on_validation():
    from recommender.ml.search import _network_score

    split = _walk_split()
    slow = dataclasses.replace(SEQ_BASE, epochs=10**6, patience=10**6, lr=1e-5)  # still learning
    model, result = search_model(
        "sasrec", split, budget=20, base=slow, pinned=SEQ_PINNED, max_trials=1
    )
    trial, longer = result.trials[0], result.trials[1]
    assert trial["stopped_by"] == "time_budget"
    assert longer["state"] == "longer run kept"
    assert longer["params"]["time_budget"] >= 1.5 * 5  # the rest of the budget, not a trial's
    assert longer["epochs"] > trial["epochs"]
    assert longer["valid_NDCG10"] > trial["valid_NDCG10"]
    assert result.valid_ndcg10 == pytest.approx(longer["valid_NDCG10"], abs=1e-5)
    served = _network_score(model.module, split, "cpu")
    assert served == pytest.approx(longer["valid_NDCG10"], abs=1e-5)  # the longer network serves
