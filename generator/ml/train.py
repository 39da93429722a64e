"""Fit a token language model: Adam (Kingma & Ba 2015) on next-token cross-entropy with a
linear warm-up, the learning rate halved at every second validation in a row that does not
improve (down to 1/64), early stopping on validation loss (Prechelt 1998), best checkpoint
kept. Given negative sequences (songs listeners disliked), each step also pushes down the
probability of their tokens: token-level unlikelihood, Welleck et al. (2020), "Neural Text
Generation with Unlikelihood Training" (ICLR).

A run can stop (a time budget, a killed process) and resume: ``train_state.pt`` beside the
checkpoint holds the weights, the optimiser, the step, the best so far and the sampler's state.
``continue_from`` seeds that state from a finished checkpoint, to train it further.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import miditok
import torch
from tqdm import tqdm

from generator.ml.checkpoint import load_checkpoint, save_checkpoint
from generator.ml.config import ModelConfig, TrainConfig
from generator.ml.data import (
    Augmenter,
    WindowSampler,
    evaluate_nll,
    perplexity,
    split_by_identity,
    split_by_piece,
    tokenize_pieces,
)
from generator.ml.model import build_model, count_parameters
from generator.ml.tokenizer import build_tokenizer, control_ids
from recommender.ml.device import resolve_device

logger = logging.getLogger(__name__)
STATE_FILE = "train_state.pt"
TOKENS_FILE = "tokens.pt"
WARMUP_STEPS = 200
MIN_ONE_MINUS_P = 1e-6  # the floor of 1 - p in the unlikelihood term (log stays finite)


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
    augment: bool = True,
    resume: bool = False,
    restart_lr: bool = False,
    negative_seqs: list[list[int]] | None = None,
    unlikelihood_weight: float = 0.5,
) -> tuple[torch.nn.Module, int, float]:
    """Train until early stopping / the budget; write the best checkpoint to ``out_dir``.

    ``augment``: transpose windows and nudge their tempo. ``resume``: go on from the
    ``train_state.pt`` an earlier run left in ``out_dir`` (if any); ``restart_lr``: at the full
    rate again (a warm restart, Loshchilov & Hutter 2017). ``negative_seqs``: examples
    of what not to write; each step adds ``unlikelihood_weight`` times the unlikelihood of a
    batch of their windows (``unlikelihood_loss``). Returns the best model (reloaded weights),
    its step and its validation NLL.
    """
    if train_config.seq_len > model_config.max_len:
        raise ValueError("TrainConfig.seq_len must not exceed ModelConfig.max_len")
    if init_weights is None:  # a position past the training window would never be trained
        model_config.max_len = train_config.seq_len
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
    header = control_ids(tokenizer)
    sampler = WindowSampler(
        train_seqs,
        train_config.seq_len,
        seed=train_config.seed,
        header=header,
        augment=Augmenter(tokenizer) if augment else None,
    )
    negatives = _negative_sampler(negative_seqs or [], train_config, header)
    header_ids = torch.tensor(sorted(header), dtype=torch.long, device=device)
    steps_per_epoch = max(1, len(sampler) // train_config.batch_size)
    max_steps = steps_per_epoch * train_config.max_epochs
    start = time.monotonic()
    best: tuple[float, int, dict[str, Any] | None] = (math.inf, 0, None)
    stale = 0
    first = 1
    lr_scale = 1.0  # halved at every second evaluation in a row that does not improve
    state_path = Path(out_dir) / STATE_FILE
    if resume and state_path.is_file():
        saved = torch.load(state_path, map_location=device, weights_only=False)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        sampler.restore(saved["sampler"])
        best, stale, first = saved["best"], saved["stale"], saved["step"] + 1
        lr_scale = 1.0 if restart_lr else saved.get("lr_scale", 1.0)
        start -= saved["seconds"]
        logger.info("resuming at step %d (best val %.4f at %d)", first, best[0], best[1])
    base_lr = train_config.lr

    def validate() -> float:
        return evaluate_nll(
            model, val_seqs, max_len=model_config.max_len, device=device, header=header
        )[0]

    if init_weights is not None and first == 1:  # a fine-tune must beat where it started
        best = (validate(), 0, {k: v.detach().clone() for k, v in model.state_dict().items()})
    bar = tqdm(
        total=max_steps, initial=first - 1, desc=f"train {model_config.arch}", disable=not progress
    )
    model.train()
    step = first - 1
    budget_start = time.monotonic()
    for step in range(first, max_steps + 1):
        if init_weights is None:
            for group in opt.param_groups:
                group["lr"] = base_lr * lr_scale * min(1.0, step / WARMUP_STEPS)
        x, y = sampler.batch(train_config.batch_size, device)
        _, loss = model(x, y)
        if negatives is not None:
            xn, yn = negatives.batch(train_config.batch_size, device)
            # the header states the conditions; only the notes written after it are refused
            yn = yn.masked_fill(torch.isin(yn, header_ids), -100)
            loss = loss + unlikelihood_weight * unlikelihood_loss(model(xn)[0], yn)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), train_config.grad_clip)
        opt.step()
        bar.update(1)
        out_of_time = (
            train_config.time_budget_s is not None
            and time.monotonic() - budget_start > train_config.time_budget_s
        )
        if step % train_config.eval_every == 0 or step == max_steps or out_of_time:
            val = validate()
            bar.set_postfix(loss=f"{loss.item():.3f}", val=f"{val:.3f}")
            if val < best[0] - 1e-4:
                best = (val, step, {k: v.detach().clone() for k, v in model.state_dict().items()})
                stale = 0
            else:
                stale += 1
                if stale % 2 == 0:
                    lr_scale = max(lr_scale / 2, 1 / 64)
            _save_state(
                state_path,
                model=model.state_dict(),
                optimizer=opt.state_dict(),
                sampler=sampler.state(),
                best=best,
                stale=stale,
                lr_scale=lr_scale,
                step=step,
                seconds=time.monotonic() - start,
            )
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


def unlikelihood_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean of ``-log(1 - p(target))`` over the targets that are not padding (-100): low when
    the model gives the tokens of a sequence it should not write little probability."""
    scored = targets != -100
    if not scored.any():
        return logits.sum() * 0.0  # nothing to refuse: a zero that keeps the graph
    log_p = torch.log_softmax(logits[scored].float(), dim=-1)
    p = log_p.gather(-1, targets[scored].unsqueeze(-1)).squeeze(-1).exp()
    return -torch.log((1.0 - p).clamp(min=MIN_ONE_MINUS_P)).mean()


def _negative_sampler(
    seqs: list[list[int]], train_config: TrainConfig, header: set[int]
) -> WindowSampler | None:
    """Windows of the negative sequences (no augmentation), None when there are none; windows
    are shortened to fit when the negatives hold fewer tokens than one training window."""
    total = sum(len(s) for s in seqs if len(s) >= 2)
    if total < 3:
        return None
    seq_len = min(train_config.seq_len, total - 2)
    return WindowSampler(seqs, seq_len, seed=train_config.seed, header=header)


def _tokenized(
    tokenizer: miditok.REMI,
    pieces: list[Piece],
    idx: dict[str, list[int]],
    out_dir: Path,
    *,
    progress: bool,
) -> dict[str, list[list[int]]]:
    """Each split's token sequences; kept in ``out_dir/tokens.pt`` so that a resumed run over
    the same pieces with the same vocabulary does not tokenize them again."""
    key = hashlib.sha1(
        json.dumps(
            [sorted(tokenizer.vocab.items()), [(str(p.path), p.style, p.ident) for p in pieces]]
        ).encode()
    ).hexdigest()
    cache = out_dir / TOKENS_FILE
    if cache.is_file():
        saved = torch.load(cache, weights_only=False)
        if saved.get("key") == key:
            return saved["seqs"]
    seqs = {
        name: tokenize_pieces(
            tokenizer, [(pieces[i].path, pieces[i].style) for i in ids], progress=progress
        )
        for name, ids in idx.items()
    }
    _save_state(cache, key=key, seqs=seqs)
    return seqs


def continue_from(
    ckpt_dir: str | Path,
    out_dir: str | Path,
    *,
    model_config: ModelConfig,
    train_config: TrainConfig,
) -> int:
    """Seed ``out_dir``'s resumable state with a checkpoint's weights and step, a fresh Adam
    and windows drawn anew (``train_config.seed + 1``), so that ``--resume`` goes on training
    it (the checkpoint's validation figure is not carried over: the next evaluation sets the
    best). Returns the checkpoint's step. ``ValueError`` when ``out_dir`` already holds a
    state, or when the checkpoint is not the shape ``model_config`` and the training window
    build (nothing is written then)."""
    state_path = Path(out_dir) / STATE_FILE
    if state_path.is_file():
        raise ValueError(f"{state_path} exists: resume it, or choose another --out")
    model, config, _, meta = load_checkpoint(ckpt_dir)
    asked = replace(model_config, vocab_size=config.vocab_size, max_len=train_config.seq_len)
    if replace(asked, dropout=config.dropout) != config:
        raise ValueError(
            f"the checkpoint in {ckpt_dir} is {config}, not the {asked} this run would train"
        )
    step = int(meta.get("step") or 0)
    _save_state(
        state_path,
        model=model.state_dict(),
        optimizer=torch.optim.Adam(model.parameters()).state_dict(),
        sampler=random.Random(train_config.seed + 1).getstate(),
        best=(math.inf, 0, None),
        stale=0,
        lr_scale=1.0,
        step=step,
        seconds=0.0,
    )
    return step


def _save_state(path: Path, **state: Any) -> None:
    """Write the resumable state atomically (a kill mid-write keeps the previous one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


@dataclass(frozen=True)
class Piece:
    """A training piece: its MIDI file, its style (None: no style token) and its identity."""

    path: Path
    style: str | None
    ident: str


def train_on_files(
    *,
    paths: list[Path],
    out_dir: str | Path,
    model_config: ModelConfig,
    train_config: TrainConfig,
    progress: bool = True,
) -> TrainResult:
    """``train_on_pieces`` for plain MIDI files (no style; identity = file name)."""
    pieces = [Piece(Path(p), None, Path(p).name) for p in paths]
    return train_on_pieces(
        pieces=pieces,
        out_dir=out_dir,
        model_config=model_config,
        train_config=train_config,
        progress=progress,
    )


def train_on_pieces(
    *,
    pieces: list[Piece],
    out_dir: str | Path,
    model_config: ModelConfig,
    train_config: TrainConfig,
    progress: bool = True,
    resume: bool = False,
    restart_lr: bool = False,
    val_monitor: int = 200,
    score_test: bool = True,
) -> TrainResult:
    """Tokenize, split by identity, fit, score validation and test once; one checkpoint in
    ``out_dir``. Early stopping watches ``val_monitor`` validation pieces (a fixed subset, so an
    evaluation stays cheap); the reported ``val_nll`` is over all of them. ``score_test=False``
    (model selection) leaves the test pieces unscored."""
    if len(pieces) < 3:
        raise ValueError(
            f"need at least 3 pieces to split into train/validation/test, got {len(pieces)}"
        )
    tokenizer = build_tokenizer()
    idx = split_by_identity(
        [p.ident for p in pieces],
        val_fraction=train_config.val_fraction,
        test_fraction=train_config.test_fraction,
    )
    if not all(idx.values()):  # a tiny set: fall back to a seeded cut
        cut = split_by_piece(
            range(len(pieces)),
            val_fraction=train_config.val_fraction,
            test_fraction=train_config.test_fraction,
            seed=train_config.seed,
        )
        idx = {k: sorted(v) for k, v in cut.items()}
    seqs = _tokenized(tokenizer, pieces, idx, Path(out_dir), progress=progress)
    for name, s in seqs.items():
        if not s:
            raise ValueError(f"the {name} split has no readable pieces with notes")
    model, step, _ = fit(
        model_config=model_config,
        train_config=train_config,
        tokenizer=tokenizer,
        train_seqs=seqs["train"],
        val_seqs=seqs["val"][:val_monitor],
        out_dir=out_dir,
        progress=progress,
        resume=resume,
        restart_lr=restart_lr,
    )
    device = next(model.parameters()).device
    header = control_ids(tokenizer)
    val, _ = evaluate_nll(
        model, seqs["val"], max_len=model_config.max_len, device=device, header=header
    )
    test, n_test = (
        evaluate_nll(
            model, seqs["test"], max_len=model_config.max_len, device=device, header=header
        )
        if score_test
        else (math.nan, 0)
    )
    metrics = {
        "val_nll": val,
        "test_nll": test if score_test else None,
        "test_perplexity": perplexity(test) if score_test else None,
        "test_tokens": n_test,
        "pieces": {k: len(v) for k, v in seqs.items()},
        "train_tokens": sum(len(s) for s in seqs["train"]),
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
    return TrainResult(Path(out_dir), step, val, test if score_test else None, metrics)
