"""Matrix factorisation through ``implicit``: ALS and BPR.

ALS: Hu, Koren & Volinsky (2008), "Collaborative Filtering for Implicit Feedback Datasets".
BPR: Rendle et al. (2009), "BPR: Bayesian Personalized Ranking from Implicit Feedback".
Training runs with ``OPENBLAS_NUM_THREADS=1`` (threadpool_limits), as implicit recommends; the
GPU implementation is used when CUDA is present and ``device`` allows it. A listener's new
feedback updates their factors at once: ALS solves their least-squares row exactly
(``partial_fit_users``); BPR folds them in by ridge regression on the item factors.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recommender.ml.base import FitData, Recommender

__all__ = ["ALSRecommender", "BPRRecommender", "MFConfig"]

logger = logging.getLogger(__name__)


@dataclass
class MFConfig:
    factors: int = 64  # latent dimensions
    iterations: int = 15  # ALS sweeps (BPR uses bpr_iterations)
    bpr_iterations: int = 100  # BPR epochs over the data
    regularization: float = 0.05  # L2 on the factors
    alpha: float = 5.0  # ALS: confidence = 1 + alpha * value
    learning_rate: float = 0.05  # BPR only
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda

    @classmethod
    def tiny(cls) -> MFConfig:
        return cls(factors=8, iterations=5, bpr_iterations=100)


def _use_gpu(device: str) -> bool:
    if device == "cpu":
        return False
    try:
        import implicit.gpu

        return bool(implicit.gpu.HAS_CUDA)
    except ImportError:  # pragma: no cover - implicit always ships the module
        return False


class _MFBase(Recommender):
    kind: ClassVar[str]

    def __init__(self, config: MFConfig | None = None) -> None:
        self.config = config or MFConfig()
        self.user_factors = np.zeros((0, self.config.factors), dtype=np.float32)
        self.item_factors = np.zeros((0, self.config.factors), dtype=np.float32)
        self.meta: dict[str, Any] = {}

    @property
    def n_items(self) -> int:  # type: ignore[override]
        return int(self.item_factors.shape[0])

    def _make(self, gpu: bool) -> Any:
        raise NotImplementedError

    def fit(self, data: FitData) -> _MFBase:
        gpu = _use_gpu(self.config.device)
        with threadpool_limits(limits=1, user_api="blas"):
            model = self._make(gpu)
            model.fit(data.matrix, show_progress=False)
        if gpu:
            model = model.to_cpu()
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)
        return self

    def _user_vector(self, user: int, history: np.ndarray) -> np.ndarray:
        if 0 <= user < self.user_factors.shape[0]:
            return self.user_factors[user]
        return self._fold_in(history, None)  # a listener the model has not seen: fold in

    def scores(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        vectors = (
            np.stack(
                [
                    self._user_vector(int(u), np.asarray(h))
                    for u, h in zip(users, histories, strict=True)
                ]
            )
            if len(users)
            else np.zeros((0, self.item_factors.shape[1]), dtype=np.float32)
        )
        return (vectors @ self.item_factors.T).astype(np.float32)

    def item_vectors(self) -> np.ndarray:
        return self.item_factors

    def _fold_in(self, history: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
        """Ridge regression of confidence-weighted preferences on the item factors."""
        history = np.asarray(history, dtype=np.int64)
        history = history[(history >= 0) & (history < self.n_items)]
        d = self.item_factors.shape[1]
        if not len(history):
            return np.zeros(d, dtype=np.float32)
        w = np.ones(len(history)) if weights is None else np.asarray(weights, dtype=np.float64)
        y = self.item_factors[history].astype(np.float64)
        conf = 1.0 + self.config.alpha * np.clip(w, 0.0, None)
        pref = (w > 0).astype(np.float64)
        a = (y.T * conf) @ y + self.config.regularization * np.eye(d)
        b = (y.T * conf) @ pref
        return np.linalg.solve(a, b).astype(np.float32)

    def update_user(
        self, user: int, history: np.ndarray, weights: np.ndarray | None = None
    ) -> None:
        """Recompute one listener's factors from their current history (grows the table if new)."""
        if user >= self.user_factors.shape[0]:
            grow = np.zeros((user + 1 - self.user_factors.shape[0], self.user_factors.shape[1]))
            self.user_factors = np.vstack([self.user_factors, grow.astype(np.float32)])
        self.user_factors[user] = self._fold_in(history, weights)

    def _state(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def _config(self) -> dict[str, Any]:
        return asdict(self.config)

    @classmethod
    def _from_saved(cls, config: dict[str, Any], state: dict[str, np.ndarray]) -> Recommender:
        model = cls(MFConfig(**config))
        model.user_factors = state["user_factors"].astype(np.float32)
        model.item_factors = state["item_factors"].astype(np.float32)
        if model.user_factors.shape[1] != model.item_factors.shape[1]:
            raise ValueError("user and item factors disagree in size")
        return model


class ALSRecommender(_MFBase):
    kind = "als"

    def _make(self, gpu: bool) -> Any:
        from implicit.als import AlternatingLeastSquares

        c = self.config
        return AlternatingLeastSquares(
            factors=c.factors,
            regularization=c.regularization,
            alpha=c.alpha,
            iterations=c.iterations,
            random_state=c.seed,
            use_gpu=gpu,
        )

    def update_user(
        self, user: int, history: np.ndarray, weights: np.ndarray | None = None
    ) -> None:
        """Exact ALS user step (what implicit's ``partial_fit_users`` solves) for one listener."""
        from implicit.cpu.als import AlternatingLeastSquares

        history = np.asarray(history, dtype=np.int64)
        keep = (history >= 0) & (history < self.n_items)
        w = np.ones(len(history)) if weights is None else np.asarray(weights, dtype=np.float64)
        history, w = history[keep], np.clip(w[keep], 0.0, None)
        if user >= self.user_factors.shape[0]:
            grow = np.zeros((user + 1 - self.user_factors.shape[0], self.user_factors.shape[1]))
            self.user_factors = np.vstack([self.user_factors, grow.astype(np.float32)])
        c = self.config
        with threadpool_limits(limits=1, user_api="blas"):
            model = AlternatingLeastSquares(
                factors=c.factors,
                regularization=c.regularization,
                alpha=c.alpha,
                random_state=c.seed,
            )
        model.user_factors = self.user_factors[user : user + 1].copy()
        model.item_factors = self.item_factors
        row = sp.csr_matrix(
            (w.astype(np.float32), (np.zeros(len(history), dtype=np.int64), history)),
            shape=(1, self.n_items),
        )
        row.sum_duplicates()
        row.eliminate_zeros()
        with threadpool_limits(limits=1, user_api="blas"):
            model.partial_fit_users(np.asarray([0]), row)
        self.user_factors[user] = model.user_factors[0]


class BPRRecommender(_MFBase):
    kind = "bpr"

    def _make(self, gpu: bool) -> Any:
        from implicit.bpr import BayesianPersonalizedRanking

        c = self.config
        return BayesianPersonalizedRanking(
            factors=c.factors,
            learning_rate=c.learning_rate,
            regularization=c.regularization,
            iterations=c.bpr_iterations,
            random_state=c.seed,
            use_gpu=gpu,
        )
