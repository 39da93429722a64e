"""How close generated songs are to real music: per-piece features, their overlap, a classifier.

Follows the objective evaluation of Yang & Lerch (2020), "On the evaluation of generative models in
music" (Neural Computing and Applications 32): compute musical features per piece, estimate each
feature's distribution over a set of pieces with a Gaussian kernel density, and report the
overlapping area (OA) of the generated set's density with the real set's (1 = the same
distribution). Beside the OAs, a cross-validated logistic regression tries to tell a generated
piece from a real one: 0.5 means it cannot. ``real_vs_real`` gives the same figures for two random
halves of a real set, the anchor to read the others against.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypedDict

import numpy as np
import symusic

logger = logging.getLogger(__name__)

MAJOR = (0, 2, 4, 5, 7, 9, 11)  # a natural minor scale is the major scale of its relative major
CLASH_CLASSES = (1, 11)  # minor second, major seventh (mod 12, so minor ninths etc. too)
GRID_POINTS = 512


class FeatureComparison(TypedDict):
    generated: float  # mean over generated pieces
    real: float  # mean over real pieces
    oa: float  # overlapping area of the two densities, in [0, 1]


class Comparison(TypedDict):
    features: dict[str, FeatureComparison]
    oa_mean: float


class RealVsReal(Comparison):
    classifier_accuracy: float


# ----------------------------------------------------------------------------- per piece


def _pitched_notes(score: symusic.Score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Onsets, durations and pitches of every non-drum note, sorted by (onset, pitch)."""
    arrays = [t.notes.numpy() for t in score.tracks if not t.is_drum and len(t.notes)]
    if not arrays:
        empty = np.zeros(0)
        return empty, empty, empty.astype(np.int64)
    time = np.concatenate([a["time"] for a in arrays]).astype(np.float64)
    duration = np.concatenate([a["duration"] for a in arrays]).astype(np.float64)
    pitch = np.concatenate([a["pitch"] for a in arrays]).astype(np.int64)
    order = np.lexsort((pitch, time))
    return time[order], duration[order], pitch[order]


def _skyline(onset: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """The top voice: the highest pitch at each distinct onset (input sorted by onset, pitch)."""
    last_of_onset = np.append(onset[1:] != onset[:-1], True)
    return pitch[last_of_onset]


def _distinct_4grams(steps: np.ndarray) -> float:
    """Distinct 4-grams of melodic intervals over all 4-grams (1.0 = never repeats)."""
    grams = [tuple(steps[i : i + 4]) for i in range(len(steps) - 3)]
    return len(set(grams)) / len(grams) if grams else 1.0


def _clash_share(onset: np.ndarray, end: np.ndarray, pitch: np.ndarray) -> float:
    """Share of pairs of notes sounding together that are a minor second / major seventh apart.

    One sweep over the notes in onset order, keeping the sounding notes' pitch-class counts: each
    new note pairs with every note still sounding when it starts.
    """
    sounding = [0] * 12
    ending: list[tuple[float, int]] = []  # heap of (end, pitch class) of sounding notes
    pairs = clashes = 0
    for start, stop, p in zip(onset.tolist(), end.tolist(), pitch.tolist(), strict=True):
        while ending and ending[0][0] <= start:
            sounding[heapq.heappop(ending)[1]] -= 1
        pc = p % 12
        pairs += len(ending)
        clashes += sum(sounding[(pc + c) % 12] for c in CLASH_CLASSES)
        sounding[pc] += 1
        heapq.heappush(ending, (stop, pc))
    return clashes / pairs if pairs else 0.0


def _polyphony(onset: np.ndarray, end: np.ndarray) -> float:
    """Mean number of notes sounding at each distinct onset."""
    at = np.unique(onset)
    started = np.searchsorted(np.sort(onset), at, side="right")
    ended = np.searchsorted(np.sort(end), at, side="right")
    return float(np.mean(started - ended))


def _pitch_classes(pitch: np.ndarray) -> tuple[float, float]:
    """Pitch-class entropy (bits) and the share of notes in the best-fitting major/minor scale."""
    counts = np.bincount(pitch % 12, minlength=12)
    share = counts / counts.sum()
    nonzero = share[share > 0]
    entropy = float(-(nonzero * np.log2(nonzero)).sum())
    in_scale = max(sum(share[(root + s) % 12] for s in MAJOR) for root in range(12))
    return entropy, float(in_scale)


def piece_features(score: symusic.Score) -> dict[str, float] | None:
    """Features of one piece (None when it has no pitched notes).

    Overlaps, onsets and the top voice are read in ticks (exact integers); timing features
    (notes per second, inter-onset interval, note length) in seconds.
    """
    onset, duration, pitch = _pitched_notes(score.to("tick"))
    if not len(onset):
        return None
    sec_onset, sec_duration, _ = _pitched_notes(score.to("second"))
    end = onset + np.maximum(duration, 1)  # a zero-length note still sounds for a tick
    top = _skyline(onset, pitch)
    steps = np.diff(top)
    span = float((sec_onset + sec_duration).max() - sec_onset.min())
    # the mean gap between k distinct onsets is (last - first) / (k - 1)
    ioi = float(sec_onset.max() - sec_onset.min()) / (len(top) - 1) if len(top) > 1 else 0.0
    entropy, in_scale = _pitch_classes(pitch)
    return {
        "notes_per_second": len(onset) / max(span, 1e-3),
        "distinct_4grams": _distinct_4grams(steps),
        "clash_share": _clash_share(onset, end, pitch),
        "mean_step": float(np.abs(steps).mean()) if len(steps) else 0.0,
        "polyphony": _polyphony(onset, end),
        "pitch_range": float(pitch.max() - pitch.min()),
        "pitch_class_entropy": entropy,
        "in_scale_share": in_scale,
        "ioi": ioi,
        "note_length": float(sec_duration.mean()),
    }


def opening(score: symusic.Score, seconds: float) -> symusic.Score:
    """The score's first ``seconds`` seconds (notes cut at the end), in ticks."""
    timed = score.to("second")
    return timed.clip(0, min(seconds, timed.end()), clip_end=True).to("tick")


def features_of_files(
    paths: Iterable[str | Path], seconds: float | None = None
) -> list[dict[str, float]]:
    """Features of each readable MIDI file with pitched notes (of its first ``seconds``
    seconds when given: compared with songs that long, a whole piece's range and repeats
    would measure its length); the others are skipped."""
    rows = []
    for path in paths:
        try:
            score = symusic.Score(str(path))
        except (RuntimeError, ValueError, OSError) as error:
            logger.warning("skipping unreadable MIDI %s: %s", path, error)
            continue
        features = piece_features(opening(score, seconds) if seconds else score)
        if features is None:
            logger.info("skipping %s: no pitched notes", path)
            continue
        rows.append(features)
    return rows


# ----------------------------------------------------------------------------- sets of pieces


def _bandwidth(x: np.ndarray, floor: float) -> float:
    """Scott's rule, sigma * n^(-1/5), at least ``floor`` (a constant sample has sigma 0)."""
    sigma = float(x.std(ddof=1)) if len(x) > 1 else 0.0
    return max(sigma * len(x) ** -0.2, floor)


def _density(x: np.ndarray, h: float, grid: np.ndarray) -> np.ndarray:
    """Gaussian-KDE density of ``x`` on ``grid``, normalised to integrate to 1 there."""
    z = (grid[:, None] - x[None, :]) / h
    density = np.exp(-0.5 * z * z).sum(axis=1)
    return density / np.trapezoid(density, grid)


def overlap_area(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Overlapping area of the Gaussian-KDE densities of two samples, in [0, 1].

    Densities use Scott's bandwidth, floored at 1/200 of the pooled range so that constant
    samples stay finite, on a grid of 512 points covering both samples.
    """
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if not len(x) or not len(y):
        raise ValueError("overlap_area needs two non-empty samples")
    lo, hi = min(x.min(), y.min()), max(x.max(), y.max())
    if hi - lo < 1e-12:
        return 1.0  # both samples are the same constant
    floor = (hi - lo) / 200
    hx, hy = _bandwidth(x, floor), _bandwidth(y, floor)
    margin = 4 * max(hx, hy)
    grid = np.linspace(lo - margin, hi + margin, GRID_POINTS)
    overlap = np.trapezoid(np.minimum(_density(x, hx, grid), _density(y, hy, grid)), grid)
    return float(np.clip(overlap, 0.0, 1.0))


def _names(*sets: list[dict[str, float]]) -> list[str]:
    """Feature names every piece of every set has, in the first piece's order."""
    first = sets[0][0] if sets and sets[0] else {}
    return [k for k in first if all(k in row for rows in sets for row in rows)]


def compare(generated: list[dict[str, float]], real: list[dict[str, float]]) -> Comparison:
    """Per feature: mean over each set and the OA of their densities; and the mean OA."""
    if not generated or not real:
        raise ValueError("compare needs pieces in both sets")
    features: dict[str, FeatureComparison] = {}
    for name in _names(generated, real):
        g, r = [row[name] for row in generated], [row[name] for row in real]
        features[name] = {
            "generated": float(np.mean(g)),
            "real": float(np.mean(r)),
            "oa": overlap_area(g, r),
        }
    oa_mean = float(np.mean([f["oa"] for f in features.values()])) if features else math.nan
    return {"features": features, "oa_mean": oa_mean}


# ----------------------------------------------------------------------------- classifier


def _fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 30) -> np.ndarray:
    """Weights (bias last) of an L2-regularised logistic regression, by Newton's method."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    penalty = np.full(xb.shape[1], l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -30, 30)))
        gradient = xb.T @ (p - y) + penalty * w
        hessian = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(penalty) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def _stratified_folds(y: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """A fold number for each row, each class dealt round-robin over the folds after a shuffle."""
    fold = np.empty(len(y), dtype=np.int64)
    for label in (0, 1):
        rows = rng.permutation(np.flatnonzero(y == label))
        fold[rows] = np.arange(len(rows)) % folds
    return fold


def classifier_accuracy(
    generated: list[dict[str, float]],
    real: list[dict[str, float]],
    *,
    folds: int = 5,
    seed: int = 0,
) -> float:
    """Cross-validated accuracy of a logistic regression telling generated from real pieces.

    The larger set is subsampled to the smaller's size, so chance is 0.5. Features are
    standardised with the training folds' mean and spread only.
    """
    rng = np.random.default_rng(seed)
    size = min(len(generated), len(real))
    folds = min(folds, size)
    if folds < 2:
        raise ValueError("classifier_accuracy needs at least 2 pieces in each set")
    names = _names(generated, real)
    sets = [
        [rows[i] for i in rng.choice(len(rows), size, replace=False)] for rows in (real, generated)
    ]
    x = np.nan_to_num(np.array([[row[n] for n in names] for rows in sets for row in rows]))
    y = np.repeat([0.0, 1.0], size)
    fold = _stratified_folds(y, folds, rng)
    correct = 0
    for k in range(folds):
        train, test = fold != k, fold == k
        mean, spread = x[train].mean(axis=0), x[train].std(axis=0)
        spread[spread < 1e-12] = 1.0
        w = _fit_logistic((x[train] - mean) / spread, y[train])
        xt = (x[test] - mean) / spread
        predicted = (xt @ w[:-1] + w[-1]) > 0
        correct += int((predicted == (y[test] == 1)).sum())
    return correct / len(y)


def real_vs_real(real: list[dict[str, float]], seed: int = 0) -> RealVsReal:
    """``compare`` and ``classifier_accuracy`` between two random halves of a real set."""
    order = np.random.default_rng(seed).permutation(len(real))
    half = len(real) // 2
    a = [real[i] for i in order[:half]]
    b = [real[i] for i in order[half : 2 * half]]
    comparison = compare(a, b)
    return {**comparison, "classifier_accuracy": classifier_accuracy(a, b, seed=seed)}
