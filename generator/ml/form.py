"""A form plan for sampled pieces: phrases of 4 or 8 bars in a plan such as A A B A, where a
repeated section re-plays its first occurrence and only its last bar is drawn afresh.

Real tunes repeat and vary whole phrases (the 32-bar AABA song form; binary and rounded-binary
dance tunes, Caplin 1998 "Classical Form"); a small LM with a short context does not, so the
sampler imposes the repetition, in the spirit of structure-guided generation such as Dai et al.
(2021) "Controllable deep melody generation via hierarchical music structure representation".

Rule: phrases are 4 bars, or 8 when the piece has 32 bars or more. The number of phrases is the
length in bars divided by the phrase length, rounded half up, at least one; the last phrase
takes whatever bars are left over (so the piece keeps exactly the bars asked for).

A song modelled on a piece takes that piece's form (``piece_form``): a letter per bar, shared
by bars with alike notes, so a reel's repeated strains (in 4-bar phrases, ABABCDCD), a chorale's
repeated first line (AABC) and a folk song that never repeats (ABCD) each give their own plan.
The song re-plays the bars the piece repeats. Past the end of a piece that ended (one shorter
than ``FORM_BARS``) the form begins again with new material: a new round repeats its own bars
where the piece repeats, so a 30-s song on a 15-s reel stays a reel in shape (re-playing the
piece's own bars instead took the songs' repetition far past real pieces': Essen songs' distinct
interval 4-grams fell from 0.85 to 0.61). The last bar, and every bar past the first
``FORM_BARS`` of a longer piece, are written afresh. Without a piece, the plans are A, AA, ABA,
AABA, AABBA, and from six phrases on a rondo (AABACA, AABACABA, ...) that ends on A.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import symusic

LONG_PIECE_BARS = 32  # from this many bars on, phrases are 8 bars long
_SHORT_PLANS = {1: "A", 2: "AA", 3: "ABA", 4: "AABA", 5: "AABBA"}
_RONDO_EPISODES = "ACAB"  # after "AAB": A C A B A C ... (then the last section becomes A)
FORM_BARS = 64  # a piece's form is read over its first this many bars
# Two bars share a letter when their sets of (onset in the bar, pitch) overlap this much
# (intersection over union). On the corpus's validation pieces, in 4-bar phrases, it letters
# reels ABABCDCD, chorales AABC and Essen songs AB / ABC / ABCD.
SAME_BAR = 0.6
_SYMBOLS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"  # >= FORM_BARS


@dataclass(frozen=True)
class Section:
    letter: str  # "A", "B", ...: sections with one letter share their material
    start: int  # first bar (0-based, in the new material)
    bars: int


@dataclass(frozen=True)
class FormPlan:
    phrase_bars: int
    sections: tuple[Section, ...]
    bar_replays: dict[int, tuple[int, int]] | None = None  # a piece's own repeats (replays)

    @property
    def form(self) -> str:
        """The plan as letters, e.g. ``"AABA"``."""
        return "".join(s.letter for s in self.sections)

    def phrase_ends(self) -> set[int]:
        """The last bar of every section (where a phrase cadences)."""
        return {s.start + s.bars - 1 for s in self.sections}

    def replays(self) -> dict[int, tuple[int, int]]:
        """``{bar: (source bar, count)}``: at ``bar`` re-play ``count`` bars from ``source``.

        A repeated section re-plays its first occurrence but for its own last bar, which is
        sampled (so a second A can end differently); a one-bar section re-plays nothing. A plan
        modelled on a piece re-plays the bars that piece repeats instead (``plan_form``).
        """
        if self.bar_replays is not None:
            return dict(self.bar_replays)
        first: dict[str, Section] = {}
        out: dict[int, tuple[int, int]] = {}
        for s in self.sections:
            src = first.setdefault(s.letter, s)
            count = min(s.bars, src.bars) - 1
            if src is not s and count > 0:
                out[s.start] = (src.start, count)
        return out


def plan_letters(phrases: int) -> str:
    """The section letters for ``phrases`` phrases (see the module docstring)."""
    if phrases < 1:
        raise ValueError("a plan needs at least one phrase")
    if phrases in _SHORT_PLANS:
        return _SHORT_PLANS[phrases]
    tail = "".join(_RONDO_EPISODES[i % len(_RONDO_EPISODES)] for i in range(phrases - 3))
    return "AAB" + tail[:-1] + "A"


def plan_form(bars: int, source: str = "") -> FormPlan:
    """The plan for a piece of ``bars`` bars (a piece shorter than a phrase is one phrase).
    With ``source`` (a piece's bar letters, ``piece_form``) each bar the source repeats
    re-plays that earlier bar (the last bar is always written afresh); past the end of a source
    that ended (shorter than ``FORM_BARS``) its form begins again in a new round (bar ``i`` is
    bar ``i mod len(source)`` of round ``i // len(source)``, re-playing only bars of its own
    round), past a longer one the bars are fresh; a section's letter says which phrases are
    alike. Without ``source``, the rule's plan."""
    if bars < 1:
        raise ValueError("a piece needs at least one bar")
    phrase = 8 if bars >= LONG_PIECE_BARS else 4
    phrases = max(1, (2 * bars + phrase) // (2 * phrase))  # rounded half up
    starts = [i * phrase for i in range(phrases)]
    lengths = [phrase] * (phrases - 1) + [bars - starts[-1]]  # the last takes what is left
    replays = None
    if source:
        song: list[Hashable]  # a name per bar: bars with one name share their material
        if len(source) < FORM_BARS:  # the piece ended: its form again, in rounds of new bars
            song = [(source[i % len(source)], i // len(source)) for i in range(bars)]
        else:  # a longer piece: bars past its first FORM_BARS are fresh
            song = [*source[:bars], *((i,) for i in range(bars - len(source)))]
        letters = _letters([tuple(song[a : a + n]) for a, n in zip(starts, lengths, strict=True)])
        replays = _bar_replays(song[:-1])
    else:
        letters = plan_letters(phrases)
    sections = [Section(*s) for s in zip(letters, starts, lengths, strict=True)]
    return FormPlan(phrase, tuple(sections), replays)


def _bar_replays(letters: Sequence[Hashable]) -> dict[int, tuple[int, int]]:
    """``{bar: (source, count)}`` for bars whose letter came earlier: runs of bars that repeat
    consecutive earlier bars are one replay."""
    first: dict[Hashable, int] = {}
    out: dict[int, tuple[int, int]] = {}
    run: tuple[int, int, int] | None = None  # (bar, source, count) being extended
    for bar, letter in enumerate(letters):
        source = first.setdefault(letter, bar)
        if source == bar:
            run = None
        elif run and run[1] + run[2] == source and run[0] + run[2] == bar:
            run = (run[0], run[1], run[2] + 1)
            out[run[0]] = (run[1], run[2])
        else:
            run = (bar, source, 1)
            out[bar] = (source, 1)
    return out


def _letters(units: Sequence) -> str:
    """A letter per unit, shared by equal units, new letters in order of first appearance."""
    names: dict = {}
    return "".join(names.setdefault(u, _symbol(len(names))) for u in units)


def first_metre(score: symusic.Score) -> tuple[int, int] | None:
    """(numerator, denominator) of the score's first time signature, None when it has none."""
    if not len(score.time_signatures):
        return None
    ts = score.time_signatures[0]
    return int(ts.numerator), int(ts.denominator)


def bar_ticks(score: symusic.Score, tpq: int) -> int:
    """Ticks per bar of the score's first time signature (4/4 when it has none)."""
    num, den = first_metre(score) or (4, 4)
    return num * tpq * 4 // den


def _symbol(n: int) -> str:
    """The ``n``-th letter a form gives out (A, B, ...)."""
    return _SYMBOLS[n % len(_SYMBOLS)]


def piece_form(score: symusic.Score) -> str:
    """A letter per bar of a piece's first ``FORM_BARS`` bars (its pitched notes, the first
    time signature's bars, 4/4 without one): a bar takes the letter of the earlier bar it is
    most like, at least ``SAME_BAR`` alike, else a new one; "" when it has no pitched notes."""
    score = score.to("tick")
    length = max(1, bar_ticks(score, score.ticks_per_quarter))
    bars: list[set[tuple[int, int]]] = [set() for _ in range(FORM_BARS)]
    for track in (t for t in score.tracks if not t.is_drum):
        for note in track.notes:
            if int(note.time) // length < FORM_BARS:
                bars[int(note.time) // length].add((int(note.time) % length, int(note.pitch)))
    while bars and not bars[-1]:
        bars.pop()
    firsts: list[tuple[str, set]] = []
    out = []
    for notes in bars:
        alike = [(_overlap(notes, first), letter) for letter, first in firsts]
        best = max(alike, default=(0.0, ""))
        if best[0] >= SAME_BAR:
            out.append(best[1])
        else:
            firsts.append((_symbol(len(firsts)), notes))
            out.append(firsts[-1][0])
    return "".join(out)


def _overlap(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0
