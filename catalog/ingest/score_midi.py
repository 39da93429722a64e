"""Write a music21 score as MIDI bytes with symusic (no Django).

Ties are merged, grace notes dropped, repeats expanded where music21 can; the first metronome
mark, time signature and key signature go into the file as meta events so ingest can read them.
"""

from __future__ import annotations

import re

import symusic

TPQ = 480
DEFAULT_VELOCITY = 80
PART_PROGRAMS = [  # when a part names its instrument but carries no GM program
    (re.compile(r"cello", re.I), 42),
    (re.compile(r"viola", re.I), 41),
    (re.compile(r"viol|violin", re.I), 40),
    (re.compile(r"contrabass|double bass", re.I), 43),
]


def _ticks(quarters: float) -> int:
    return round(float(quarters) * TPQ)


def _part_program(part, override: int | None) -> int:
    if override is not None:
        return override
    instrument = part.getInstrument(returnDefault=False)
    program = getattr(instrument, "midiProgram", None)
    name = part.partName or (instrument.instrumentName if instrument else "") or ""
    if program:
        return program
    for pattern, guess in PART_PROGRAMS:
        if pattern.search(name):
            return guess
    return program or 0


def score_to_midi(
    score, *, program: int | None = None, default_qpm: float = 120.0, expand_repeats: bool = True
) -> bytes:
    """MIDI bytes for a music21 ``Score`` (or a single ``Part``)."""
    from music21 import key as m21key
    from music21 import meter, tempo

    if expand_repeats and _has_repeats(score):
        try:
            expanded = score.expandRepeats()
            if expanded is not None and expanded.highestTime >= score.highestTime:
                score = expanded
        except Exception:  # unmatched repeat signs: play it as written
            pass

    out = symusic.Score(TPQ)
    marks = list(score.recurse().getElementsByClass(tempo.MetronomeMark))
    if marks:
        for start, _end, mark in score.metronomeMarkBoundaries():
            qpm = mark.getQuarterBPM() or default_qpm
            out.tempos.append(symusic.Tempo(time=_ticks(start), qpm=float(qpm)))
    else:
        out.tempos.append(symusic.Tempo(time=0, qpm=float(default_qpm)))
    signature = next(iter(score.recurse().getElementsByClass(meter.TimeSignature)), None)
    if signature is not None:
        out.time_signatures.append(
            symusic.TimeSignature(
                time=0, numerator=signature.numerator, denominator=signature.denominator
            )
        )
    key = next(iter(score.recurse().getElementsByClass(m21key.KeySignature)), None)
    if key is not None:
        minor = getattr(key, "mode", None) == "minor"
        out.key_signatures.append(
            symusic.KeySignature(time=0, key=int(key.sharps), tonality=1 if minor else 0)
        )

    parts = list(score.parts) if hasattr(score, "parts") and score.parts else [score]
    for part in parts:
        notes = _part_notes(part)
        if not notes:
            continue
        track = symusic.Track(
            name=(part.partName or "")[:60], program=_part_program(part, program), is_drum=False
        )
        for start, end, pitch, velocity in notes:
            track.notes.append(
                symusic.Note(
                    time=start, duration=max(end - start, 1), pitch=pitch, velocity=velocity
                )
            )
        out.tracks.append(track)
    return bytes(out.dumps_midi())


def _has_repeats(score) -> bool:
    """Only scores with repeat signs pay for ``expandRepeats`` (it deep-copies the score)."""
    from music21 import bar, repeat, spanner

    kinds = (bar.Repeat, spanner.RepeatBracket, repeat.RepeatExpression)
    return next(iter(score.recurse().getElementsByClass(kinds)), None) is not None


def _part_notes(part) -> list[tuple[int, int, int, int]]:
    """(start, end, pitch, velocity) in ticks, with tied notes merged into one."""
    notes: list[list[int]] = []
    open_ties: dict[int, int] = {}
    for element in part.flatten().notes:
        if element.duration.isGrace:
            continue
        start = _ticks(element.offset)
        end = start + _ticks(element.quarterLength)
        velocity = element.volume.velocity if element.volume.velocity else DEFAULT_VELOCITY
        members = element.notes if element.isChord else [element]
        for member in members:
            if member.pitch is None:
                continue
            pitch = member.pitch.midi
            if not 0 <= pitch <= 127:
                continue
            tie = (member.tie or element.tie) if element.isChord else element.tie
            kind = tie.type if tie is not None else None
            held = open_ties.pop(pitch, None)
            # Merge only a tie that really continues the held note (ABC's "G3-A" is no tie).
            if kind in ("stop", "continue") and held is not None and notes[held][1] == start:
                notes[held][1] = end
                if kind == "continue":
                    open_ties[pitch] = held
                continue
            notes.append([start, end, pitch, int(velocity)])
            if kind == "start":
                open_ties[pitch] = len(notes) - 1
    return [tuple(n) for n in sorted(notes)]  # type: ignore[misc]
