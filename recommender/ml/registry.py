"""The class and default config of each model kind, and loading a saved model of any kind.

The kinds and their families are listed in ``recommender.ml.kinds``. Popularity (floor),
ALS (Hu et al. 2008), BPR (Rendle et al. 2009), SASRec (Kang & McAuley 2018, CE loss of
Klenitskiy & Vasilev 2023).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recommender.ml.base import Recommender, read_header
from recommender.ml.kinds import KINDS, MF_KINDS, POPULARITY
from recommender.ml.mf import ALSRecommender, BPRRecommender, MFConfig
from recommender.ml.popularity import PopConfig, PopularityRecommender
from recommender.ml.seq_config import SeqConfig
from recommender.ml.seq_recommender import SASRecRecommender

__all__ = [
    "KINDS",
    "MODEL_CLASSES",
    "default_config",
    "load_model",
    "make_model",
    "model_class",
    "tiny_config",
]

# Each class names its own kind; tests check these are exactly ``kinds.KINDS``.
MODEL_CLASSES: dict[str, type[Recommender]] = {
    klass.kind: klass
    for klass in (
        PopularityRecommender,
        ALSRecommender,
        BPRRecommender,
        SASRecRecommender,
    )
}


def model_class(kind: str) -> type[Recommender]:
    if kind not in MODEL_CLASSES:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(KINDS)}")
    return MODEL_CLASSES[kind]


def default_config(kind: str) -> Any:
    model_class(kind)
    if kind == POPULARITY:
        return PopConfig()
    if kind in MF_KINDS:
        return MFConfig()
    return SeqConfig(arch=kind)


def tiny_config(kind: str) -> Any:
    model_class(kind)
    if kind == POPULARITY:
        return PopConfig.tiny()
    if kind in MF_KINDS:
        return MFConfig.tiny()
    return SeqConfig.tiny(kind)


def make_model(kind: str, config: Any = None) -> Recommender:
    """A fresh, untrained model of ``kind`` with ``config`` (defaults when None)."""
    klass: Any = model_class(kind)
    return klass(config if config is not None else default_config(kind))


def load_model(path: str | Path) -> Recommender:
    """The model saved in the folder ``path``, of whichever kind its ``config.json`` names."""
    return model_class(read_header(path).get("kind", "")).load(path)
