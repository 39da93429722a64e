"""The classic polyphonic piano-roll benchmark (JSB Chorales, Nottingham) with an RNN-NADE.

Boulanger-Lewandowski, Bengio & Vincent (2012), "Modeling Temporal Dependencies in
High-Dimensional Sequences": a recurrent network over time conditions, at each frame, the biases
of a NADE (Larochelle & Murray 2011) that models the 88 pitches of that frame autoregressively.
The time model is an LSTM (or a causal Transformer). Score: frame-level NLL in nats, the sum over
88 pitches per frame averaged over all test frames (as in Bai, Kolter & Koltun 2018, TCN).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.io
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

logger = logging.getLogger(__name__)
N_PITCHES = 88


@dataclass
class PianoRollConfig:
    """RNN-NADE shape and training schedule."""

    time_model: Literal["lstm", "transformer"] = "lstm"  # recurrence over frames
    hidden: int = 256  # width of the time model
    layers: int = 2  # time-model layers
    heads: int = 4  # attention heads (transformer time model)
    nade_hidden: int = 128  # NADE hidden units per pitch step
    dropout: float = 0.3  # dropout on the time model's input and output
    lr: float = 2e-3  # Adam learning rate
    batch_pieces: int = 8  # pieces per optimisation step
    max_epochs: int = 200  # upper bound on passes over the training pieces
    patience: int = 8  # epochs without validation improvement before stopping
    time_budget_s: float | None = 600.0  # wall-clock cap on training
    seed: int = 0  # initialisation and batch order
    crop: int = 200  # longest training sub-sequence of frames (long pieces are cropped)

    @classmethod
    def tiny(cls) -> PianoRollConfig:
        return cls(hidden=16, layers=1, nade_hidden=8, max_epochs=2, time_budget_s=30, crop=32)


def load_mat(path: str | Path) -> dict[str, list[np.ndarray]]:
    """The original ``traindata``/``validdata``/``testdata`` splits as lists of (T, 88) arrays."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"piano-roll data not found: {path}")
    mat = scipy.io.loadmat(str(path))
    out = {}
    for key, name in (("traindata", "train"), ("validdata", "valid"), ("testdata", "test")):
        if key not in mat:
            raise ValueError(f"{path.name} has no {key!r} array; is it a piano-roll .mat file?")
        out[name] = [np.asarray(x, dtype=np.float32) for x in mat[key][0]]
    for name, pieces in out.items():
        if any(p.ndim != 2 or p.shape[1] != N_PITCHES for p in pieces):
            raise ValueError(f"{path.name}: {name} pieces must be (T, 88) rolls")
    return out


class RNNNADE(nn.Module):
    """Time model over frames -> per-frame NADE biases -> autoregressive pitch probabilities."""

    def __init__(self, config: PianoRollConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.inp = nn.Linear(N_PITCHES, h)
        self.drop = nn.Dropout(config.dropout)
        self.rnn: nn.LSTM | nn.TransformerEncoder
        if config.time_model == "lstm":
            self.rnn = nn.LSTM(
                h,
                h,
                num_layers=config.layers,
                batch_first=True,
                dropout=config.dropout if config.layers > 1 else 0.0,
            )
        else:
            layer = nn.TransformerEncoderLayer(
                h, config.heads, 4 * h, config.dropout, batch_first=True, norm_first=True
            )
            # Pre-norm layers can't use the nested-tensor fast path; say so instead of a warning.
            self.rnn = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
            self.pos = nn.Embedding(4096, h)
        # NADE parameters: shared weights, biases conditioned on the time model's state.
        self.W = nn.Parameter(torch.randn(N_PITCHES, config.nade_hidden) * 0.05)
        self.V = nn.Parameter(torch.randn(N_PITCHES, config.nade_hidden) * 0.05)
        self.to_c = nn.Linear(h, config.nade_hidden)
        self.to_b = nn.Linear(h, N_PITCHES)

    def _context(self, rolls: torch.Tensor) -> torch.Tensor:
        """State before each frame: the time model run over frames shifted right by one."""
        shifted = F.pad(rolls, (0, 0, 1, 0))[:, :-1]
        x = self.drop(torch.relu(self.inp(shifted)))
        if self.config.time_model == "lstm":
            out, _ = self.rnn(x)
        else:
            t = x.shape[1]
            x = x + self.pos(torch.arange(t, device=x.device))
            mask = nn.Transformer.generate_square_subsequent_mask(t, device=x.device)
            out = self.rnn(x, mask=mask, is_causal=True)
        return self.drop(out)

    def frame_nll(self, rolls: torch.Tensor) -> torch.Tensor:
        """NLL (nats) of each frame, shape (B, T): sum over the 88 pitches."""
        ctx = self._context(rolls)
        c = self.to_c(ctx)  # (B, T, H)
        b = self.to_b(ctx)  # (B, T, 88)
        # a_i = c + sum_{j<i} W_j v_j  (exclusive cumulative sum over pitches)
        contrib = rolls[..., None] * self.W  # (B, T, 88, H)
        acc = torch.cumsum(contrib, dim=2) - contrib
        hid = torch.sigmoid(c[..., None, :] + acc)
        logits = b + (hid * self.V).sum(-1)
        return F.binary_cross_entropy_with_logits(logits, rolls, reduction="none").sum(-1)


def _pad(pieces: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    t = max(len(p) for p in pieces)
    x = torch.zeros(len(pieces), t, N_PITCHES)
    mask = torch.zeros(len(pieces), t)
    for i, p in enumerate(pieces):
        x[i, : len(p)] = torch.from_numpy(p)
        mask[i, : len(p)] = 1
    return x, mask


@torch.no_grad()
def evaluate(model: RNNNADE, pieces: list[np.ndarray], device: torch.device) -> float:
    """Frame NLL in nats averaged over every frame of ``pieces`` (whole pieces, no cropping)."""
    model.eval()
    total, frames = 0.0, 0
    for i in range(0, len(pieces), 16):
        x, mask = _pad(pieces[i : i + 16])
        nll = model.frame_nll(x.to(device)) * mask.to(device)
        total += float(nll.sum())
        frames += int(mask.sum())
    return total / frames


def train_and_evaluate(
    data: dict[str, list[np.ndarray]],
    config: PianoRollConfig,
    *,
    device: str = "cpu",
    progress: bool = True,
) -> dict[str, Any]:
    """Fit on train with early stopping on valid; report valid and test frame NLL (nats)."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    dev = torch.device(device)
    model = RNNNADE(config).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    train = data["train"]
    start = time.monotonic()
    best_val, best_state, best_epoch, stale = math.inf, None, 0, 0
    bar = tqdm(range(1, config.max_epochs + 1), desc="piano-roll", disable=not progress)
    epoch = 0
    for epoch in bar:
        model.train()
        order = rng.permutation(len(train))
        for i in range(0, len(order), config.batch_pieces):
            batch = []
            for j in order[i : i + config.batch_pieces]:
                p = train[j]
                if len(p) > config.crop:
                    s = rng.integers(0, len(p) - config.crop + 1)
                    p = p[s : s + config.crop]
                batch.append(p)
            x, mask = _pad(batch)
            x, mask = x.to(dev), mask.to(dev)
            loss = (model.frame_nll(x) * mask).sum() / mask.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            if config.time_budget_s and time.monotonic() - start > config.time_budget_s:
                break
        val = evaluate(model, data["valid"], dev)
        sched.step(val)
        bar.set_postfix(val=f"{val:.3f}", best=f"{min(val, best_val):.3f}")
        if val < best_val - 1e-3:
            best_val, best_epoch, stale = val, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
        if stale >= config.patience:
            break
        if config.time_budget_s and time.monotonic() - start > config.time_budget_s:
            logger.info("piano-roll time budget reached after epoch %d", epoch)
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    test = evaluate(model, data["test"], dev)
    return {
        "test_nll": test,
        "valid_nll": best_val,
        "best_epoch": best_epoch,
        "epochs": epoch,
        "train_seconds": time.monotonic() - start,
        "parameters": sum(p.numel() for p in model.parameters()),
        "config": asdict(config),
    }
