"""Configurations of the sequence models (dataclasses, nanoGPT's ``GPTConfig`` style).

As in ``generator.ml.config``, the model's shape (``SeqModelConfig``: what rebuilds the network
from its weights) is apart from how it is fitted (``SeqTrainConfig``). ``SeqConfig`` is the two
in one flat dataclass, what a sequence recommender takes: a setting overrides any field by name
(``RECOMMENDER_MODEL_CONFIG``, ``evaluate_recommenders --config``, the bench's dicts), and its
``model`` and ``train`` parts are what the network and the training loop read. SASRec: Kang &
McAuley (2018); the loss: Klenitskiy & Vasilev (2023).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["ITEM_INITS", "PRECISIONS", "SeqConfig", "SeqModelConfig", "SeqTrainConfig"]

ITEM_INITS = ("random", "als")
PRECISIONS = ("fp32", "bf16")


@dataclass
class SeqModelConfig:
    """Shape of a sequence model."""

    arch: str = "sasrec"  # the one architecture (GRU4Rec was retired)
    hidden: int = 64  # embedding / hidden size
    layers: int = 2  # Transformer blocks
    heads: int = 1  # attention heads (sasrec)
    dropout: float = 0.3  # on embeddings and residual branches
    maxlen: int = 100  # longest history the model reads (most recent items)
    members: int = 1  # networks whose logits are summed (the search adds one while validation
    # improves; a plain fit trains each with seed + i, its share of time_budget)

    def __post_init__(self) -> None:
        if self.members < 1:
            raise ValueError(f"members must be 1 or more; got {self.members}")

    @classmethod
    def tiny(cls, arch: str = "sasrec") -> SeqModelConfig:
        return cls(arch=arch, hidden=16, layers=1, maxlen=20)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SeqTrainConfig:
    """How a sequence model is fitted."""

    train_windows: bool = True  # also learn from the items before the last maxlen (windows)
    item_init: str = "als"  # random | als (item embeddings start from ALS factors)
    epochs: int = 200  # first phase's bound; early stopping and the time budget end sooner
    batch_size: int = 64
    lr: float = 3e-3
    lr_schedule: str = "cosine"  # constant | cosine (decays to 0 by the epoch or time limit)
    warmup: float = 0.02  # cosine: share of the run spent warming up linearly
    weight_decay: float = 0.01
    precision: str = "fp32"  # fp32 | bf16 (training's matrix products in bfloat16, autocast)
    loss: str = "ce"  # ce (full softmax) | sampled (sampled softmax)
    negatives: int = 256  # sampled softmax: shared negatives per batch
    patience: int = 5  # validations without improvement before stopping
    time_budget: float | None = None  # seconds of training at most
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    threads: int = 0  # torch CPU threads (0 = leave torch's default)

    def __post_init__(self) -> None:
        if self.item_init not in ITEM_INITS:
            raise ValueError(f"unknown item_init {self.item_init!r}; expected one of {ITEM_INITS}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; expected one of {PRECISIONS}")

    @classmethod
    def tiny(cls) -> SeqTrainConfig:
        return cls(epochs=3, batch_size=32, patience=2)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SeqConfig(SeqTrainConfig, SeqModelConfig):
    """A sequence recommender's settings: the model's fields, then the training's, flat."""

    def __post_init__(self) -> None:
        SeqTrainConfig.__post_init__(self)
        SeqModelConfig.__post_init__(self)

    @classmethod
    def tiny(cls, arch: str = "sasrec") -> SeqConfig:
        return cls.of(SeqModelConfig.tiny(arch), SeqTrainConfig.tiny())

    @classmethod
    def of(cls, model: SeqModelConfig, train: SeqTrainConfig) -> SeqConfig:
        """The settings of ``model`` trained as ``train`` says."""
        return cls(**_values(SeqModelConfig, model), **_values(SeqTrainConfig, train))

    @classmethod
    def from_saved(cls, saved: dict[str, Any]) -> SeqConfig:
        """The settings a saved model holds: ``{"model": ..., "train": ...}``, or the one flat
        dict that models saved before the two were apart hold under ``"seq"``. Settings this
        version no longer has (``refit``, retired with its test-chosen share; ``eval_every``,
        ``valid_users`` and ``attn_dropout``, which only a benchmark used) are left out."""
        flat = saved["seq"] if "seq" in saved else {**saved["model"], **saved["train"]}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in flat.items() if k in known})

    @property
    def model(self) -> SeqModelConfig:
        return SeqModelConfig(**_values(SeqModelConfig, self))

    @property
    def train(self) -> SeqTrainConfig:
        return SeqTrainConfig(**_values(SeqTrainConfig, self))


def _values(part: type, config: Any) -> dict[str, Any]:
    return {f.name: getattr(config, f.name) for f in fields(part)}
