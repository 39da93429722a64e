"""A form plan for sampled pieces: phrases of 4 or 8 bars in a plan such as A A B A, where a
repeated section re-plays its first occurrence and only its last bar is drawn afresh.

Real tunes repeat and vary whole phrases (the 32-bar AABA song form; binary and rounded-binary
dance tunes, Caplin 1998 "Classical Form"); a small LM with a short context does not, so the
sampler imposes the repetition, in the spirit of structure-guided generation such as Dai et al.
(2021) "Controllable deep melody generation via hierarchical music structure representation".

Rule: phrases are 4 bars, or 8 when the piece has 32 bars or more. The number of phrases is the
length in bars divided by the phrase length, rounded half up, at least one; the last phrase
takes whatever bars are left over (so the piece keeps exactly the bars asked for). Plans:
A, AA, ABA, AABA, AABBA, and from six phrases on a rondo (AABACA, AABACABA, ...) that ends on A.
"""

from __future__ import annotations

from dataclasses import dataclass

LONG_PIECE_BARS = 32  # from this many bars on, phrases are 8 bars long
_SHORT_PLANS = {1: "A", 2: "AA", 3: "ABA", 4: "AABA", 5: "AABBA"}
_RONDO_EPISODES = "ACAB"  # after "AAB": A C A B A C ... (then the last section becomes A)


@dataclass(frozen=True)
class Section:
    letter: str  # "A", "B", ...: sections with one letter share their material
    start: int  # first bar (0-based, in the new material)
    bars: int


@dataclass(frozen=True)
class FormPlan:
    phrase_bars: int
    sections: tuple[Section, ...]

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
        sampled (so a second A can end differently); a one-bar section re-plays nothing.
        """
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


def plan_form(bars: int) -> FormPlan:
    """The plan for a piece of ``bars`` bars (a piece shorter than a phrase is one phrase)."""
    if bars < 1:
        raise ValueError("a piece needs at least one bar")
    phrase = 8 if bars >= LONG_PIECE_BARS else 4
    letters = plan_letters(max(1, (2 * bars + phrase) // (2 * phrase)))  # rounded half up
    sections = []
    for i, letter in enumerate(letters):
        start = i * phrase
        length = bars - start if i == len(letters) - 1 else phrase
        sections.append(Section(letter, start, length))
    return FormPlan(phrase, tuple(sections))
