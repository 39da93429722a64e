"""Read a MIDI file once and describe it: duration, tempo, key, metre, instruments, notes, range.

Pure Python on top of pretty_midi (no Django). The key comes from the file's key-signature event
when it has one: the signature fixes the tonic pair (a major key and its relative minor) and the
pitch-class histogram picks the mode. Without a signature the key is estimated with the
Krumhansl-Schmuckler algorithm (Krumhansl, *Cognitive Foundations of Musical Pitch*, 1990):
correlate the duration-weighted pitch-class histogram with the 24 rotated key profiles.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass, field

import mido
import numpy as np
import pretty_midi

logger = logging.getLogger(__name__)

PITCH_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
# Krumhansl-Kessler probe-tone profiles, tonic first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MIDI_MAGIC = b"MThd"
# pretty_midi allocates one float per tick up to the last event: cap it before parsing
# (16M ticks is 30 minutes at 960 ticks per beat and 500 bpm; a hostile file can claim 2^28).
MAX_TICKS = 16_000_000
# Header and meta values a real piece never has; a hostile file uses them to divide by zero or
# to make a piece of no length. MIDI's slowest tempo (2^24 - 1 µs a beat) is 3.6 bpm.
MAX_TEMPO_BPM = 1_000.0
MAX_METER_DENOMINATOR = 64


class MidiError(ValueError):
    """The bytes are not a usable MIDI file; the message says why, in words a user understands."""


@dataclass(frozen=True)
class MidiInfo:
    """What ingest stores about a piece (all derived from the MIDI bytes)."""

    duration_seconds: float
    tempo_bpm: float
    key: str
    time_signature: str
    instruments: list[str] = field(default_factory=list)
    note_count: int = 0
    pitch_min: int = 0
    pitch_max: int = 0


def key_name(tonic: int, minor: bool) -> str:
    return f"{PITCH_NAMES[tonic % 12]} {'minor' if minor else 'major'}"


def _correlations(histogram: np.ndarray) -> list[tuple[float, int, bool]]:
    """(r, tonic, is_minor) for all 24 keys."""
    scores: list[tuple[float, int, bool]] = []
    if not histogram.any():
        return scores
    for tonic in range(12):
        rotated = np.roll(histogram, -tonic)
        for minor, profile in ((False, MAJOR_PROFILE), (True, MINOR_PROFILE)):
            r = float(np.corrcoef(rotated, profile)[0, 1])
            scores.append((r, tonic, minor))
    return scores


def estimate_key(histogram: np.ndarray, signature_key_number: int | None = None) -> str:
    """Name the key of a 12-bin pitch-class histogram (C first).

    With a key signature (pretty_midi key number: 0-11 major, 12-23 minor), only the
    signature's major key and its relative minor compete.
    """
    scores = _correlations(np.asarray(histogram, dtype=float))
    if signature_key_number is not None:
        major_tonic = signature_key_number % 12
        if signature_key_number >= 12:  # the file says minor: its relative major shares the sig
            major_tonic = (major_tonic + 3) % 12
        pair = {(major_tonic, False), ((major_tonic + 9) % 12, True)}
        candidates = [s for s in scores if (s[1], s[2]) in pair]
        if not candidates or all(np.isnan(s[0]) for s in candidates):
            return key_name(signature_key_number % 12, signature_key_number >= 12)
        best = max(candidates, key=lambda s: -1.0 if np.isnan(s[0]) else s[0])
        return key_name(best[1], best[2])
    scores = [s for s in scores if not np.isnan(s[0])]
    if not scores:
        return ""
    best = max(scores)
    return key_name(best[1], best[2])


def _instrument_name(instrument: pretty_midi.Instrument) -> str:
    if instrument.is_drum:
        return "Drums"
    return pretty_midi.program_to_instrument_name(instrument.program)


def _check_header(raw: mido.MidiFile) -> None:
    """Refuse a time division, tempo or meter no real piece has (each once divides by zero)."""
    if raw.ticks_per_beat <= 0:  # zero, or SMPTE frames (negative in mido), unsupported
        raise MidiError(f"the MIDI header's time division is unusable ({raw.ticks_per_beat})")
    for track in raw.tracks:
        for msg in track:
            if msg.type == "set_tempo" and (
                msg.tempo <= 0 or 60_000_000 / msg.tempo > MAX_TEMPO_BPM
            ):
                bpm = "infinite" if msg.tempo <= 0 else f"{60_000_000 / msg.tempo:,.0f} bpm"
                raise MidiError(f"the file sets an absurd tempo ({bpm})")
            if msg.type == "time_signature" and not (
                msg.numerator > 0 and 0 < msg.denominator <= MAX_METER_DENOMINATOR
            ):
                raise MidiError("the file sets an absurd time signature")


def parse_midi(data: bytes) -> pretty_midi.PrettyMIDI:
    """Parse MIDI bytes, turning every parser failure into a ``MidiError`` with a reason."""
    if len(data) < 14 or not data.startswith(MIDI_MAGIC):
        raise MidiError("not a MIDI file (it does not start with a MIDI header)")
    try:
        raw = mido.MidiFile(file=io.BytesIO(data))
        _check_header(raw)
        last_tick = max((sum(msg.time for msg in track) for track in raw.tracks), default=0)
        if last_tick <= MAX_TICKS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pretty_midi warns about odd but valid files
                return pretty_midi.PrettyMIDI(io.BytesIO(data))
    except MidiError:
        raise
    except (
        OSError,
        EOFError,
        ValueError,
        KeyError,
        IndexError,
        TypeError,
        ArithmeticError,  # a division by zero or an overflow the checks above did not foresee
        mido.KeySignatureError,
    ) as exc:
        # An exception is always truthy: test its text, which is often empty (EOFError()).
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, EOFError) and not str(exc):
            detail = "it ends too early"
        raise MidiError(f"the MIDI data is damaged or truncated ({detail})") from exc
    raise MidiError(f"the piece is far too long ({last_tick:,} ticks)")


def describe(midi: pretty_midi.PrettyMIDI, *, max_duration_seconds: float) -> MidiInfo:
    """Extract the metadata of a parsed file; reject empty and overlong pieces."""
    notes = [note for inst in midi.instruments for note in inst.notes]
    if not notes:
        raise MidiError("the MIDI file contains no notes")
    duration = float(max(note.end for note in notes))
    if duration > max_duration_seconds:
        raise MidiError(
            f"the piece lasts {duration / 60:.0f} minutes; the limit is "
            f"{max_duration_seconds / 60:.0f} minutes"
        )
    if duration <= 0:
        raise MidiError("the MIDI file's notes have no duration")

    tempo_times, tempi = midi.get_tempo_changes()
    tempo = _weighted_tempo(tempo_times, tempi, duration)

    pitched = [note for inst in midi.instruments if not inst.is_drum for note in inst.notes]
    histogram = np.zeros(12)
    for note in pitched:
        histogram[note.pitch % 12] += note.end - note.start
    signature = midi.key_signature_changes[0].key_number if midi.key_signature_changes else None
    key = estimate_key(histogram, signature) if pitched else ""

    time_signature = ""
    if midi.time_signature_changes:
        ts = midi.time_signature_changes[0]
        time_signature = f"{ts.numerator}/{ts.denominator}"

    names: list[str] = []
    for inst in midi.instruments:
        if inst.notes and (name := _instrument_name(inst)) not in names:
            names.append(name)
    pitches = [note.pitch for note in pitched] or [note.pitch for note in notes]
    return MidiInfo(
        duration_seconds=round(duration, 3),
        tempo_bpm=round(tempo, 2),
        key=key,
        time_signature=time_signature,
        instruments=names,
        note_count=len(notes),
        pitch_min=min(pitches),
        pitch_max=max(pitches),
    )


def _weighted_tempo(times: np.ndarray, tempi: np.ndarray, duration: float) -> float:
    """The tempo that holds longest over the piece (120 bpm when the file has none)."""
    if len(tempi) == 0:
        return 120.0
    ends = np.append(times[1:], max(duration, float(times[-1])))
    spans = np.clip(ends - times, 0, None)
    if not spans.any():
        return float(tempi[0])
    return float(tempi[int(np.argmax(spans))])


def read_midi(data: bytes, *, max_duration_seconds: float) -> MidiInfo:
    """Parse and describe MIDI bytes in one call."""
    return describe(parse_midi(data), max_duration_seconds=max_duration_seconds)


_NOTE_NAMES = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")


def pitch_name(pitch: int) -> str:
    """60 -> "C4" (scientific pitch notation)."""
    return f"{_NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"
