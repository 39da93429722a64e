"""Self-describing checkpoints (after nanoGPT's ``ckpt.pt``; tokenizer beside it as MidiTok does).

A checkpoint directory holds ``model.pt`` (weights, the model config as a dict, training step,
validation loss, metrics) and ``tokenizer.json`` (the MidiTok tokenizer it was trained with).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import miditok
import torch
from torch import nn

from generator.ml.config import ModelConfig
from generator.ml.model import build_model
from generator.ml.tokenizer import TOKENIZER_FILE, load_tokenizer

WEIGHTS_FILE = "model.pt"


def save_checkpoint(
    out_dir: str | Path,
    *,
    model: nn.Module,
    config: ModelConfig,
    tokenizer: miditok.REMI,
    step: int,
    val_loss: float,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write weights + config + step + val loss, and the tokenizer; atomic per file."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": config.to_dict(),
        "step": step,
        "val_loss": val_loss,
        "metrics": metrics or {},
    }
    fd, tmp = tempfile.mkstemp(dir=out, suffix=".tmp")
    os.close(fd)
    torch.save(payload, tmp)
    os.replace(tmp, out / WEIGHTS_FILE)
    tokenizer.save(out / TOKENIZER_FILE)
    return out


def read_meta(ckpt_dir: str | Path) -> dict[str, Any]:
    """Config, step, val loss and metrics of a checkpoint, without building the model."""
    payload = _load_payload(ckpt_dir)
    return {k: v for k, v in payload.items() if k != "model"}


def load_checkpoint(
    ckpt_dir: str | Path, device: torch.device | str = "cpu"
) -> tuple[nn.Module, ModelConfig, miditok.REMI, dict[str, Any]]:
    """Model (eval mode, on ``device``), its config, its tokenizer and the rest of the metadata."""
    payload = _load_payload(ckpt_dir)
    config = ModelConfig(**payload["config"])
    model = build_model(config)
    model.load_state_dict(payload["model"])
    model.to(device).eval()
    tokenizer = load_tokenizer(Path(ckpt_dir) / TOKENIZER_FILE)
    meta = {k: v for k, v in payload.items() if k != "model"}
    return model, config, tokenizer, meta


def _load_payload(ckpt_dir: str | Path) -> dict[str, Any]:
    path = Path(ckpt_dir) / WEIGHTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return torch.load(path, map_location="cpu", weights_only=True)
