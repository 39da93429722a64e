"""Token datasets for language-model training: split by piece, random training windows that
keep their piece's header, transposition and tempo augmentation, and exact per-token NLL over
whole held-out pieces (Bengio et al. 2003's per-token perplexity).
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import miditok
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from generator.ml.tokenizer import (
    NOTE_NAMES,
    encode_file,
    encode_piece,
    header_length,
    read_score,
)

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


def split_by_identity(
    idents: Sequence[str], *, val_fraction: float, test_fraction: float
) -> dict[str, list[int]]:
    """Indices of train / val / test by a hash of each piece's identity: a piece lands in the
    same split whatever else is in the corpus (the demo catalog's pieces as the corpus's).
    Each split is in hash order, so any prefix of it is a fair spread of the corpus."""
    out: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    hashed = sorted(
        (int(hashlib.sha1(ident.encode()).hexdigest()[:12], 16) / 16**12, i)
        for i, ident in enumerate(idents)
    )
    for u, i in hashed:
        if u < val_fraction:
            out["val"].append(i)
        elif u < val_fraction + test_fraction:
            out["test"].append(i)
        else:
            out["train"].append(i)
    return out


def tokenize_pieces(
    tokenizer: miditok.REMI,
    pieces: Sequence[tuple[Path, str | None]],
    *,
    progress: bool = False,
) -> list[list[int]]:
    """``header + tokens + [EOS]`` per readable, non-empty ``(file, style)``; bad files logged."""
    seqs = []
    for path, style in tqdm(pieces, desc="tokenize", disable=not progress, unit="file"):
        try:
            ids = encode_piece(tokenizer, read_score(path), style=style)
        except ValueError as exc:
            logger.warning("skipping %s: %s", Path(path).name, exc)
            continue
        if ids:
            seqs.append(ids)
    return seqs


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


class Augmenter:
    """Transposes a window (pitch tokens and the key token move together; a shift that would
    leave the pitch range is not used) and nudges its tempo tokens by one bin."""

    def __init__(self, tokenizer: miditok.REMI, max_shift: int = 5) -> None:
        vocab: dict[str, int] = tokenizer.vocab
        size = len(vocab)
        self.max_shift = max_shift
        self.pitch = {int(n.split("_")[1]): i for n, i in vocab.items() if n.startswith("Pitch_")}
        self.pitch_of = torch.full((size,), -1, dtype=torch.long)
        for p, i in self.pitch.items():
            self.pitch_of[i] = p
        self.lo, self.hi = min(self.pitch), max(self.pitch)
        self.shift_maps = {k: self._map(vocab, k) for k in range(-max_shift, max_shift + 1)}
        tempos = sorted(
            (float(n.split("_")[1]), i) for n, i in vocab.items() if n.startswith("Tempo_")
        )
        self.tempo_maps = {}
        for d in (-1, 1):
            m = torch.arange(size)
            for j, (_, i) in enumerate(tempos):
                m[i] = tempos[min(max(j + d, 0), len(tempos) - 1)][1]
            self.tempo_maps[d] = m

    def _map(self, vocab: dict[str, int], k: int) -> torch.Tensor:
        m = torch.arange(len(vocab))
        for p, i in self.pitch.items():
            if self.lo <= p + k <= self.hi:
                m[i] = self.pitch[p + k]
        for name, i in vocab.items():
            if name.startswith("Key_"):
                value = name[4:]
                mode = "minor" if value.endswith("minor") else "major"
                tonic = NOTE_NAMES.index(value[: -len(mode)])
                m[i] = vocab[f"Key_{NOTE_NAMES[(tonic + k) % 12]}{mode}"]
        return m

    def __call__(self, row: torch.Tensor, rng: random.Random) -> torch.Tensor:
        pitches = self.pitch_of[row]
        pitches = pitches[pitches >= 0]
        if len(pitches):
            lo, hi = int(pitches.min()), int(pitches.max())
            options = [
                k
                for k in range(-self.max_shift, self.max_shift + 1)
                if self.lo <= lo + k and hi + k <= self.hi
            ]
            row = self.shift_maps[rng.choice(options or [0])][row]
        d = rng.choice((-1, 0, 0, 1))
        return self.tempo_maps[d][row] if d else row


class WindowSampler:
    """Random training windows of ``seq_len + 1`` tokens. Each starts inside one piece and
    opens with that piece's header (BOS and its control tokens), so every window says what it
    is; a piece shorter than a window is padded (padding is not scored). Pieces are drawn in
    proportion to the square root of their length over the square root of how many pieces
    share their first control token (the style): long scores do not drown short tunes, and
    8,000 folk songs do not drown 400 chorales.
    """

    def __init__(
        self,
        seqs: list[list[int]],
        seq_len: int,
        seed: int = 0,
        *,
        header: set[int] | None = None,
        augment: Augmenter | None = None,
    ) -> None:
        seqs = [s for s in seqs if len(s) >= 2]
        total = sum(len(s) for s in seqs)
        if total < seq_len + 2:
            raise ValueError(
                f"training pieces hold {total} tokens, fewer than one window of {seq_len}"
            )
        self.seqs = [torch.tensor(s, dtype=torch.long) for s in seqs]
        self.heads = [header_length(s, header or set()) for s in seqs]
        styles = [s[1] if self.heads[i] > 1 else None for i, s in enumerate(seqs)]
        per_style = Counter(styles)
        self.weights = [
            math.sqrt(len(s) / per_style[style]) for s, style in zip(seqs, styles, strict=True)
        ]
        self.total = total
        self.seq_len = seq_len
        self.augment = augment
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return self.total // self.seq_len

    def window(self) -> torch.Tensor:
        """One ``seq_len + 1`` row of ids (-100 where padded)."""
        i = self.rng.choices(range(len(self.seqs)), weights=self.weights, k=1)[0]
        seq, head = self.seqs[i], self.heads[i]
        body_len = self.seq_len + 1 - head
        start = head + self.rng.randrange(max(1, len(seq) - head - body_len + 1))
        if start == head:
            row = seq[: self.seq_len + 1]
        else:
            row = torch.cat([seq[:head], seq[start : start + body_len]])
        if self.augment is not None:
            row = self.augment(row, self.rng)
        if len(row) < self.seq_len + 1:
            row = torch.cat([row, torch.full((self.seq_len + 1 - len(row),), -100)])
        return row

    def batch(self, batch_size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        rows = torch.stack([self.window() for _ in range(batch_size)])
        x = rows[:, :-1].clamp(min=0)  # a padded input position predicts only padding
        return x.to(device), rows[:, 1:].to(device)

    def state(self) -> object:
        return self.rng.getstate()

    def restore(self, state: object) -> None:
        self.rng.setstate(state)  # type: ignore[arg-type]


@torch.no_grad()
def evaluate_nll(
    model: nn.Module,
    seqs: list[list[int]],
    *,
    max_len: int,
    device: torch.device | str,
    header: set[int],
) -> tuple[float, int]:
    """Mean per-token NLL (nats) of every token after BOS, and the count of tokens scored.

    A piece longer than the context is scored in consecutive chunks, each read after the
    piece's header (BOS and its ``header`` control tokens, not scored again), as the model was
    trained: every training window opens with its piece's header.
    """
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for seq in seqs:
        ids = torch.tensor(seq, dtype=torch.long, device=device)
        head = min(header_length(seq, header), max_len // 2)
        start = 0
        while start < len(seq) - 1:
            context = head if start else 0  # the first chunk starts with the header itself
            take = max_len - context
            x = torch.cat([ids[:context], ids[start : start + take]])
            y = torch.cat([ids[1 : context + 1], ids[start + 1 : start + 1 + take]])
            logits, _ = model(x[None, : len(y)])
            total += float(F.cross_entropy(logits[0, context:], y[context:], reduction="sum"))
            count += len(y) - context
            start += take
    model.train(was_training)
    if count == 0:
        raise ValueError("no tokens to evaluate")
    return total / count, count


def perplexity(nll: float) -> float:
    return math.exp(nll)
