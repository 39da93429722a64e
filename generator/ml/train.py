"""Fit a token language model: Adam (Kingma & Ba 2015) on next-token cross-entropy, early
stopping on validation loss (Prechelt 1998), best checkpoint kept.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import miditok
import torch
from tqdm import tqdm

from generator.ml.checkpoint import save_checkpoint
from generator.ml.config import ModelConfig, TrainConfig
from generator.ml.data import (
    WindowSampler,
    evaluate_nll,
    perplexity,
    split_by_piece,
    tokenize_files,
)
from generator.ml.model import build_model, count_parameters
from generator.ml.tokenizer import build_tokenizer
from recommender.ml.device import resolve_device

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    out_dir: Path
    step: int
    val_nll: float
    test_nll: float | None
    metrics: dict[str, Any]


def fit(
    *,
    model_config: ModelConfig,
    train_config: TrainConfig,
    tokenizer: miditok.REMI,
    train_seqs: list[list[int]],
    val_seqs: list[list[int]],
    out_dir: str | Path,
    init_weights: dict | None = None,
    progress: bool = True,
) -> tuple[torch.nn.Module, int, float]:
    """Train until early stopping / the budget; write the best checkpoint to ``out_dir``.

    Returns the best model (reloaded weights), its step and its validation NLL.
    """
    if train_config.seq_len > model_config.max_len:
        raise ValueError("TrainConfig.seq_len must not exceed ModelConfig.max_len")
    torch.manual_seed(train_config.seed)
    device = resolve_device(train_config.device)
    model_config.vocab_size = len(tokenizer)
    model = build_model(model_config).to(device)
    if init_weights is not None:
        model.load_state_dict(init_weights)
    logger.info(
        "training %s (%d parameters) on %s", model_config.arch, count_parameters(model), device
    )
    opt = torch.optim.Adam(
        model.parameters(), lr=train_config.lr, weight_decay=train_config.weight_decay
    )
    sampler = WindowSampler(train_seqs, train_config.seq_len, seed=train_config.seed)
    steps_per_epoch = max(1, len(sampler) // train_config.batch_size)
    max_steps = steps_per_epoch * train_config.max_epochs
    start = time.monotonic()
    best: tuple[float, int, dict[str, Any] | None] = (math.inf, 0, None)
    stale = 0

    def validate() -> float:
        return evaluate_nll(model, val_seqs, max_len=model_config.max_len, device=device)[0]

    if init_weights is not None:  # a fine-tune must beat where it started
        best = (validate(), 0, {k: v.detach().clone() for k, v in model.state_dict().items()})
    bar = tqdm(total=max_steps, desc=f"train {model_config.arch}", disable=not progress)
    model.train()
    step = 0
    for step in range(1, max_steps + 1):
        x, y = sampler.batch(train_config.batch_size, device)
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), train_config.grad_clip)
        opt.step()
        bar.update(1)
        out_of_time = (
            train_config.time_budget_s is not None
            and time.monotonic() - start > train_config.time_budget_s
        )
        if step % train_config.eval_every == 0 or step == max_steps or out_of_time:
            val = validate()
            bar.set_postfix(loss=f"{loss.item():.3f}", val=f"{val:.3f}")
            if val < best[0] - 1e-4:
                best = (val, step, {k: v.detach().clone() for k, v in model.state_dict().items()})
                stale = 0
            else:
                stale += 1
            if stale >= train_config.patience:
                logger.info("early stop at step %d (best val %.4f at %d)", step, best[0], best[1])
                break
        if out_of_time:
            logger.info("time budget reached at step %d", step)
            break
    bar.close()
    if best[2] is None:  # budget ran out before any evaluation: keep the weights as they are
        best = (validate(), step, None)
    else:
        model.load_state_dict(best[2])
    model.eval()
    save_checkpoint(
        out_dir,
        model=model,
        config=model_config,
        tokenizer=tokenizer,
        step=best[1],
        val_loss=best[0],
        metrics={"val_nll": best[0], "train_seconds": time.monotonic() - start},
    )
    return model, best[1], best[0]


def train_on_files(
    *,
    paths: list[Path],
    out_dir: str | Path,
    model_config: ModelConfig,
    train_config: TrainConfig,
    progress: bool = True,
) -> TrainResult:
    """Tokenize, split by piece, fit, score the test pieces; one checkpoint in ``out_dir``."""
    tokenizer = build_tokenizer()
    split = split_by_piece(
        paths,
        val_fraction=train_config.val_fraction,
        test_fraction=train_config.test_fraction,
        seed=train_config.seed,
    )
    seqs = {
        name: tokenize_files(tokenizer, files, progress=progress) for name, files in split.items()
    }
    for name, s in seqs.items():
        if not s:
            raise ValueError(f"the {name} split has no readable pieces with notes")
    model, step, val = fit(
        model_config=model_config,
        train_config=train_config,
        tokenizer=tokenizer,
        train_seqs=seqs["train"],
        val_seqs=seqs["val"],
        out_dir=out_dir,
        progress=progress,
    )
    device = next(model.parameters()).device
    test, n_test = evaluate_nll(model, seqs["test"], max_len=model_config.max_len, device=device)
    metrics = {
        "val_nll": val,
        "test_nll": test,
        "test_perplexity": perplexity(test),
        "test_tokens": n_test,
        "pieces": {k: len(v) for k, v in seqs.items()},
        "train_config": train_config.to_dict() | {"time_budget_s": train_config.time_budget_s},
    }
    save_checkpoint(
        out_dir,
        model=model,
        config=model_config,
        tokenizer=tokenizer,
        step=step,
        val_loss=val,
        metrics=metrics,
    )
    return TrainResult(Path(out_dir), step, val, test, metrics)
