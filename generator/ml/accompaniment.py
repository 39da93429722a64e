"""Songs on an accompanied piece keep its texture: a tune over chords.

Much real music is a melody over a chordal accompaniment (the Nottingham dance tunes: a tune
and a piano's chords; a pop song's piano), but the styles the model learned are one line or
independent voices. So for a model piece with an accompaniment (``split_accompanied``), the
model reads and writes the tune alone, and ``accompany`` adds the chords afterwards, as a
folk accompanist would: at the piece's own chord rhythm (the onsets of its accompaniment in a
bar), in its register and with as many notes a chord (a seventh with all four), from the
piece's own chords (its sevenths and borrowed chords too; the key's triads when it has too
few). The chords hold the tune's notes over their spans without rubbing against them, as in
rule-based harmonisation (Temperley 2001, "The Cognition of Basic Musical Structures", ch. 6:
chords chosen by the melody notes they hold), and move from one to the next as the piece
moves (its chord-to-chord counts; a path drawn from a hidden-Markov harmoniser, as in Simon
et al. 2008, "MySong") rather than span by span; the tonic is last.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from itertools import pairwise
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
CHORD_PRIOR = 0.3  # the prior of the piece's commonest chord (others: by their share of it)
MAX_CHORDS = 12  # the piece's commonest chords kept, each heard at least twice
MAX_SIZE = 4  # notes a chord at most
MOVE_SMOOTHING = 0.5  # added to every move's count: a move the piece never makes stays possible
MOVE_WEIGHT = 0.3  # of a move's log-probability against a chord's fit to the tune
# Scores' scale when a progression is drawn: chosen on the unseen sets' validation primers from
# 2, 4, 10 and the likeliest path (Nottingham OA / classifier 0.841 / 0.708, 0.848 / 0.646,
# 0.847 / 0.677, 0.839 / 0.677; POP909 0.811 / 0.833, 0.805 / 0.823, 0.784 / 0.844,
# 0.782 / 0.823)
SHARPNESS = 4.0
Chord = tuple[int, ...]  # pitch classes, its bass first
Heard = tuple[Counter[int], int]  # ticks the tune sounds each pitch class over a span; its length


@dataclass(frozen=True)
class Accompaniment:
    """How a piece accompanies its tune."""

    program: int  # GM program of the accompaniment
    pattern: tuple[float, ...]  # chord onsets in a bar, in beats (quarter notes) from its start
    size: int  # notes a chord
    low: int  # MIDI pitch around which a chord's lowest note lies
    chords: tuple[Chord, ...] = ()  # the piece's chords, commonest first ((): the key's triads)
    shares: tuple[float, ...] = ()  # each chord's share of the piece's chord spans
    moves: tuple[tuple[float, ...], ...] = ()  # P(next chord | chord), rows as ``chords``
    basses: tuple[int, ...] = ()  # per pitch class, the pitch the piece's bass plays it at
    # most (-1: never; (): every bass near ``low``)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Accompaniment | None:
        """The accompaniment stored with a song's settings (None: none, or not readable; one
        stored before songs had the piece's chords gets the key's triads, one stored before
        they had its moves chooses each chord on its own span)."""
        if not isinstance(data, dict):
            return None
        try:
            chords = tuple(tuple(int(pc) % 12 for pc in c) for c in data.get("chords") or ())
            shares = tuple(float(x) for x in data.get("shares") or ())
            moves = tuple(tuple(float(x) for x in row) for row in data.get("moves") or ())
            known = len(chords) == len(shares) and all(x > 0 for x in shares)
            square = known and len(moves) == len(chords)
            # each row a distribution over the chords, every move possible (log-probabilities)
            square = square and all(len(r) == len(chords) and min(r) > 0 for r in moves)
            basses = tuple(int(x) for x in data.get("basses") or ())
            return cls(
                int(data["program"]),
                tuple(float(x) for x in data["pattern"]),
                int(data["size"]),
                int(data["low"]),
                chords if known else (),
                shares if known else (),
                moves if square else (),
                basses if len(basses) == 12 else (),
            )
        except (KeyError, TypeError, ValueError):
            return None


def split_accompanied(score: symusic.Score) -> tuple[symusic.Score, Accompaniment | None]:
    """The piece's tune (its busiest track that is one line) and how it is accompanied, when
    another track plays chords (block or broken); else the score itself and None."""
    tpq = score.ticks_per_quarter
    tracks = [t for t in score.tracks if not t.is_drum and len(t.notes)]
    sounding = {id(t): _sounding(t, tpq) for t in tracks}
    share = {id(t): _chord_share(sounding[id(t)]) for t in tracks}
    chordal = [t for t in tracks if share[id(t)] >= CHORDAL]
    lines = [t for t in tracks if share[id(t)] < CHORDAL]
    if not chordal or not lines:
        return score, None
    tune = max(lines, key=lambda t: len(t.notes))
    chords = max(chordal, key=lambda t: len(t.notes))
    accompaniment = _describe(chords, sounding[id(chords)], score)
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


def _chord_share(sounding: dict[int, list[int]]) -> float:
    """The share of a track's onsets (``_sounding``) at which two or more of its notes sound."""
    return sum(1 for p in sounding.values() if len(p) >= 2) / max(1, len(sounding))


def _describe(
    track: symusic.Track, sounding: dict[int, list[int]], score: symusic.Score
) -> Accompaniment | None:
    """The accompaniment (``track``, its pitches ``sounding`` at each onset): its chord rhythm
    (the bar offsets of its bass notes, the onsets where its lowest sounding note begins, that
    come in half its bars or more), notes a chord (the median sounding at its onsets), register
    (its bass notes' median) and chords (``_vocabulary``); None when it has no steady rhythm."""
    tpq = score.ticks_per_quarter
    bar = bar_ticks(score, tpq)
    starts: dict[int, list[int]] = {}
    for note in track.notes:
        starts.setdefault(int(note.time), []).append(int(note.pitch))
    bass = {t: min(p) for t, p in sounding.items() if min(starts[t]) == min(p)}
    first = min(bass) // bar
    window = [t for t in bass if t // bar < first + PATTERN_BARS]
    offsets = Counter(t % bar for t in window)
    bars = len({t // bar for t in window})
    pattern = sorted(o for o, n in offsets.items() if n * 2 >= bars)
    if not pattern:
        return None
    played = _vocabulary(starts, sounding, sorted(bass), bar)
    chords = Counter(played)
    kept = [(c, n) for c, n in chords.most_common(MAX_CHORDS) if n >= 2]
    if len(kept) < 2:  # too few to choose from: the key's triads
        kept = []
    total = sum(chords.values())
    return Accompaniment(
        program=int(track.program),
        pattern=tuple(o / tpq for o in pattern),
        size=max(2, min(MAX_SIZE, round(median(len(p) for p in sounding.values())))),
        low=round(median(bass.values())),
        chords=tuple(c for c, _ in kept),
        shares=tuple(n / total for _, n in kept),
        moves=_moves(played, [c for c, _ in kept]),
        basses=_basses(bass.values()),
    )


def _basses(pitches: Iterable[int]) -> tuple[int, ...]:
    """Per pitch class, the pitch the bass plays it at most often (-1: never)."""
    heard: dict[int, Counter[int]] = {}
    for pitch in pitches:
        heard.setdefault(pitch % 12, Counter())[pitch] += 1
    return tuple(heard[pc].most_common(1)[0][0] if pc in heard else -1 for pc in range(12))


def _moves(played: list[Chord], kept: list[Chord]) -> tuple[tuple[float, ...], ...]:
    """How the piece moves between its ``kept`` chords: P(next | chord), from the chords it
    plays one after another (each move seen adds one, every move ``MOVE_SMOOTHING``)."""
    index = {c: i for i, c in enumerate(kept)}
    counts = [[MOVE_SMOOTHING] * len(kept) for _ in kept]
    for a, b in pairwise(played):
        if a in index and b in index:
            counts[index[a]][index[b]] += 1
    return tuple(tuple(n / sum(row) for n in row) for row in counts)


def _vocabulary(
    starts: dict[int, list[int]],
    sounding: dict[int, list[int]],
    bass_onsets: list[int],
    bar: int,
) -> list[Chord]:
    """The chords the accompaniment plays, in order: over each span from a bass onset to the
    next (a bar at most), the pitch classes sounding at its start or begun in it (a broken
    chord's too), two or more, its bass first."""
    onsets = sorted(starts)
    chords: list[Chord] = []
    for i, start in enumerate(bass_onsets):
        stop = min(bass_onsets[i + 1] if i + 1 < len(bass_onsets) else start + bar, start + bar)
        pitches = set(sounding[start])
        for t in onsets[bisect_left(onsets, start) : bisect_left(onsets, stop)]:
            pitches.update(starts[t])
        low = min(sounding[start])
        above = sorted({p % 12 for p in pitches} - {low % 12})
        if above:
            chords.append((low % 12, *above))
    return chords


def accompany(
    score: symusic.Score, key: str | None, acc: Accompaniment, seed: int | None = 0
) -> symusic.Score:
    """``score`` with one more track: chords in ``acc``'s rhythm, register and size, from the
    tune's first note on (after a pickup, from the next bar line), the tonic's last: the
    piece's chords as they move (``_progression``, drawn with ``seed``), else each the one of
    ``_choices`` that best fits the notes over its span (``_best_chord``); the score unchanged
    without a key it can read."""
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
    tune = [n for t in score.tracks for n in t.notes]
    first = min(n.time for n in tune)  # the chords come in with the tune, past a pickup
    entry = -(-first // bar) * bar  # on the first bar line at or after its first note
    onsets = sorted(
        {b * bar + round(beat * tpq) for b in range(bars) for beat in acc.pattern} | {entry}
    )
    onsets = [t for t in onsets if first <= t < end]
    choices = _choices(acc, tonic, mode)
    home = _triad(tonic, 0, mode)
    last = max((c for c in choices if c[0] == tonic), key=lambda c: choices[c], default=home)
    spans = list(pairwise([*onsets, end]))
    heard = [_heard(tune, a, b) for a, b in spans]
    progression: list[Chord] = []  # no chord onset under the tune: an empty track
    if heard and acc.moves:
        progression = _progression(heard, acc, last, random.Random(seed))
    elif heard:
        progression = [_best_chord(h, choices) for h in heard[:-1]] + [last]
    track = symusic.Track(name="Accompaniment", program=acc.program, is_drum=False)
    for (start, stop), chord in zip(spans, progression, strict=True):
        for pitch in _voicing(chord, acc):
            track.notes.append(symusic.Note(start, stop - start, pitch, VELOCITY))
    out = score.copy()
    out.tracks.append(track)
    return out


def _choices(acc: Accompaniment, tonic: int, mode: str) -> dict[Chord, float]:
    """The chords a song may play, each with its prior: the piece's own, else the diatonic
    triads of the key (``tonic``, ``mode``)."""
    if acc.chords:
        top = acc.shares[0]
        return {c: CHORD_PRIOR * s / top for c, s in zip(acc.chords, acc.shares, strict=True)}
    triads = MAJOR_TRIADS if mode == "major" else MINOR_TRIADS
    return {_triad(tonic, degree, mode): prior for degree, prior in triads.items()}


def _triad(tonic: int, degree: int, mode: str) -> Chord:
    """The diatonic triad on ``degree`` (semitones above ``tonic``; the dominant is major in
    minor too), root first."""
    major = degree in ((0, 5, 7) if mode == "major" else (3, 7, 8, 10))
    root = (tonic + degree) % 12
    return root, (root + (4 if major else 3)) % 12, (root + 7) % 12


def _progression(
    heard: list[Heard], acc: Accompaniment, last: Chord, rng: random.Random
) -> list[Chord]:
    """The piece's chords over the spans the tune was ``heard`` in (one or more), ending on
    ``last``: a hidden-Markov harmoniser's (Simon et al. 2008, "MySong"), whose chords hold
    the tune (``_fit``) as the piece moves between them (``acc.moves``, weighed by
    ``MOVE_WEIGHT``). The path is drawn from its posterior (forward filtering, backward
    sampling; every score times ``SHARPNESS``), not taken as the likeliest one: the likeliest
    sits on the commonest chord. A ``last`` the piece never plays is reached from any chord
    alike."""
    chords = list(acc.chords)
    n = len(chords)
    moves = [[SHARPNESS * MOVE_WEIGHT * math.log(p) for p in row] for row in acc.moves]
    first = zip(acc.shares, chords, strict=True)
    alphas = [[SHARPNESS * (MOVE_WEIGHT * math.log(s) + _fit(heard[0], c)) for s, c in first]]
    for span in heard[1:-1]:
        before = alphas[-1]
        alphas.append(
            [
                _logsumexp([before[i] + moves[i][j] for i in range(n)])
                + SHARPNESS * _fit(span, chord)
                for j, chord in enumerate(chords)
            ]
        )
    into = chords.index(last) if last in chords else None
    path = [
        _draw(
            [a + (moves[i][into] if into is not None else 0.0) for i, a in enumerate(alphas[-1])],
            rng,
        )
    ]
    for alpha in reversed(alphas[:-1]):
        path.append(_draw([alpha[i] + moves[i][path[-1]] for i in range(n)], rng))
    ordered = [chords[i] for i in reversed(path)]
    return [*ordered, last][-len(heard) :]


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _draw(logits: list[float], rng: random.Random) -> int:
    """An index drawn with odds ``exp(logits)``."""
    top = max(logits)
    return rng.choices(range(len(logits)), weights=[math.exp(v - top) for v in logits])[0]


def _best_chord(heard: Heard, choices: dict[Chord, float]) -> Chord:
    """The chord whose tones the tune's notes over a span fill longest, less the time they
    sound a semitone from one of its tones (``_fit``), plus its prior."""
    return max(choices, key=lambda chord: _fit(heard, chord) + choices[chord])


def _heard(tune, start: int, stop: int) -> Heard:
    """What the tune sounds over [start, stop): ticks per pitch class, and the span's length."""
    weight: Counter[int] = Counter()
    for note in tune:
        overlap = min(note.end, stop) - max(note.time, start)
        if overlap > 0:
            weight[note.pitch % 12] += overlap
    return weight, max(1, stop - start)


def _fit(heard: Heard, chord: Chord) -> float:
    """How well ``chord`` holds the tune over a span it was ``heard`` in: the share of the span
    its tones are sounded, less the share a tune note sounds a semitone from one of them."""
    weight, span = heard
    tones = set(chord)
    held = sum(w for pc, w in weight.items() if pc in tones)
    rubs = sum(
        w
        for pc, w in weight.items()
        if pc not in tones and ((pc + 1) % 12 in tones or (pc - 1) % 12 in tones)
    )
    return (held - rubs) / span


def _voicing(chord: Chord, acc: Accompaniment) -> list[int]:
    """The chord (pitch classes, bass first) in close position above its bass (where the
    piece's bass plays that note most, else the nearest such pitch to ``acc.low``), in
    ``acc.size`` notes, or, when that is three or more, in all its tones (four at most) when it
    has more (a seventh over three-note triads, as the Nottingham pianos play it): the fifth
    is left out first, and the bass doubled an octave up when the chord has too few notes
    (two: bass and fifth)."""
    if acc.basses and acc.basses[chord[0]] >= 0:
        base = acc.basses[chord[0]]
    else:
        base = acc.low + ((chord[0] - acc.low) % 12)
        if base - acc.low > 6:
            base -= 12
    above = sorted({(pc - chord[0]) % 12 for pc in chord} - {0})
    size = max(acc.size, min(len(chord), MAX_SIZE)) if acc.size >= 3 else acc.size
    if size == 2:
        picked = [7] if 7 in above else above[:1]
    else:
        picked = sorted(([i for i in above if i != 7] + [i for i in above if i == 7])[: size - 1])
        picked += [12] * (len(picked) < size - 1)
    return [p for p in [base, *(base + i for i in picked)] if 0 <= p <= 127]
