"""Top-k metrics over the full ranking of all items (no sampled negatives).

Krichene & Rendle (2020), "On Sampled Metrics for Item Recommendation", show that sampled
negatives distort comparisons, so every metric here ranks the target against the whole catalog.
Ranks are pessimistic on ties (an item tied with the target counts as ranked above it), so a
model that scores everything equally gets no credit. Intra-list diversity follows Ziegler et al.
(2005): the mean pairwise cosine distance of the items in one list.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

__all__ = [
    "Scorer",
    "catalog_coverage",
    "filtered_ranks",
    "hit_rate",
    "intra_list_diversity",
    "mrr",
    "ndcg",
    "rank_targets",
    "recall",
    "summarize",
]


class Scorer(Protocol):
    """What an evaluation reads of a model (a ``Recommender``, or one scored in another index)."""

    n_items: int

    def scores(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray: ...


def filtered_ranks(
    model: Scorer, histories: list[np.ndarray], targets: np.ndarray, batch_size: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """For the users with a target (``targets >= 0``): the target's 0-based rank among all items
    and the top 10, each user's history filtered out of the ranking."""
    users = np.flatnonzero(targets >= 0)
    ranks, tops = [], []
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        hist = [histories[u] for u in batch]
        scores = model.scores(batch, hist)
        for row, h in enumerate(hist):
            scores[row, np.asarray(h, dtype=np.int64)] = -np.inf
        ranks.append(rank_targets(scores, targets[batch]))
        tops.append(np.argsort(-scores, axis=1)[:, :10])
    if not ranks:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 10), dtype=np.int64)
    return np.concatenate(ranks), np.concatenate(tops)


def rank_targets(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """0-based rank of each row's target among all items (``scores`` is ``(B, n_items)``).

    Items set to ``-inf`` (filtered) never rank above the target; a filtered target ranks last.
    """
    scores = np.asarray(scores, dtype=np.float32)
    targets = np.asarray(targets, dtype=np.int64)
    target_scores = scores[np.arange(len(targets)), targets]
    ranks = (scores >= target_scores[:, None]).sum(axis=1) - 1
    return np.where(np.isfinite(target_scores), ranks, scores.shape[1]).astype(np.int64)


def _as_lists(ranks: np.ndarray | list[np.ndarray]) -> list[np.ndarray]:
    if isinstance(ranks, np.ndarray) and ranks.ndim == 1:
        return [np.asarray([r]) for r in ranks]
    return [np.asarray(r) for r in ranks]


def hit_rate(ranks: np.ndarray | list[np.ndarray], k: int) -> float:
    """Share of users with at least one relevant item in the top ``k``."""
    lists = _as_lists(ranks)
    return float(np.mean([(r < k).any() for r in lists])) if lists else 0.0


def recall(ranks: np.ndarray | list[np.ndarray], k: int) -> float:
    """Mean share of each user's relevant items found in the top ``k``."""
    lists = [r for r in _as_lists(ranks) if len(r)]
    return float(np.mean([(r < k).mean() for r in lists])) if lists else 0.0


def ndcg(ranks: np.ndarray | list[np.ndarray], k: int) -> float:
    """Mean NDCG@k with binary relevance: DCG of hits over the ideal DCG."""
    values = []
    for r in _as_lists(ranks):
        if not len(r):
            continue
        dcg = float((1.0 / np.log2(r[r < k] + 2.0)).sum())
        ideal = float((1.0 / np.log2(np.arange(min(len(r), k)) + 2.0)).sum())
        values.append(dcg / ideal)
    return float(np.mean(values)) if values else 0.0


def mrr(ranks: np.ndarray | list[np.ndarray]) -> float:
    """Mean reciprocal rank of each user's best-ranked relevant item (full ranking, no cut-off)."""
    lists = [r for r in _as_lists(ranks) if len(r)]
    return float(np.mean([1.0 / (r.min() + 1.0) for r in lists])) if lists else 0.0


def catalog_coverage(top_lists: np.ndarray | list[np.ndarray], n_items: int) -> float:
    """Share of the catalog that appears in at least one recommendation list."""
    if n_items <= 0 or not len(top_lists):
        return 0.0
    return float(len(np.unique(np.concatenate([np.asarray(t) for t in top_lists]))) / n_items)


def intra_list_diversity(top_lists: np.ndarray | list[np.ndarray], vectors: np.ndarray) -> float:
    """Mean over lists of the mean pairwise cosine distance between the listed items' vectors."""
    vectors = np.asarray(vectors, dtype=np.float32)
    unit = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12)
    values = []
    for items in top_lists:
        items = np.asarray(items, dtype=np.int64)
        n = len(items)
        if n < 2:
            continue
        sims = unit[items] @ unit[items].T
        mean_sim = (sims.sum() - np.trace(sims)) / (n * (n - 1))
        values.append(1.0 - mean_sim)
    return float(np.mean(values)) if values else 0.0


def summarize(
    ranks: np.ndarray,
    top_lists: np.ndarray,
    *,
    n_items: int,
    item_vectors: np.ndarray,
    ks: tuple[int, ...] = (10, 20),
) -> dict[str, float]:
    """All metrics for one model on one split, keyed like ``HR@10``, ``NDCG@10``, ``MRR``."""
    out: dict[str, float] = {}
    for k in ks:
        out[f"HR@{k}"] = hit_rate(ranks, k)
        out[f"NDCG@{k}"] = ndcg(ranks, k)
        out[f"Recall@{k}"] = recall(ranks, k)
    out["MRR"] = mrr(ranks)
    out["coverage@10"] = catalog_coverage(top_lists, n_items)
    out["ILD@10"] = intra_list_diversity(top_lists, item_vectors)
    out["users"] = float(len(ranks))
    return out
