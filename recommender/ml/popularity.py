"""Most-popular baseline: items ranked by how many users interacted with them.

The floor every personalised model must beat (e.g. "MostPop" in Kang & McAuley 2018) and the
fallback when no trained model is available.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from recommender.ml.base import FitData, Recommender

__all__ = ["PopConfig", "PopularityRecommender"]


@dataclass
class PopConfig:
    binary: bool = True  # count users per item (True) or sum confidences (False)

    @classmethod
    def tiny(cls) -> PopConfig:
        return cls()


class PopularityRecommender(Recommender):
    kind = "pop"

    def __init__(self, config: PopConfig | None = None) -> None:
        self.config = config or PopConfig()
        self.counts = np.zeros(0, dtype=np.float32)
        self.meta: dict[str, Any] = {}

    @property
    def n_items(self) -> int:  # type: ignore[override]
        return int(self.counts.shape[0])

    def fit(self, data: FitData) -> PopularityRecommender:
        matrix = data.matrix.copy()
        if self.config.binary:
            matrix.data[:] = 1.0
        self.counts = np.asarray(matrix.sum(axis=0), dtype=np.float32).ravel()
        return self

    def scores(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        # A tiny index-based tie-break keeps the ranking deterministic and strict.
        row = self.counts - np.arange(self.n_items, dtype=np.float32) * 1e-6
        return np.tile(row, (len(users), 1))

    def item_vectors(self) -> np.ndarray:
        return self.counts[:, None] + 1.0

    def _state(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts}

    def _config(self) -> dict[str, Any]:
        return asdict(self.config)

    @classmethod
    def _from_saved(cls, config: dict[str, Any], state: dict[str, np.ndarray]) -> Recommender:
        model = cls(PopConfig(**config))
        model.counts = state["counts"].astype(np.float32)
        return model
