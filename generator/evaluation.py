"""How close written songs are to held-out real music of their style (``manage.py
evaluate_generator --songs``): per-feature means and overlapping areas, a real-vs-generated
classifier's accuracy, and the same figures for two halves of the real set as the anchor
(``generator.ml.measures``, after Yang & Lerch 2020).

The real set is a folder of MIDI files (one style), or the published catalog's pieces whose
identity falls in the validation split (``split_by_identity``; the test split is never read),
grouped by their style.

``promotion_gate`` decides whether a fine-tuned generator replaces its parent: validation NLL no
worse, and the OA mean of 48 songs of 12 s each writes no worse than the parent's, within
``OA_TOLERANCE``.
"""

from __future__ import annotations

import json
import logging
import math
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import miditok
import symusic
from torch import nn

from generator.ml.compose import compose, spec_from_file
from generator.ml.data import split_by_identity
from generator.ml.measures import (
    classifier_accuracy,
    compare,
    features_of_files,
    piece_features,
    real_vs_real,
)
from generator.ml.tokenizer import find_midi_files

logger = logging.getLogger(__name__)
Features = dict[str, float]
MANIFEST = "manifest.json"
MIN_SONGS = 10  # a style is reported on its own from this many songs
MIN_REAL = 4  # two halves of two pieces each, the least the anchor needs
VAL_FRACTION = TEST_FRACTION = 0.1  # the training split's (train_generator's defaults)
QUALITY_SONGS = 48  # songs each model writes for the promotion gate (about 6 s on one CPU)
QUALITY_SECONDS = 12.0  # their length
# How far the candidate's OA mean may fall below its parent's and still be promoted. Measured on
# the demo checkpoint against a short fine-tune of it (54 held-out pieces, 5 seed sets), the
# difference between the two varies by a standard deviation of 0.065 with 6 songs, 0.028 with
# 24 and 0.016 with 48: at 48 songs 0.02 holds back a candidate of equal quality about one time
# in ten, and catches a real fall of 0.05 nearly always.
OA_TOLERANCE = 0.02


class EvaluationError(ValueError):
    """Sets the measures cannot be computed on, in words."""


def songs_features(folder: Path) -> dict[str | None, list[Features]]:
    """Features of the songs ``generate_songs`` wrote to ``folder``, by the style each was
    written in (songs without pitched notes are left out, and logged)."""
    manifest = Path(folder) / MANIFEST
    if not manifest.is_file():
        raise EvaluationError(f"no {MANIFEST} in {folder} (write the songs with generate_songs)")
    by_style: dict[str | None, list[Features]] = defaultdict(list)
    for entry in json.loads(manifest.read_text()):
        path = Path(folder) / entry["file"]
        try:
            features = piece_features(symusic.Score(str(path)))
        except (RuntimeError, ValueError, OSError) as exc:
            raise EvaluationError(f"cannot read song {path}: {exc}") from exc
        if features is None:
            logger.warning("song %s has no pitched notes; left out", path.name)
            continue
        by_style[entry.get("style")].append(features)
    return dict(by_style)


def songs_seconds(folder: Path) -> float | None:
    """The median length of the songs in ``folder``'s manifest (None when none says)."""
    manifest = Path(folder) / MANIFEST
    if not manifest.is_file():
        return None
    lengths = [e["seconds"] for e in json.loads(manifest.read_text()) if e.get("seconds")]
    return float(statistics.median(lengths)) if lengths else None


def folder_features(folder: Path, seconds: float | None = None) -> list[Features]:
    """Features of every readable MIDI file with pitched notes under ``folder`` (of their
    first ``seconds`` seconds when given)."""
    try:
        return features_of_files(find_midi_files([folder]), seconds)
    except FileNotFoundError as exc:
        raise EvaluationError(str(exc)) from exc


def validation_features(
    pieces: list[tuple[Path, str | None, str]], seconds: float | None = None
) -> dict[str, list[Features]]:
    """Features of the (path, style, identity) pieces in the validation split, by style (of
    their first ``seconds`` seconds when given)."""
    val = split_by_identity(
        [ident for _, _, ident in pieces], val_fraction=VAL_FRACTION, test_fraction=TEST_FRACTION
    )["val"]
    paths: dict[str, list[Path]] = defaultdict(list)
    for i in val:
        path, style, _ = pieces[i]
        paths[style or ""].append(path)
    return {style: features_of_files(files, seconds) for style, files in sorted(paths.items())}


def catalog_validation_features(seconds: float | None = None) -> dict[str, list[Features]]:
    """The published catalog's validation-split pieces' features, by style (of their first
    ``seconds`` seconds when given)."""
    from generator.selectors import catalog_pieces  # the database, only when asked for

    return validation_features([(p.path, p.style, p.ident) for p in catalog_pieces()], seconds)


def measure(generated: list[Features], real: list[Features]) -> dict[str, Any]:
    """Means, OAs, their mean and the classifier's accuracy, with the real-vs-real anchor."""
    if len(generated) < 2 or len(real) < MIN_REAL:
        raise EvaluationError(
            f"need at least 2 songs and {MIN_REAL} real pieces, got {len(generated)} and "
            f"{len(real)}"
        )
    comparison = compare(generated, real)
    anchor = real_vs_real(real)
    features = {
        name: {**row, "oa_real": anchor["features"][name]["oa"]}
        for name, row in comparison["features"].items()
    }
    return {
        "songs": len(generated),
        "real_pieces": len(real),
        "features": features,
        "oa_mean": comparison["oa_mean"],
        "classifier_accuracy": classifier_accuracy(generated, real),
        "oa_mean_real": anchor["oa_mean"],
        "classifier_accuracy_real": anchor["classifier_accuracy"],
    }


def evaluate_songs(
    songs: dict[str | None, list[Features]], real: dict[str, list[Features]] | list[Features]
) -> dict[str, Any]:
    """The report: overall (every song against the real pieces of the songs' styles, drawn in
    the songs' mix of styles by ``same_mix``, or the one real folder), and per style with at
    least ``MIN_SONGS`` songs and ``MIN_REAL`` real pieces (all of that style's pieces). Its
    top level is the overall figures plus ``styles``."""
    everything = [f for rows in songs.values() for f in rows]
    if isinstance(real, list):
        report = measure(everything, real)
        report["styles"] = {}
        return report
    matched = {style: rows for style, rows in songs.items() if style in real}
    if not matched:
        raise EvaluationError(
            f"no held-out real pieces of the songs' styles ({', '.join(map(str, songs))})"
        )
    report = measure(
        [f for rows in matched.values() for f in rows],
        same_mix({str(style): len(rows) for style, rows in matched.items()}, real),
    )
    report["songs_without_real"] = len(everything) - report["songs"]
    report["styles"] = {
        style: measure(rows, real[style])
        for style, rows in sorted(songs.items(), key=lambda kv: str(kv[0]))
        if style is not None and len(rows) >= MIN_SONGS and len(real.get(style, [])) >= MIN_REAL
    }
    return report


def same_mix(songs_per_style: dict[str, int], real: dict[str, list[Features]]) -> list[Features]:
    """Real pieces in the songs' mix of styles: of each style, its share of the songs times as
    many pieces as the scarcest style allows (the first ones, in the order given). Without
    this, 48 songs of each of four styles would be read against whatever mix the real set has
    (10 chorales in 200 pieces), and the overall figures would measure the mix, not the music."""
    scale = min(len(real[style]) / count for style, count in songs_per_style.items())
    return [
        f
        for style, count in songs_per_style.items()
        for f in real[style][: max(1, math.floor(count * scale + 1e-9))]
    ]


def format_report(report: dict[str, Any]) -> str:
    """The report as text: a table per section (feature, generated, real, OA, OA real-real)."""
    sections = [("all songs", report), *report.get("styles", {}).items()]
    lines = []
    for title, figures in sections:
        lines.append(
            f"{title}: {figures['songs']} songs against {figures['real_pieces']} real pieces"
        )
        lines += feature_table(figures)
        lines.append(
            f"  OA mean {figures['oa_mean']:.3f} (real vs real {figures['oa_mean_real']:.3f}); "
            f"classifier accuracy {figures['classifier_accuracy']:.3f} "
            f"(real vs real {figures['classifier_accuracy_real']:.3f}; 0.5 = cannot tell)"
        )
    return "\n".join(lines)


def feature_table(figures: dict[str, Any]) -> list[str]:
    """A report section's features as text lines: a header, then per feature the generated
    and real means, their OA and the real-vs-real OA."""
    lines = [f"  {'feature':22s} {'generated':>10s} {'real':>10s} {'OA':>6s} {'OA r-r':>7s}"]
    for name, row in figures["features"].items():
        lines.append(
            f"  {name:22s} {row['generated']:10.3f} {row['real']:10.3f} "
            f"{row['oa']:6.3f} {row['oa_real']:7.3f}"
        )
    return lines


def quality_oa(
    model: nn.Module,
    tokenizer: miditok.REMI,
    pieces: list[tuple[Path, str | None]],
    *,
    songs: int = QUALITY_SONGS,
    seconds: float = QUALITY_SECONDS,
    seed: int = 0,
) -> float:
    """OA mean of ``songs`` short songs the model writes (seeds ``seed``, ``seed + 1``, ...; each
    modelled on one of the (path, style) ``pieces`` in turn: its style, key, tempo and metre,
    not its notes) against those pieces' features; NaN when either set has no pitched notes."""
    real = features_of_files(path for path, _ in pieces)
    written = []
    for i in range(songs):
        path, style = pieces[i % len(pieces)]
        spec = spec_from_file(
            tokenizer,
            path,
            seconds=seconds,
            seed=seed + i,
            temperature=1.0,
            style=style,
            opening_bars=0,
        )
        features = piece_features(compose(model, tokenizer, spec).score)
        if features is not None:
            written.append(features)
    if not written or not real:
        return math.nan
    return compare(written, real)["oa_mean"]


@dataclass(frozen=True)
class GateResult:
    """A candidate's figures beside its parent's, and whether it replaces the parent."""

    val_nll: float
    parent_val_nll: float
    oa_mean: float | None  # None: could not be measured (no pitched notes)
    parent_oa_mean: float | None
    oa_tolerance: float
    nll_ok: bool
    oa_ok: bool

    @property
    def promoted(self) -> bool:
        return self.nll_ok and self.oa_ok

    def metrics(self) -> dict[str, Any]:
        return asdict(self) | {"promoted": self.promoted}

    def summary(self) -> str:
        """The figures in words (the version's notes)."""

        def oa(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.3f}"

        return (
            f"validation NLL {self.parent_val_nll:.4f} → {self.val_nll:.4f}; "
            f"music-quality OA mean {oa(self.parent_oa_mean)} → {oa(self.oa_mean)} "
            f"(tolerance {self.oa_tolerance}) "
            f"({'promoted' if self.promoted else 'not promoted'})"
        )


def promotion_gate(
    *,
    parent: nn.Module,
    candidate: nn.Module,
    tokenizer: miditok.REMI,
    val_pieces: list[tuple[Path, str | None]],
    parent_val_nll: float,
    val_nll: float,
    trained: bool = True,
) -> GateResult:
    """Whether ``candidate`` replaces ``parent``: it was ``trained`` (kept weights of its own),
    its validation NLL is no worse, and its ``quality_oa`` on the validation pieces is at least
    the parent's minus ``OA_TOLERANCE`` (both write from the same seeds and specs). A parent
    whose OA cannot be measured does not hold a candidate back; a candidate's does."""
    parent_oa = _finite(quality_oa(parent, tokenizer, val_pieces))
    candidate_oa = _finite(quality_oa(candidate, tokenizer, val_pieces))
    oa_ok = candidate_oa is not None and (
        parent_oa is None or candidate_oa >= parent_oa - OA_TOLERANCE
    )
    return GateResult(
        val_nll=val_nll,
        parent_val_nll=parent_val_nll,
        oa_mean=candidate_oa,
        parent_oa_mean=parent_oa,
        oa_tolerance=OA_TOLERANCE,
        nll_ok=trained and val_nll <= parent_val_nll,
        oa_ok=oa_ok,
    )


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value
