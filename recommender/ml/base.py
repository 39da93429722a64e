"""The one recommender interface every model implements (after ``implicit``'s RecommenderBase).

Models work on contiguous item indices ``0..n_items-1``. ``scores`` gives a dense score row per
user from that user's index and latest history; ``recommend`` ranks it, leaving out the items of
the history (and any extra ``exclude``) so a listener is never offered what they already have.
Artifacts are folders holding ``config.json`` (kind, config, metadata) and the weights.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import ThreadpoolController

__all__ = ["ArtifactError", "FitData", "Recommender", "read_header", "top_k"]

# One listener's scores are a matrix-vector product: BLAS threads only add hand-off latency
# (25 ms instead of 0.2 ms for 50,000 items on a busy 2-core machine), so use one.
_BLAS = ThreadpoolController()


class ArtifactError(RuntimeError):
    """A model folder is missing, incomplete or of another kind."""


class FitData:
    """What a model may learn from: a userxitem confidence matrix and time-ordered sequences."""

    def __init__(
        self,
        matrix: sp.csr_matrix,
        sequences: list[np.ndarray],
        *,
        valid_history: list[np.ndarray] | None = None,
        valid_target: np.ndarray | None = None,
    ) -> None:
        if matrix.shape[0] != len(sequences):
            raise ValueError(f"matrix has {matrix.shape[0]} users but {len(sequences)} sequences")
        self.matrix = matrix.tocsr().astype(np.float32)
        self.sequences = sequences
        # for early stopping (sequence models): each user's history before the validation
        # target; the site and the evaluation pass ``sequences`` themselves
        self.valid_history = valid_history
        self.valid_target = valid_target  # int64 per user, -1 where none

    @property
    def n_users(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.matrix.shape[1])


class Recommender(ABC):
    """fit / scores / recommend / similar_items / update_user / save / load."""

    kind: ClassVar[str]
    n_items: int = 0
    meta: dict[str, Any]

    @abstractmethod
    def fit(self, data: FitData) -> Recommender:
        """Learn from ``data``; returns ``self``."""

    @abstractmethod
    def scores(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        """Dense ``(len(users), n_items)`` float32 scores; higher is better."""

    @abstractmethod
    def item_vectors(self) -> np.ndarray:
        """One vector per item for similarity (``(n_items, d)``)."""

    def update_user(  # noqa: B027  (optional hook: no-op for models that read history live)
        self, user: int, history: np.ndarray, weights: np.ndarray | None = None
    ) -> None:
        """Take a listener's new feedback into account at once."""

    def recommend(
        self,
        user: int,
        history: np.ndarray,
        k: int = 10,
        *,
        exclude: np.ndarray | None = None,
        filter_seen: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item indices and scores for one user, given their latest history."""
        history = np.asarray(history, dtype=np.int64)
        with _BLAS.limit(limits=1, user_api="blas"):
            row = self.scores(np.asarray([user], dtype=np.int64), [history])[0]
        if filter_seen and len(history):
            row[history[(history >= 0) & (history < self.n_items)]] = -np.inf
        if exclude is not None and len(exclude):
            row[np.asarray(exclude, dtype=np.int64)] = -np.inf
        return top_k(row, k)

    def similar_items(self, item: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Items closest to ``item`` by cosine of item vectors (``item`` itself left out)."""
        if not 0 <= item < self.n_items:
            raise IndexError(f"unknown item index {item} (model knows {self.n_items} items)")
        vectors = self.item_vectors().astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1) + 1e-8
        sims = vectors @ vectors[item] / (norms * norms[item])
        sims[item] = -np.inf
        return top_k(sims, k)

    # --- persistence -------------------------------------------------------------------
    @abstractmethod
    def _state(self) -> dict[str, np.ndarray]:
        """Arrays to save (weights)."""

    @abstractmethod
    def _config(self) -> dict[str, Any]:
        """JSON-serialisable config to rebuild the model."""

    @classmethod
    @abstractmethod
    def _from_saved(cls, config: dict[str, Any], state: dict[str, np.ndarray]) -> Recommender:
        """Rebuild from what ``_config`` and ``_state`` returned."""

    def save(self, path: str | Path) -> Path:
        """Write ``config.json`` and ``weights.npz`` into the folder ``path``."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        header = {
            "kind": self.kind,
            "n_items": self.n_items,
            "config": self._config(),
            "meta": getattr(self, "meta", {}),
        }
        np.savez(folder / "weights.npz", **self._state())  # type: ignore[arg-type]  # numpy stub
        (folder / "config.json").write_text(json.dumps(header, indent=2, default=float))
        return folder

    @classmethod
    def load(cls, path: str | Path) -> Recommender:
        """Load a folder written by :meth:`save` of this kind (of any: ``registry.load_model``)."""
        kind = getattr(cls, "kind", None)
        if kind is None:
            raise TypeError(
                f"{cls.__name__}.load needs a model class; "
                "recommender.ml.registry.load_model loads a folder of any kind"
            )
        folder = Path(path)
        header = read_header(folder)
        try:
            with np.load(folder / "weights.npz", allow_pickle=False) as npz:
                state = {key: npz[key] for key in npz.files}
        except (OSError, ValueError, KeyError) as exc:
            raise ArtifactError(f"cannot read model artifact in {folder}: {exc}") from exc
        if header.get("kind") != kind:
            raise ArtifactError(f"{folder} holds a {header.get('kind')!r} model, not {kind!r}")
        try:
            model = cls._from_saved(header["config"], state)
        except (KeyError, ValueError, RuntimeError) as exc:
            raise ArtifactError(f"model artifact in {folder} is corrupt: {exc}") from exc
        model.meta = header.get("meta", {})
        return model


def read_header(path: str | Path) -> dict[str, Any]:
    """The ``config.json`` of a model folder: its kind, config and metadata."""
    folder = Path(path)
    try:
        header = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot read model artifact in {folder}: {exc}") from exc
    if not isinstance(header, dict):
        raise ArtifactError(f"cannot read model artifact in {folder}: config.json is not an object")
    return header


def top_k(row: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` largest finite entries of ``row``, best first."""
    finite = np.isfinite(row)
    k = int(min(k, finite.sum()))
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    masked = np.where(finite, row, -np.inf)
    part = np.argpartition(-masked, k - 1)[:k]
    order = part[np.argsort(-masked[part], kind="stable")]
    return order.astype(np.int64), masked[order].astype(np.float32)
