"""Share a merged note stream out among a style's parts: SATB for a chorale, four strings for a
quartet, one fiddle for a reel.

The model writes every voice in one REMI stream; here each onset's notes are ranked by pitch
and dealt to the parts that are free (a part holding a note keeps it) from the top down (the
highest note to the first free part, the lowest to the last when the onset fills them), and a
lone note goes to the free part whose last note is nearest, so a line stays in one voice. With
more than one part, each part is then one legato line: a note lasts until the part's next onset
when the gap is a beat or less, and never past it (a singer holds one note at a time; a voice
of the corpus's chorales and masses hardly ever rests for a beat or less). One track per part,
each with its part's GM program.
"""

from __future__ import annotations

from itertools import groupby, pairwise

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
    if len(parts) > 1:
        voices = [_legato(voice, score.ticks_per_quarter) for voice in voices]
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
    busy_until = [0] * n_parts  # when each part's last note ends: a held note keeps its part
    for time, group in groupby(notes, key=lambda n: n.time):
        chord = list(group)  # highest first
        free = [i for i in range(n_parts) if busy_until[i] <= time]
        if len(free) < len(chord):  # more new notes than free parts: every part may take one
            free = list(range(n_parts))
        for note, part in zip(chord, _targets(chord, free, last), strict=True):
            voices[part].append(note)
            last[part] = note.pitch
            busy_until[part] = max(busy_until[part], note.time + note.duration)
    return voices


def _targets(chord: list, free: list[int], last: list[int | None]) -> list[int]:
    """The part of each note of a chord (highest first) among the ``free`` parts (in order,
    highest part first): a lone note to the free part whose last note is nearest, a full chord
    top-down with its lowest note in the lowest free part, a thinner one spread across them."""
    if len(chord) == 1 and len(free) > 1:
        return [_nearest([last[i] for i in free], chord[0].pitch, free)]
    if len(chord) >= len(free):
        targets = [free[min(i, len(free) - 1)] for i in range(len(chord))]
        targets[-1] = free[-1]  # the lowest note is the bass
        return targets
    span = (len(free) - 1) / (len(chord) - 1) if len(chord) > 1 else 0
    return [free[round(i * span)] for i in range(len(chord))]


def _legato(voice: list, max_gap: int) -> list:
    """The part's notes as one line: each ends at the part's next onset when it would overlap
    it or leave a gap of at most ``max_gap`` ticks."""
    onsets = sorted({n.time for n in voice})
    following = dict(pairwise(onsets))  # the last onset has none
    out = []
    for note in voice:
        end, after = note.time + note.duration, following.get(note.time)
        if after is not None and end >= after - max_gap:
            end = after
        out.append(symusic.Note(note.time, end - note.time, note.pitch, note.velocity))
    return out


def _nearest(last: list[int | None], pitch: int, parts: list[int]) -> int:
    known = [(abs(p - pitch), part) for p, part in zip(last, parts, strict=True) if p is not None]
    return min(known)[1] if known else parts[0]
