"""Configurations of the token language models (dataclasses, nanoGPT's ``GPTConfig`` style).

The Transformer follows Vaswani et al. (2017) "Attention Is All You Need" as a decoder-only LM
(Radford et al. 2018); the LSTM follows Hochreiter & Schmidhuber (1997), three layers as in the
seed design (cf. Oore et al. 2018, "This Time with Feeling", for LSTM music LMs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Arch = Literal["transformer", "lstm"]


@dataclass
class ModelConfig:
    """Shape of a token language model."""

    arch: Arch = "transformer"  # "transformer" (causal decoder) or "lstm"
    vocab_size: int = 0  # filled in from the tokenizer before the model is built
    d_model: int = 128  # embedding / hidden width
    n_layers: int = 4  # decoder blocks, or stacked LSTM layers
    n_heads: int = 4  # attention heads (transformer only)
    max_len: int = 256  # longest context the model reads: its training window (``fit`` sets
    # it to ``TrainConfig.seq_len`` for a new model, so that no position goes untrained)
    dropout: float = 0.1  # dropout on embeddings, attention and residual outputs

    @classmethod
    def transformer(cls) -> ModelConfig:
        """6 blocks of width 192 (~2.8 M parameters, 11 MB): a candidate beside the small one."""
        return cls(arch="transformer", d_model=192, n_layers=6, n_heads=6, max_len=256)

    @classmethod
    def transformer_wide(cls) -> ModelConfig:
        """4 blocks of width 256 (~3.3 M parameters): a candidate beside the default."""
        return cls(arch="transformer", d_model=256, n_layers=4, n_heads=8, max_len=256)

    @classmethod
    def transformer_small(cls) -> ModelConfig:
        """The shipped one: 4 blocks of width 128 (~0.87 M parameters, 3.5 MB), chosen on
        validation NLL at equal training time (``make bench-generator-select``)."""
        return cls(arch="transformer", d_model=128, n_layers=4, n_heads=4, max_len=256)

    @classmethod
    def lstm(cls) -> ModelConfig:
        """The seed design: a three-layer LSTM."""
        return cls(arch="lstm", d_model=256, n_layers=3, n_heads=1, max_len=256, dropout=0.2)

    @classmethod
    def tiny(cls, arch: Arch = "transformer") -> ModelConfig:
        """For tests: trains in seconds."""
        return cls(arch=arch, d_model=32, n_layers=2, n_heads=2, max_len=128, dropout=0.0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainConfig:
    """How a token language model is fitted."""

    seq_len: int = 256  # training window length in tokens (a new model's max_len)
    batch_size: int = 16  # windows per step
    lr: float = 1e-3  # Adam learning rate
    weight_decay: float = 0.0  # Adam L2 weight decay
    grad_clip: float = 1.0  # global gradient-norm clip
    max_epochs: int = 200  # upper bound on passes over the training windows
    patience: int = 4  # stop after this many evaluations without validation improvement
    eval_every: int = 100  # optimisation steps between validation evaluations
    time_budget_s: float | None = None  # wall-clock cap on training (None = none)
    val_fraction: float = 0.1  # share of pieces held out for validation
    test_fraction: float = 0.1  # share of pieces held out for test
    seed: int = 0  # seeds the split, the initialisation and the batches
    device: str = "auto"  # "auto" (CUDA when available), "cpu" or "cuda"

    @classmethod
    def tiny(cls) -> TrainConfig:
        return cls(seq_len=64, batch_size=8, lr=3e-3, max_epochs=25, eval_every=25, patience=3)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TokenizerSettings:
    """The MidiTok REMI options (tempo and time-signature tokens; velocities left out)."""

    beat_res: dict[tuple[int, int], int] = field(
        default_factory=lambda: {(0, 4): 4, (4, 12): 2}  # 16ths for short notes, 8ths longer
    )
    num_tempos: int = 24  # tempo bins between tempo_range
    tempo_range: tuple[int, int] = (40, 200)  # BPM
    pitch_range: tuple[int, int] = (21, 109)  # piano range, MIDI numbers


def preset(name: str) -> ModelConfig:
    """``transformer`` (-wide, -small), ``lstm``, ``tiny`` (a tiny transformer), ``tiny-lstm``."""
    presets: dict[str, Callable[[], ModelConfig]] = {
        "transformer": ModelConfig.transformer,
        "transformer-wide": ModelConfig.transformer_wide,
        "transformer-small": ModelConfig.transformer_small,
        "lstm": ModelConfig.lstm,
        "tiny": ModelConfig.tiny,
        "tiny-lstm": lambda: ModelConfig.tiny("lstm"),
    }
    if name not in presets:
        raise ValueError(f"unknown model config {name!r}; choose one of {sorted(presets)}")
    return presets[name]()
