"""A fingerprint of the music in a MIDI file: the notes, not the bytes (no Django here).

Two files of the same piece differ in their bytes for many reasons that are not the music: a
different instrument or velocity, another tempo mark or time division, a transposition, the
piece starting after a bar of silence, a part doubled by a second instrument. The fingerprint
keeps only what makes the piece itself: the set of (onset, pitch) pairs of its pitched notes,
with

- onsets counted in beats (MIDI ticks over the file's time division, so tempo events do not
  change them, on a 1/96-beat grid), measured from the first onset and divided by the piece's
  median gap between successive onsets (so the same notes written at another tempo or note
  value still match), to 1/48 of that gap;
- pitches measured from the lowest pitch of the piece (so a transposition matches);
- doublings counted once (a set), drums, durations, velocities and instruments left out.

Its SHA-256 is ``Track.music_hash``: equal hashes are the same music. A variant with one note
changed is another piece (a setting, a version), never a duplicate. Too few notes to tell a
piece by (drums only, a lone chord: fewer than ``MIN_PAIRS`` pairs) give no hash at all, so
two such files are never called the same piece.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from itertools import pairwise

import pretty_midi

__all__ = ["FINGERPRINT_VERSION", "music_fingerprint", "music_hash"]

FINGERPRINT_VERSION = 1  # part of the hash: a changed rule never matches hashes of the old one
BEAT_GRID = 96  # steps per beat when onsets are read
GRID = 48  # steps per median onset gap in the fingerprint
MIN_PAIRS = 4  # fewer (onset, pitch) pairs than this tell no piece from another


def music_fingerprint(midi: pretty_midi.PrettyMIDI) -> list[tuple[int, int]]:
    """The sorted, distinct (onset step, pitch above the lowest) pairs of the pitched notes."""
    resolution = midi.resolution or 480
    # Onsets on a grid of 1/BEAT_GRID beat first: a tick of rounding never moves a note.
    pairs = {
        (round(Fraction(int(midi.time_to_tick(note.start)) * BEAT_GRID, resolution)), note.pitch)
        for instrument in midi.instruments
        if not instrument.is_drum
        for note in instrument.notes
    }
    if not pairs:
        return []
    steps = sorted({step for step, _ in pairs})
    gaps = sorted(b - a for a, b in pairwise(steps))
    unit = gaps[len(gaps) // 2] if gaps else BEAT_GRID  # the median gap, in grid steps
    first, lowest = steps[0], min(pitch for _, pitch in pairs)
    return sorted(
        (round(Fraction((step - first) * GRID, unit)), pitch - lowest) for step, pitch in pairs
    )


def music_hash(midi: pretty_midi.PrettyMIDI) -> str:
    """SHA-256 (hex) of ``music_fingerprint``: equal for the same notes, whatever the bytes;
    ``""`` (no fingerprint) when it holds fewer than ``MIN_PAIRS`` pairs."""
    pairs = music_fingerprint(midi)
    if len(pairs) < MIN_PAIRS:
        return ""
    digest = hashlib.sha256(f"music v{FINGERPRINT_VERSION}\n".encode())
    for onset, pitch in pairs:
        digest.update(f"{onset} {pitch}\n".encode())
    return digest.hexdigest()
