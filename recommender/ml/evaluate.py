"""Offline evaluation: leave-one-out, full ranking, seen items filtered.

The protocol of Kang & McAuley (2018) as re-examined with full ranking by Krichene & Rendle
(2020) and used by Klenitskiy & Vasilev (2023): per user the last item is the test target and
the second-to-last the validation target. With a time budget each kind's settings are searched
on the validation targets (``recommender.ml.search``): every choice is made there and the test
item is scored once. Sequence models learn from ``seq[:-2]`` (validated on ``seq[-2]``) and are
tested with ``seq[:-1]`` as history; the other kinds are fitted again on ``seq[:-1]`` with the
chosen settings. No model sees ``seq[-1]``. Every item the user has seen is removed from the
ranking. A sequence model that does not beat ALS on validation is marked not promoted.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy import stats
from scipy.sparse.linalg import svds

from recommender.ml.base import FitData
from recommender.ml.data import Interactions, LeaveOneOut, leave_one_out
from recommender.ml.kinds import SEQUENCE_KINDS
from recommender.ml.metrics import Scorer, filtered_ranks, summarize
from recommender.ml.registry import default_config, make_model
from recommender.ml.search import MAX_TRIALS, pinned_settings, search_model, split_fit_data

__all__ = ["ANCHORS", "evaluate_models", "evaluate_split", "format_table"]

logger = logging.getLogger(__name__)

# Published full-ranking NDCG@10 (and HR@10 where given) on the same files and split.
ANCHORS: dict[str, dict[str, str]] = {
    "ml-1m": {
        "sasrec": "SASRec-CE 0.1821 · gSASRec 0.1726 · BERT4Rec 0.1537",
        "als": "ALS ≈ 0.05",
        "bpr": "ALS ≈ 0.05",
        "pop": "MostPop 0.0178",
    },
    "lastfm": {
        "sasrec": "SASRec 0.0390 · BSARec 0.0435",
        "als": "tuned ALS 0.0456",
        "bpr": "tuned ALS 0.0456",
        "pop": "PopRec 0.0203",
    },
}


def reference_vectors(matrix: sp.csr_matrix, dims: int = 64) -> np.ndarray:
    """Item vectors from the training co-occurrence (truncated SVD), shared by all models' ILD."""
    binary = matrix.copy().astype(np.float32)
    binary.data[:] = 1.0
    k = min(dims, min(binary.shape) - 1)
    if k < 1:
        return np.ones((binary.shape[1], 1), dtype=np.float32)
    _, s, vt = svds(binary.T.tocsc().T.astype(np.float64), k=k, random_state=0)
    return (vt.T * s).astype(np.float32)


def evaluate_split(
    model: Scorer,
    histories: list[np.ndarray],
    targets: np.ndarray,
    *,
    item_vectors: np.ndarray,
    batch_size: int = 512,
) -> dict[str, float]:
    """Full-ranking metrics of ``model`` for users with a target (``targets >= 0``)."""
    ranks, tops = filtered_ranks(model, histories, targets, batch_size)
    return summarize(ranks, tops, n_items=model.n_items, item_vectors=item_vectors)


def _configure(kind: str, overrides: dict[str, Any], device: str) -> Any:
    config = default_config(kind)
    fields = {f.name for f in dataclasses.fields(config)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown {kind} setting(s): {', '.join(sorted(unknown))}")
    config = dataclasses.replace(config, **overrides)
    if "device" in fields:
        config = dataclasses.replace(config, device=device)
    return config


def evaluate_models(
    data: Interactions,
    kinds: list[str],
    *,
    device: str = "auto",
    time_budget: float | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    split: LeaveOneOut | None = None,
    max_trials: int = MAX_TRIALS,
) -> dict[str, dict[str, Any]]:
    """Train and test each kind on the leave-one-out split of ``data``; results keyed by kind.

    With ``time_budget`` (seconds per kind) each kind's settings are searched on validation
    (``search_model``, at most ``max_trials`` trials); without, its defaults are fitted.
    ``overrides`` maps a kind to settings that stay as given (e.g. ``{"sasrec": {"hidden": 128}}``).
    """
    overrides = overrides or {}
    split = split or leave_one_out(data.sequences(), data.n_items)
    vectors = reference_vectors(split.train_matrix(test=True))
    logger.info(
        "users %d, items %d, test users %d",
        len(split.train),
        split.n_items,
        int((split.test_target >= 0).sum()),
    )
    results: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        given = overrides.get(kind, {})
        config = _configure(kind, given, device)
        logger.info("training %s", kind)
        start = time.perf_counter()
        if time_budget is None:
            model = make_model(kind, config).fit(_plain_fit_data(kind, split))
        else:
            model, _ = search_model(
                kind,
                split,
                budget=time_budget,
                base=config,
                pinned=pinned_settings(given),
                max_trials=max_trials,
            )
        train_seconds = time.perf_counter() - start
        start = time.perf_counter()
        metrics = evaluate_split(model, split.test_history, split.test_target, item_vectors=vectors)
        row: dict[str, Any] = dict(metrics)
        row["train_seconds"] = round(train_seconds, 2)
        row["eval_seconds"] = round(time.perf_counter() - start, 2)
        row["config"] = dataclasses.asdict(model.config)  # type: ignore[attr-defined]
        if "search" in model.meta:
            row["valid_NDCG@10"] = model.meta["search"]["valid_ndcg10"]
            row["search"] = model.meta["search"]
        if "train" in model.meta:
            row.update(_training_figures(model.meta["train"]))
        logger.info("%s: NDCG@10 %.4f in %.0fs", kind, row["NDCG@10"], train_seconds)
        results[kind] = row
    _mark_promotion(results)
    return results


def _plain_fit_data(kind: str, split: LeaveOneOut) -> FitData:
    """Without a search: sequence models stop on the validation items; the others learn up to
    the test items."""
    return split_fit_data(split, test=kind not in SEQUENCE_KINDS)


def _mark_promotion(results: dict[str, dict[str, Any]]) -> None:
    """``promoted``: whether each searched sequence model beats ALS on validation (no collapse:
    the site would not serve one that does not)."""
    floor = results.get("als", {}).get("valid_NDCG@10")
    if floor is None:
        return
    for kind in SEQUENCE_KINDS:
        if kind in results and "valid_NDCG@10" in results[kind]:
            results[kind]["promoted"] = bool(results[kind]["valid_NDCG@10"] > floor)


def evaluate_seeds(
    data: Interactions,
    kinds: list[str],
    *,
    seeds: int,
    device: str = "auto",
    time_budget: float | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    max_trials: int = MAX_TRIALS,
) -> dict[str, dict[str, Any]]:
    """``evaluate_models`` once per seed (0 .. seeds-1, the ``seed`` of every kind that has
    one; the split is the same), and per kind: each metric's mean over the seeds, its 95 %
    interval (Student's t; [mean, mean] for one seed) as ``<metric>_ci95``, every seed's row
    under ``seeds`` and the settings under ``config`` (``seed`` left out)."""
    if seeds < 1:
        raise ValueError(f"--seeds must be at least 1, not {seeds}")
    overrides = overrides or {}
    split = leave_one_out(data.sequences(), data.n_items)
    runs = []
    for seed in range(seeds):
        seeded = {
            kind: {**overrides.get(kind, {}), "seed": seed}
            if "seed" in {f.name for f in dataclasses.fields(default_config(kind))}
            else overrides.get(kind, {})
            for kind in kinds
        }
        runs.append(
            evaluate_models(
                data,
                kinds,
                device=device,
                time_budget=time_budget,
                overrides=seeded,
                split=split,
                max_trials=max_trials,
            )
        )
    return {kind: _over_seeds([run[kind] for run in runs]) for kind in kinds}


def _over_seeds(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Means and 95 % intervals of the rows' numeric metrics, the rows, the settings."""
    out: dict[str, Any] = {}
    for name, value in rows[0].items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        values = np.array([float(row[name]) for row in rows])
        mean = float(values.mean())
        half = 0.0
        if len(values) > 1:
            t = float(stats.t.ppf(0.975, len(values) - 1))
            half = t * float(values.std(ddof=1)) / math.sqrt(len(values))
        out[name] = mean
        out[f"{name}_ci95"] = [mean - half, mean + half]
    best = max(rows, key=lambda row: row.get("valid_NDCG@10", 0.0))  # chosen on validation
    out["config"] = {k: v for k, v in best.get("config", {}).items() if k != "seed"}
    if "promoted" in rows[0]:
        out["promoted"] = all(row["promoted"] for row in rows)
    out["seeds"] = rows
    return out


def _training_figures(report: dict[str, Any]) -> dict[str, Any]:
    """A sequence model's training figures; an ensemble's for each of its networks."""
    if "members" in report:
        return {"members": [_training_figures(member) for member in report["members"]]}
    return {
        "epochs": report["epochs"],
        "best_epoch": report["best_epoch"],
        "valid_NDCG10": report["best_valid_ndcg10"],  # of best_epoch's weights
        "kept_epoch": report["kept_epoch"],
        "stopped_by": report["stopped_by"],
    }


def format_table(results: dict[str, dict[str, Any]], dataset: str | None = None) -> str:
    """A plain-text table of the main metrics with the published anchors beside them."""
    anchors = ANCHORS.get(dataset or "", {})
    header = (
        f"{'model':<8} {'HR@10':>7} {'NDCG@10':>8} {'Recall@20':>9} {'MRR':>7} "
        f"{'cover':>6} {'ILD':>6} {'valid':>7} {'train s':>8}  anchor (NDCG@10)"
    )
    lines = [header, "-" * len(header)]
    for kind, r in results.items():
        valid = f"{r['valid_NDCG@10']:>7.4f}" if "valid_NDCG@10" in r else f"{'-':>7}"
        lines.append(
            f"{kind:<8} {r['HR@10']:>7.4f} {r['NDCG@10']:>8.4f} {r['Recall@20']:>9.4f} "
            f"{r['MRR']:>7.4f} {r['coverage@10']:>6.3f} {r['ILD@10']:>6.3f} {valid} "
            f"{r['train_seconds']:>8.1f}  {anchors.get(kind, '')}"
        )
    lines.append("valid: NDCG@10 on the validation items, where the settings were chosen")
    for kind, r in results.items():
        if r.get("promoted") is False:
            lines.append(f"{kind} is not promoted: it does not beat ALS on validation")
    seeded = {kind: r for kind, r in results.items() if len(r.get("seeds", [])) > 1}
    if seeded:
        lines.append("means over seeds; NDCG@10's 95 % interval:")
        for kind, r in seeded.items():
            lo, hi = r["NDCG@10_ci95"]
            lines.append(f"  {kind:<8} [{lo:.4f}, {hi:.4f}] over {len(r['seeds'])} seeds")
    return "\n".join(lines)
