"""Model kinds by name, with their config classes, and loading a saved model of any kind.

Popularity (floor), ALS (Hu et al. 2008), BPR (Rendle et al. 2009), SASRec (Kang & McAuley
2018, CE loss of Klenitskiy & Vasilev 2023) and GRU4Rec (Hidasi et al. 2016).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recommender.ml.base import Recommender, read_header
from recommender.ml.mf import ALSRecommender, BPRRecommender, MFConfig
from recommender.ml.popularity import PopConfig, PopularityRecommender
from recommender.ml.seq_model import SeqConfig
from recommender.ml.seq_recommender import GRURecommender, SASRecRecommender

__all__ = ["KINDS", "default_config", "load_model", "make_model", "model_class", "tiny_config"]

KINDS: dict[str, type[Recommender]] = {
    "pop": PopularityRecommender,
    "als": ALSRecommender,
    "bpr": BPRRecommender,
    "sasrec": SASRecRecommender,
    "gru": GRURecommender,
}


def model_class(kind: str) -> type[Recommender]:
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(KINDS)}")
    return KINDS[kind]


def default_config(kind: str) -> Any:
    model_class(kind)
    if kind == "pop":
        return PopConfig()
    if kind in {"als", "bpr"}:
        return MFConfig()
    return SeqConfig(arch=kind)


def tiny_config(kind: str) -> Any:
    model_class(kind)
    if kind == "pop":
        return PopConfig.tiny()
    if kind in {"als", "bpr"}:
        return MFConfig.tiny()
    return SeqConfig.tiny(kind)


def make_model(kind: str, config: Any = None) -> Recommender:
    """A fresh, untrained model of ``kind`` with ``config`` (defaults when None)."""
    klass: Any = model_class(kind)
    return klass(config if config is not None else default_config(kind))


def load_model(path: str | Path) -> Recommender:
    """The model saved in the folder ``path``, of whichever kind its ``config.json`` names."""
    return model_class(read_header(path).get("kind", "")).load(path)
