"""Songs on an accompanied piece keep its texture: a tune over chords.

Much real music is a melody over a chordal accompaniment (the Nottingham dance tunes: a tune
and a piano's chords; a pop song's piano), but the styles the model learned are one line or
independent voices. So for a model piece with an accompaniment (``split_accompanied``), the
model reads and writes the tune alone, and ``accompany`` adds the chords afterwards, as a
folk accompanist would: at the piece's own chord rhythm (the onsets of its accompaniment in a
bar), in its register and with as many notes a chord, each chord the key's triad that best
holds the tune's notes over its span (tonic and dominant slightly preferred; the tonic last),
as in simple rule-based harmonisation (e.g. Temperley 2001, "The Cognition of Basic Musical
Structures", ch. 6: chords chosen by the melody notes they hold).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from statistics import median
from typing import Any

import symusic

from generator.ml.constraints import parse_key
from generator.ml.form import bar_ticks

CHORDAL = 0.5  # a track is an accompaniment when 2+ of its notes sound at this share of its
# onsets (Nottingham's chords: all; POP909's broken-chord piano: 0.8-0.95; its tunes: 0.0-0.3)
PATTERN_BARS = 8  # the chord rhythm is read over the accompaniment's first bars
VELOCITY = 64  # under the tune's
MAJOR_TRIADS = {0: 0.3, 2: 0.0, 4: 0.0, 5: 0.2, 7: 0.2, 9: 0.1}  # degree root: prior
MINOR_TRIADS = {0: 0.3, 3: 0.0, 5: 0.2, 7: 0.2, 8: 0.1, 10: 0.0}


@dataclass(frozen=True)
class Accompaniment:
    """How a piece accompanies its tune."""

    program: int  # GM program of the accompaniment
    pattern: tuple[float, ...]  # chord onsets in a bar, in beats (quarter notes) from its start
    size: int  # notes a chord
    low: int  # MIDI pitch around which a chord's lowest note lies

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Accompaniment | None:
        """The accompaniment stored with a song's settings (None: none, or not readable)."""
        try:
            return cls(
                int(data["program"]),  # type: ignore[index]
                tuple(float(x) for x in data["pattern"]),  # type: ignore[index]
                int(data["size"]),  # type: ignore[index]
                int(data["low"]),  # type: ignore[index]
            )
        except (KeyError, TypeError, ValueError):
            return None


def split_accompanied(score: symusic.Score) -> tuple[symusic.Score, Accompaniment | None]:
    """The piece's tune (its busiest track that is one line) and how it is accompanied, when
    another track plays chords (block or broken); else the score itself and None."""
    tpq = score.ticks_per_quarter
    tracks = [t for t in score.tracks if not t.is_drum and len(t.notes)]
    share = {id(t): _chord_share(t, tpq) for t in tracks}
    chordal = [t for t in tracks if share[id(t)] >= CHORDAL]
    lines = [t for t in tracks if share[id(t)] < CHORDAL]
    if not chordal or not lines:
        return score, None
    tune = max(lines, key=lambda t: len(t.notes))
    accompaniment = _describe(max(chordal, key=lambda t: len(t.notes)), score)
    if accompaniment is None:
        return score, None
    melody = symusic.Score(tpq)
    melody.tempos = score.tempos.copy()
    melody.time_signatures = score.time_signatures.copy()
    melody.key_signatures = score.key_signatures.copy()
    melody.tracks.append(tune.copy())
    return melody, accompaniment


def _sounding(track: symusic.Track, tpq: int) -> dict[int, list[int]]:
    """The pitches of the track sounding at each of its onsets (a note sounds at ``t`` when it
    began by ``t`` and lasts more than a 32nd past it: a legato overlap does not count)."""
    notes = sorted(track.notes, key=lambda n: n.time)
    slack = max(1, tpq // 8)
    out: dict[int, list[int]] = {}
    started, active = 0, []  # a sweep over the onsets: the notes begun and not yet ended
    for t in sorted({int(n.time) for n in notes}):
        while started < len(notes) and notes[started].time <= t:
            active.append(notes[started])
            started += 1
        active = [n for n in active if t < n.end - slack or n.time == t]
        out[t] = [int(n.pitch) for n in active]
    return out


def _chord_share(track: symusic.Track, tpq: int) -> float:
    """The share of the track's onsets at which two or more of its notes sound."""
    sounding = _sounding(track, tpq)
    return sum(1 for p in sounding.values() if len(p) >= 2) / max(1, len(sounding))


def _describe(track: symusic.Track, score: symusic.Score) -> Accompaniment | None:
    """The accompaniment's chord rhythm (the bar offsets of its bass notes, the onsets where
    its lowest sounding note begins, that come in half its bars or more), notes a chord (the
    median sounding at its onsets) and register (its bass notes' median); None when it has no
    steady rhythm."""
    tpq = score.ticks_per_quarter
    bar = bar_ticks(score, tpq)
    starts: dict[int, list[int]] = {}
    for note in track.notes:
        starts.setdefault(int(note.time), []).append(int(note.pitch))
    sounding = _sounding(track, tpq)
    bass = {t: min(p) for t, p in sounding.items() if min(starts[t]) == min(p)}
    first = min(bass) // bar
    window = [t for t in bass if t // bar < first + PATTERN_BARS]
    offsets = Counter(t % bar for t in window)
    bars = len({t // bar for t in window})
    pattern = sorted(o for o, n in offsets.items() if n * 2 >= bars)
    if not pattern:
        return None
    return Accompaniment(
        program=int(track.program),
        pattern=tuple(o / tpq for o in pattern),
        size=max(2, min(4, round(median(len(p) for p in sounding.values())))),
        low=round(median(bass.values())),
    )


def accompany(score: symusic.Score, key: str | None, acc: Accompaniment) -> symusic.Score:
    """``score`` with one more track: chords in ``acc``'s rhythm, register and size, each the
    triad of ``key`` that best holds the notes sounding over its span (the tonic's for the last
    chord); the score unchanged without a key it can read."""
    try:
        tonic, mode = parse_key(key or "")
    except ValueError:
        return score
    if not score.note_num():
        return score
    tpq = score.ticks_per_quarter
    bar = bar_ticks(score, tpq)
    end = max(n.end for t in score.tracks for n in t.notes)
    bars = -(-end // bar)
    onsets = sorted(
        {b * bar + round(beat * tpq) for b in range(bars) for beat in acc.pattern} | {0}
    )
    onsets = [t for t in onsets if t < end]
    tune = [n for t in score.tracks for n in t.notes]
    triads = MAJOR_TRIADS if mode == "major" else MINOR_TRIADS
    track = symusic.Track(name="Accompaniment", program=acc.program, is_drum=False)
    for i, start in enumerate(onsets):
        stop = onsets[i + 1] if i + 1 < len(onsets) else end
        root = tonic if i == len(onsets) - 1 else _best_root(tune, start, stop, tonic, mode, triads)
        for pitch in _voicing(root, _quality(root, tonic, mode), acc):
            track.notes.append(symusic.Note(start, stop - start, pitch, VELOCITY))
    out = score.copy()
    out.tracks.append(track)
    return out


def _triad(root: int, quality: str) -> tuple[int, int, int]:
    third = 4 if quality == "major" else 3
    return root % 12, (root + third) % 12, (root + 7) % 12


def _quality(root: int, tonic: int, mode: str) -> str:
    """The quality of the diatonic triad on ``root`` (the dominant is major in minor too)."""
    degree = (root - tonic) % 12
    if mode == "major":
        return "major" if degree in (0, 5, 7) else "minor"
    return "major" if degree in (3, 7, 8, 10) else "minor"


def _best_root(tune, start: int, stop: int, tonic: int, mode: str, triads: dict) -> int:
    """The diatonic triad root whose tones the tune's notes over [start, stop) fill longest."""
    weight: Counter = Counter()
    for note in tune:
        overlap = min(note.end, stop) - max(note.time, start)
        if overlap > 0:
            weight[note.pitch % 12] += overlap
    span = max(1, stop - start)

    def score(degree: int) -> float:
        root = (tonic + degree) % 12
        tones = _triad(root, _quality(root, tonic, mode))
        return sum(weight[pc] for pc in tones) / span + triads[degree]

    return (tonic + max(triads, key=score)) % 12


def _voicing(root: int, quality: str, acc: Accompaniment) -> list[int]:
    """The triad in close position, its root the nearest such pitch to ``acc.low``, with the
    root an octave up as a fourth note (and only root and fifth for two)."""
    base = acc.low + ((root - acc.low) % 12)
    if base - acc.low > 6:
        base -= 12
    r, third, fifth = _triad(root, quality)
    up = [base, base + (third - r) % 12, base + (fifth - r) % 12, base + 12]
    picked = {2: [up[0], up[2]], 3: up[:3], 4: up}[acc.size]
    return [p for p in picked if 0 <= p <= 127]
