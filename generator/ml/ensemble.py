"""Share a merged note stream out among a style's parts: SATB for a chorale, four strings for a
quartet, one fiddle for a reel.

The model writes every voice in one REMI stream; here each onset's notes are ranked by pitch
and dealt to the parts from the top down (the highest note to the first part, the lowest to
the last when the onset fills every part), and a lone note goes to the part whose last note is
nearest, so a line stays in one voice. One track per part, each with its part's GM program.
"""

from __future__ import annotations

from itertools import groupby

import symusic

from generator.ml.styles import STYLES, Style

VELOCITY = 84


def parts_of(style: str | None) -> Style:
    """The style's parts (an unknown style plays on one piano)."""
    if style in STYLES:
        return STYLES[style]
    return Style("", "", "piano", (("Piano", 0),))


def split_voices(score: symusic.Score, style: str | None) -> symusic.Score:
    """A copy of ``score`` (tempo, metre and key kept) with its notes dealt to the style's
    parts; parts that receive no note are left out."""
    parts = parts_of(style).parts
    pitched = (n for t in score.tracks if not t.is_drum for n in t.notes)
    notes = sorted(pitched, key=lambda n: (n.time, -n.pitch))
    voices = _deal(notes, len(parts))
    out = symusic.Score(score.ticks_per_quarter)
    out.tempos = score.tempos.copy()
    out.time_signatures = score.time_signatures.copy()
    out.key_signatures = score.key_signatures.copy()
    for (name, program), voice in zip(parts, voices, strict=True):
        if not voice:
            continue
        track = symusic.Track(name=name, program=program, is_drum=False)
        for note in voice:
            track.notes.append(symusic.Note(note.time, note.duration, note.pitch, VELOCITY))
        out.tracks.append(track)
    return out


def _deal(notes: list, n_parts: int) -> list[list]:
    voices: list[list] = [[] for _ in range(n_parts)]
    last: list[int | None] = [None] * n_parts
    for _, group in groupby(notes, key=lambda n: n.time):
        chord = list(group)  # highest first
        if len(chord) == 1 and n_parts > 1:
            targets = [_nearest(last, chord[0].pitch)]
        elif len(chord) >= n_parts:
            targets = [min(i, n_parts - 1) for i in range(len(chord))]
            targets[-1] = n_parts - 1  # the lowest note is the bass
        else:
            span = (n_parts - 1) / (len(chord) - 1) if len(chord) > 1 else 0
            targets = [round(i * span) for i in range(len(chord))]
        for note, part in zip(chord, targets, strict=True):
            voices[part].append(note)
            last[part] = note.pitch
    return voices


def _nearest(last: list[int | None], pitch: int) -> int:
    known = [(abs(p - pitch), i) for i, p in enumerate(last) if p is not None]
    return min(known)[1] if known else 0
