"""Token datasets for language-model training: split by piece, random training windows,
exact per-token NLL over whole held-out pieces (Bengio et al. 2003's per-token perplexity).
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence
from pathlib import Path

import miditok
import torch
from torch import nn
from tqdm import tqdm

from generator.ml.tokenizer import encode_file

logger = logging.getLogger(__name__)


def split_by_piece(
    items: Sequence, *, val_fraction: float, test_fraction: float, seed: int
) -> dict[str, list]:
    """Shuffle pieces with ``seed`` and cut them into train / val / test (none empty)."""
    items = list(items)
    random.Random(seed).shuffle(items)
    n = len(items)
    if n < 3:
        raise ValueError(f"need at least 3 pieces to split into train/validation/test, got {n}")
    n_val = max(1, round(n * val_fraction))
    n_test = max(1, round(n * test_fraction))
    return {
        "val": items[:n_val],
        "test": items[n_val : n_val + n_test],
        "train": items[n_val + n_test :],
    }


def tokenize_files(
    tokenizer: miditok.REMI, paths: Sequence[Path], *, progress: bool = False
) -> list[list[int]]:
    """``[BOS] + tokens + [EOS]`` per readable, non-empty file; unreadable files are logged."""
    bos, eos = tokenizer["BOS_None"], tokenizer["EOS_None"]
    seqs = []
    for path in tqdm(paths, desc="tokenize", disable=not progress, unit="file"):
        try:
            ids = encode_file(tokenizer, path)
        except ValueError as exc:
            logger.warning("skipping %s: %s", path.name, exc)
            continue
        if ids:
            seqs.append([bos, *ids, eos])
    return seqs


class WindowSampler:
    """Random ``seq_len + 1`` windows from the concatenated training pieces."""

    def __init__(self, seqs: list[list[int]], seq_len: int, seed: int = 0) -> None:
        stream = [t for s in seqs for t in s]
        if len(stream) < seq_len + 2:
            raise ValueError(
                f"training pieces hold {len(stream)} tokens, fewer than one window of {seq_len}"
            )
        self.stream = torch.tensor(stream, dtype=torch.long)
        self.seq_len = seq_len
        self.gen = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.stream) // self.seq_len

    def batch(self, batch_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        hi = len(self.stream) - self.seq_len - 1
        starts = torch.randint(0, hi + 1, (batch_size,), generator=self.gen)
        rows = torch.stack([self.stream[s : s + self.seq_len + 1] for s in starts.tolist()])
        return rows[:, :-1].to(device), rows[:, 1:].to(device)


@torch.no_grad()
def evaluate_nll(
    model: nn.Module, seqs: list[list[int]], *, max_len: int, device: torch.device
) -> tuple[float, int]:
    """Mean per-token NLL (nats) of every token after BOS, and the count of tokens scored.

    Pieces longer than the context are scored in consecutive windows of ``max_len``.
    """
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for seq in seqs:
        ids = torch.tensor(seq, dtype=torch.long, device=device)
        for start in range(0, len(seq) - 1, max_len):
            x = ids[start : start + max_len][None]
            y = ids[start + 1 : start + 1 + max_len][None]
            x = x[:, : y.shape[1]]
            _, loss = model(x, y)
            total += float(loss) * y.shape[1]
            count += y.shape[1]
    model.train(was_training)
    if count == 0:
        raise ValueError("no tokens to evaluate")
    return total / count, count


def perplexity(nll: float) -> float:
    return math.exp(nll)
