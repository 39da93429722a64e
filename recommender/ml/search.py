"""A budgeted search over a model kind's settings, every choice made on validation (Optuna).

Nested leave-one-out: each trial learns from every listener's items before their validation
item (``LeaveOneOut.train``). Half the listeners' validation items stop and prune training; the
other half score the trial (NDCG@10, full ranking, seen items filtered) and make every choice,
so the score that chooses was never the one an epoch was kept for (a tag log never tuned on:
SASRec 0.042 on all validation items against 0.035 on the test items before, 0.037-0.040
against 0.036-0.039 after; on Last.fm a gap of about 0.012 remains). The test item is never
read here. Optuna's TPE sampler proposes the settings (the kind's defaults are
the first trial), and a median pruner ends a sequence trial whose stopping score, epoch for
epoch, falls below the median of the trials before it.

- Matrix factorisation (ALS, BPR): trials until ``MF_SHARE`` of the budget or ``MAX_TRIALS``
  ends, then the chosen settings are fitted again on everything before the test items.
- The sequence model (SASRec): ``TRIALS_SHARE`` of the budget goes to trials of at most a
  third of it each (the learning rate decays to zero by the trial's end; its best validated
  epoch is kept). The first trials are the defaults and the two regimes of ``STARTS``.
  When the chosen trial's time ran out before it converged (large logs), its settings are
  trained again with all the time left, and that network is kept if it scores higher on
  validation. Networks of the chosen settings and new seeds then join the best network while
  their summed logits score higher on validation and the time left pays for them
  (``MAX_MEMBERS``): the ensemble's size is chosen on validation too. Last, where the time
  left pays for it, each network is trained again on the histories up to the
  test items for the epochs its validation kept, so that every listener's latest transition
  is learned, as the matrix factorisations, fitted again, learn it. (Its length comes from
  validation; whether it helps cannot, and on Last.fm's 1,090 listeners it is within the
  noise: test NDCG@10 0.0407 before and 0.0456 after in one 90-s run, 0.0446 and 0.0425
  in one of 60 s.)
- Popularity has no settings: it is fitted once.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna

from recommender.ml.base import FitData, Recommender
from recommender.ml.data import LeaveOneOut
from recommender.ml.kinds import MF_KINDS, SEQUENCE_KINDS
from recommender.ml.metrics import filtered_ranks, ndcg
from recommender.ml.registry import default_config, make_model
from recommender.ml.seq_model import SeqEnsemble
from recommender.ml.seq_recommender import SequenceRecommender
from recommender.ml.seq_train import TrainReport, validate

__all__ = [
    "LARGE_CATALOG",
    "MAX_MEMBERS",
    "MAX_TRIALS",
    "MIN_BUDGET_S",
    "TRIALS_SHARE",
    "BudgetTooSmall",
    "SearchResult",
    "choosing_targets",
    "pinned_settings",
    "search_model",
    "split_fit_data",
    "valid_ndcg10",
]

logger = logging.getLogger(__name__)

TRIALS_SHARE = 0.5  # of a sequence model's budget spent on trials (each at most a third of it)
PRUNE_AFTER_EPOCHS = 3  # a trial is not pruned before its fourth epoch (early ones are noisy)
MAX_TRIALS = 30  # trials at most per kind (the budget usually ends them first)
MF_SHARE = 0.25  # of the budget a matrix factorisation's trials may take (ML-1M, one thread:
# 30 trials in 308 s on a quiet core, more than 780 s on a busy one)
MAX_MEMBERS = 4  # networks at most in a sequence model's ensemble
MIN_BUDGET_S = 5.0  # less than this is not one trial's worth of training
# The sequence search's first trials after the defaults: the two regimes its figures come from,
# (small data, short histories: wide and strongly regularised; long histories: long reads,
# little dropout, small batches). Validation chooses among them and what TPE proposes next.
STARTS: tuple[dict[str, Any], ...] = (
    {},  # the defaults
    {"hidden": 128, "dropout": 0.6, "weight_decay": 0.1, "maxlen": 50, "batch_size": 64},
    {"dropout": 0.1, "weight_decay": 0.0, "maxlen": 200, "batch_size": 32, "lr": 4e-3},
)
MAXLENS = (50, 100, 200)  # history lengths the search chooses among (capped by the data)
# Above this many items the full softmax dominates an epoch (350k events x 54k items: about
# 200 s), so the sampled one is the first trial's and the search chooses between the two.
LARGE_CATALOG = 20_000

Space = Callable[[optuna.Trial | None], dict[str, Any]]  # None: the first trial's values


class BudgetTooSmall(ValueError):
    """The time budget cannot pay for one trial."""


@dataclass
class SearchResult:
    """What a search tried and chose: the settings, their validation NDCG@10 and the trials."""

    kind: str
    budget: float
    chosen: dict[str, Any] = field(default_factory=dict)  # the searched settings' chosen values
    valid_ndcg10: float = 0.0  # on the choosing half, before any retraining (an ensemble: summed)
    members: int = 1
    retrained: bool = False  # trained again up to the test items for the validated epochs
    seconds: float = 0.0
    trials: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def valid_ndcg10(model: Recommender, histories: list[np.ndarray], targets: np.ndarray) -> float:
    """NDCG@10 of ``model`` on the users with a target (full ranking, history filtered)."""
    ranks, _ = filtered_ranks(model, histories, targets)
    return ndcg(ranks, 10) if len(ranks) else 0.0


# Settings that say where and how a model runs, not what it is: never searched, never pinned.
RUN_SETTINGS = frozenset({"device", "seed", "threads", "time_budget"})


def pinned_settings(given: dict[str, Any]) -> frozenset[str]:
    """The settings a search keeps as given: those named in ``given`` that say what the model
    is (not where or how it runs)."""
    return frozenset(given) - RUN_SETTINGS


def search_model(
    kind: str,
    split: LeaveOneOut,
    *,
    budget: float,
    base: Any = None,
    pinned: frozenset[str] = frozenset(),
    max_trials: int = MAX_TRIALS,
) -> tuple[Recommender, SearchResult]:
    """The model of ``kind`` with settings searched on ``split``'s validation items.

    ``base`` holds the settings not searched (``seed``, ``device``, ...); names in ``pinned``
    keep their ``base`` value. ``budget`` is in seconds, for the search and the final fit.
    """
    if budget < MIN_BUDGET_S:
        raise BudgetTooSmall(
            f"a time budget of {budget:g} s is too small for one trial of {kind} "
            f"(at least {MIN_BUDGET_S:g} s)"
        )
    if max_trials < 1:
        raise ValueError(f"max_trials must be at least 1, not {max_trials}")
    base = default_config(kind) if base is None else base
    result = SearchResult(kind=kind, budget=budget)
    start = time.perf_counter()
    if kind in SEQUENCE_KINDS:
        model = _search_sequence(kind, split, base, pinned, budget, max_trials, result)
    elif kind in MF_KINDS:
        model = _search_mf(kind, split, base, pinned, budget, max_trials, result)
    else:  # popularity: nothing to choose
        model = make_model(kind, base).fit(split_fit_data(split, test=False))
        result.valid_ndcg10 = valid_ndcg10(model, split.train, choosing_targets(split))
        model = make_model(kind, base).fit(split_fit_data(split, test=True))
    result.seconds = round(time.perf_counter() - start, 2)
    model.meta["search"] = result.to_dict()
    logger.info(
        "%s: chose %s (valid NDCG@10 %.4f) after %d trials in %.0f s",
        kind,
        result.chosen,
        result.valid_ndcg10,
        len(result.trials),
        result.seconds,
    )
    return model, result


def split_fit_data(split: LeaveOneOut, *, test: bool) -> FitData:
    """The training data before the validation items, with the stopping half of them to stop
    on, or (``test``) the training data before the test items."""
    if test:
        return FitData(split.train_matrix(test=True), split.test_history)
    return FitData(
        split.train_matrix(),
        split.train,
        valid_history=split.train,
        valid_target=_half(split.valid_target, 0),
    )


def choosing_targets(split: LeaveOneOut) -> np.ndarray:
    """The validation items that choose between settings (the other half stops and prunes
    training): a score read at the best of many epochs is optimistic, so choices and the
    comparison with ALS are made on listeners that score had no say in."""
    return _half(split.valid_target, 1)


def _half(targets: np.ndarray, which: int) -> np.ndarray:
    """``targets`` of every other listener (from ``which``), -1 for the others."""
    users = np.arange(len(targets))
    return np.where(users % 2 == which, targets, -1)


def _study(
    seed: int, starts: list[dict[str, Any]], pruner: optuna.pruners.BasePruner
) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=5),
        pruner=pruner,
    )
    for start in starts:  # tried first, in order: sensible starts on any data
        if start:
            study.enqueue_trial(start)
    return study


def _mf_space(kind: str, base: Any, pinned: frozenset[str]) -> Space:
    def space(trial: optuna.Trial | None) -> dict[str, Any]:
        pick = _Picker(trial, base, pinned)
        pick.categorical("factors", [32, 64, 128])
        pick.log_float("regularization", 1e-3, 1.0)
        if kind == "als":
            pick.log_float("alpha", 0.5, 50.0)
            pick.categorical("iterations", [10, 15, 30])
        else:
            pick.log_float("learning_rate", 1e-3, 0.1)
            pick.categorical("bpr_iterations", [50, 100, 200])
        return pick.picked

    return space


class _Picker:
    """A trial's suggestions, over ranges widened to hold ``base``'s value; without a trial,
    ``base``'s values (the first trial's)."""

    def __init__(self, trial: optuna.Trial | None, base: Any, pinned: frozenset[str]) -> None:
        self.trial, self.base, self.pinned = trial, base, pinned
        self.picked: dict[str, Any] = {}  # what this trial searched (pinned names left out)

    def _keep(self, name: str, value: Any) -> Any:
        if name not in self.pinned:
            self.picked[name] = value
        return value

    def categorical(self, name: str, choices: list[Any]) -> Any:
        value = getattr(self.base, name)
        if self.trial is None or name in self.pinned:
            return self._keep(name, value)
        options = choices if value in choices else [*choices, value]
        return self._keep(name, self.trial.suggest_categorical(name, options))

    def uniform(self, name: str, low: float, high: float) -> float:
        value = float(getattr(self.base, name))
        if self.trial is None or name in self.pinned:
            return self._keep(name, value)
        return self._keep(name, self.trial.suggest_float(name, min(low, value), max(high, value)))

    def log_float(self, name: str, low: float, high: float) -> float:
        value = float(getattr(self.base, name))
        if self.trial is None or name in self.pinned:
            return self._keep(name, value)
        if value > 0:
            low, high = min(low, value), max(high, value)
        return self._keep(name, self.trial.suggest_float(name, low, high, log=True))

    def integer(self, name: str, low: int, high: int) -> int:
        value = int(getattr(self.base, name))
        if self.trial is None or name in self.pinned:
            return self._keep(name, value)
        return self._keep(name, self.trial.suggest_int(name, min(low, value), max(high, value)))


def _search_mf(
    kind: str,
    split: LeaveOneOut,
    base: Any,
    pinned: frozenset[str],
    budget: float,
    max_trials: int,
    result: SearchResult,
) -> Recommender:
    space = _mf_space(kind, base, pinned)
    first = _first(space)
    max_trials = max_trials if first else 1  # all settings pinned: one fit says it all
    study = _study(base.seed, [first], optuna.pruners.NopPruner())
    data = split_fit_data(split, test=False)
    start = time.perf_counter()
    while len(result.trials) < max_trials and time.perf_counter() - start < budget * MF_SHARE:
        trial = study.ask()
        params = space(trial)
        began = time.perf_counter()
        model = make_model(kind, dataclasses.replace(base, **params)).fit(data)
        score = valid_ndcg10(model, split.train, choosing_targets(split))
        study.tell(trial, score)
        result.trials.append(_trial_row(trial.number, params, score, began, "complete"))
    best = max(result.trials, key=lambda row: row["valid_NDCG10"])
    result.chosen, result.valid_ndcg10 = dict(best["params"]), best["valid_NDCG10"]
    chosen = dataclasses.replace(base, **result.chosen)
    return make_model(kind, chosen).fit(split_fit_data(split, test=True))


def _starts(first: dict[str, Any], longest: int) -> list[dict[str, Any]]:
    """The first trials: the defaults, then each of ``STARTS`` over them (their searched
    settings only, a history no longer than ``longest``), each once."""
    starts: list[dict[str, Any]] = []
    for change in STARTS:
        start = {**first, **{k: v for k, v in change.items() if k in first}}
        if "maxlen" in start:
            start["maxlen"] = min(start["maxlen"], longest)
        if start not in starts:
            starts.append(start)
    return starts


def _first(space: Space) -> dict[str, Any]:
    """The first trial: each searched setting at its base value (the kind's defaults)."""
    return space(None)


def _seq_space(split: LeaveOneOut, base: Any, pinned: frozenset[str]) -> tuple[Space, int]:
    """The sequence model's settings space, and the longest history worth reading in it."""
    lengths = np.array([len(s) for s in split.train], dtype=np.int64)
    longest = int(np.percentile(lengths, 95)) if len(lengths) else 1
    enough = next((m for m in MAXLENS if m >= longest), MAXLENS[-1])  # covers 95 % of histories
    maxlens = [m for m in MAXLENS if m <= enough]
    base = dataclasses.replace(base, maxlen=min(base.maxlen, enough))
    large = split.n_items > LARGE_CATALOG
    if large and "loss" not in pinned:
        base = dataclasses.replace(base, loss="sampled")

    def space(trial: optuna.Trial | None) -> dict[str, Any]:
        pick = _Picker(trial, base, pinned)
        pick.categorical("hidden", [32, 64, 128])
        pick.integer("layers", 1, 2)
        pick.uniform("dropout", 0.1, 0.6)
        pick.log_float("lr", 5e-4, 5e-3)
        pick.categorical("batch_size", [32, 64, 128])
        pick.categorical("weight_decay", [0.0, 0.01, 0.1])
        pick.categorical("maxlen", maxlens)
        pick.categorical("item_init", ["als", "random"])
        if large:
            pick.categorical("loss", ["sampled", "ce"])
        return pick.picked

    return space, enough


def _search_sequence(
    kind: str,
    split: LeaveOneOut,
    base: Any,
    pinned: frozenset[str],
    budget: float,
    max_trials: int,
    result: SearchResult,
) -> Recommender:
    space, longest = _seq_space(split, base, pinned)
    first = _first(space)
    max_trials = max_trials if first else 1  # all settings pinned: one trial says it all
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=PRUNE_AFTER_EPOCHS)
    study = _study(base.seed, _starts(first, longest), pruner)
    data = split_fit_data(split, test=False)
    trainer = make_model(kind, base)
    assert isinstance(trainer, SequenceRecommender)
    start = time.perf_counter()

    def left() -> float:
        return budget - (time.perf_counter() - start)

    trials_budget = budget * TRIALS_SHARE
    per_trial = trials_budget / len(STARTS)
    best: tuple[float, Any, Any, Any] | None = None  # score, config, network, report
    while len(result.trials) < max_trials:  # (study.trials holds the queued first one too)
        trials_left = trials_budget - (time.perf_counter() - start)
        if best is not None and trials_left < per_trial / 4:
            break
        trial = study.ask()
        params = space(trial)
        cap = max(min(per_trial, trials_left), MIN_BUDGET_S)
        config = dataclasses.replace(base, **params, time_budget=cap, members=1)

        def prune(epoch: int, score: float, trial: optuna.Trial = trial) -> bool:
            trial.report(score, epoch)
            return trial.should_prune()

        began = time.perf_counter()
        network, report = trainer.fit_network(config, data, on_validation=prune)
        score = _network_score(network, split, trainer.device)
        if report.stopped_by == "pruned":
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, score)
        state = _state(report.stopped_by)
        result.trials.append(_trial_row(trial.number, params, score, began, state, report))
        if best is None or score > best[0]:
            best = (score, config, network, report)
    assert best is not None  # the budget pays for one trial at least
    best = _train_longer(trainer, best, data, split, left(), result)
    score, config, network, report = best
    result.chosen = {k: getattr(config, k) for k in first}
    members = [(config, network, report)]
    seconds = report.seconds
    # another network of the chosen settings (a new seed) joins while the summed logits score
    # higher on validation and the budget can still retrain every network before the test
    while len(members) < MAX_MEMBERS:
        # the budget pays for the candidate, then for retraining the networks and the candidate
        if left() < seconds + _retrain_seconds([*members, members[0]]):
            break
        extra = dataclasses.replace(config, seed=base.seed + len(members), time_budget=seconds)
        began = time.perf_counter()
        candidate, extra_report = trainer.fit_network(extra, data)
        shape = dataclasses.replace(config, members=len(members) + 1).model
        networks = [m[1] for m in members] + [candidate]
        summed = _network_score(SeqEnsemble(shape, networks), split, trainer.device)
        kept = summed > score
        state = "member kept" if kept else "member refused"
        result.trials.append(
            _trial_row(len(result.trials), {"seed": extra.seed}, summed, began, state)
        )
        if not kept:
            break
        members.append((extra, candidate, extra_report))
        score = summed
    result.valid_ndcg10, result.members = float(score), len(members)
    networks = _retrain(trainer, members, split, left(), result)
    final = dataclasses.replace(config, members=len(networks), time_budget=budget)
    model = make_model(kind, final)
    assert isinstance(model, SequenceRecommender)
    model.module = networks[0] if len(networks) == 1 else SeqEnsemble(final.model, networks)
    return model


def _train_longer(
    trainer: SequenceRecommender,
    best: tuple[float, Any, Any, Any],
    data: FitData,
    split: LeaveOneOut,
    seconds: float,
    result: SearchResult,
) -> tuple[float, Any, Any, Any]:
    """When the chosen trial's time cut it short, its settings trained again from the start
    for ``seconds`` (the budget left), kept if they score higher on validation than the
    trial's network; else ``best`` as it is.

    A trial its time cut short had not converged (ML-1M, one thread: 0.140 in 200 s, 0.160 in
    600 s on the choosing half). What a longer run buys shows on validation; what the members
    and the retraining it leaves no time for would buy cannot all be seen there.
    """
    score, config, _, report = best
    if report.stopped_by != "time_budget" or seconds < 1.5 * report.seconds:
        return best  # not cut short by its time, or not enough longer to be worth a run
    longer = dataclasses.replace(config, time_budget=seconds)
    began = time.perf_counter()
    network, longer_report = trainer.fit_network(longer, data)
    longer_score = _network_score(network, split, trainer.device)
    kept = longer_score > score
    state = "longer run kept" if kept else "longer run refused"
    params = {"time_budget": round(seconds)}
    result.trials.append(
        _trial_row(len(result.trials), params, longer_score, began, state, longer_report)
    )
    return (longer_score, longer, network, longer_report) if kept else best


def _retrain(
    trainer: SequenceRecommender,
    members: list[tuple[Any, Any, Any]],
    split: LeaveOneOut,
    left: float,
    result: SearchResult,
) -> list[Any]:
    """Each network trained again on the histories up to the test items (their validation
    items now learned from too) for the epochs its validation kept, on the same schedule; the
    validated networks as they are where the budget left cannot pay for it."""
    if left < 0.75 * _retrain_seconds(members):
        result.retrained = False
        return [network for _, network, _ in members]
    data = split_fit_data(split, test=True)
    networks = []
    for config, _, report in members:
        again = dataclasses.replace(config, epochs=report.epochs, time_budget=None)
        network, _ = trainer.fit_network(again, data, stop_epoch=report.best_epoch)
        networks.append(network)
    result.retrained = True
    return networks


def _network_score(network: Any, split: LeaveOneOut, device: Any) -> float:
    """NDCG@10 of a network (or an ensemble) on the choosing validation items."""
    targets = choosing_targets(split)
    users = np.flatnonzero(targets >= 0)
    if not len(users):
        return 0.0
    network.to(device)
    try:
        return validate(network, [split.train[u] for u in users], targets[users], device)
    finally:
        network.to("cpu")


def _retrain_seconds(members: list[tuple[Any, Any, Any]]) -> float:
    """About how long retraining ``members`` takes: each network's time in proportion to the
    epochs its validation kept."""
    return sum(r.seconds * r.best_epoch / max(r.epochs, 1) for _, _, r in members)


def _state(stopped_by: str) -> str:
    return "pruned" if stopped_by == "pruned" else "complete"


def _trial_row(
    number: int,
    params: dict[str, Any],
    score: float,
    began: float,
    state: str,
    report: TrainReport | None = None,
) -> dict[str, Any]:
    """A trial's row in ``SearchResult.trials``; with a network's training ``report``, its
    epochs, best epoch and what stopped it too."""
    row = {
        "number": number,
        "params": params,
        "valid_NDCG10": round(float(score), 5),
        "seconds": round(time.perf_counter() - began, 2),
        "state": state,
    }
    if report is not None:
        row.update(epochs=report.epochs, best_epoch=report.best_epoch, stopped_by=report.stopped_by)
    return row
