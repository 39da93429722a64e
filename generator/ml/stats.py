"""Simple musical statistics of a piece, to compare generated pieces with the training data.

Pitch-class entropy and in-scale ratio follow the objective metrics of Yang & Lerch (2020),
"On the evaluation of generative models in music"; repetition is the share of melodic 4-grams
that repeat an earlier one (cf. the self-similarity measures of Huang et al. 2019, Music
Transformer).
"""

from __future__ import annotations

import math
from collections import Counter

import symusic

MAJOR = (0, 2, 4, 5, 7, 9, 11)


def piece_stats(score: symusic.Score) -> dict[str, float] | None:
    """Stats of one piece (None when it has no pitched notes)."""
    seconds = score.to("second")
    notes = sorted(
        (n for t in seconds.tracks if not t.is_drum for n in t.notes),
        key=lambda n: (n.time, n.pitch),
    )
    if not notes:
        return None
    pcs = Counter(n.pitch % 12 for n in notes)
    total = sum(pcs.values())
    entropy = -sum(c / total * math.log2(c / total) for c in pcs.values())
    in_scale = max(
        sum(pcs[(root + s) % 12] for s in MAJOR) / total for root in range(12)
    )  # the best-fitting major scale (= its relative minor)
    length = max(n.time + n.duration for n in notes) - notes[0].time
    grams = [tuple(n.pitch for n in notes[i : i + 4]) for i in range(len(notes) - 3)]
    seen: set = set()
    repeats = 0
    for g in grams:
        repeats += g in seen
        seen.add(g)
    return {
        "pitch_class_entropy_bits": entropy,
        "in_scale_ratio": in_scale,
        "notes_per_second": len(notes) / max(length, 1e-6),
        "repetition_4gram": repeats / len(grams) if grams else 0.0,
    }


def mean_stats(scores: list[symusic.Score]) -> dict[str, float]:
    """Mean of ``piece_stats`` over pieces that have notes."""
    rows = [s for s in (piece_stats(x) for x in scores) if s]
    if not rows:
        return {}
    return {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]} | {"pieces": len(rows)}
