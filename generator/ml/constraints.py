"""Constraint masks for REMI sampling: grammar, key/scale, tempo, metre, length, polyphony,
a guard against semitone clashes between notes that sound together, and a final cadence (with
a key, the last bar's second half sounds only the tonic triad: notes from before its midpoint
end by then, later ones are tonic-triad pitches, the bar cannot close before one starts, and
the final chord is full: its onset takes pitches until as many sound as the polyphony allows).

The key and the clash guard are soft: a pitch outside the scale, or a semitone from a sounding
note, has its logit lowered by a penalty rather than removed, because real music has both (a
chorale's chromatic passing notes and suspensions: 5 % of its notes are outside the scale and
1.7 % of its sounding pairs a semitone apart); an infinite penalty forbids them.

Constrained decoding by masking logits of disallowed tokens at each step, as in controllable
symbolic-music generation (e.g. Hadjeres et al. 2017 "DeepBach"'s constraints; the REMI token
grammar is Huang & Yang 2020). The tracker follows the musical time of the tokens so far so that
it can bound polyphony, forbid silent bars and end the piece on a bar line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import miditok
import torch

from generator.ml.tokenizer import NOTE_NAMES

_FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#", "Cb": "B", "Fb": "E"}
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)  # natural minor, plus the raised 7th below
CLASHES = (1, 11)  # intervals mod 12 that grind: minor second, major seventh, minor ninth
# Logit penalties (odds divided by e**penalty), chosen on the corpus's validation pieces by
# ``make bench-generator`` (OA of in-scale share and clash share; see the commit).
OUT_OF_KEY_PENALTY = 0.0  # the Key token conditions the model; a penalty only cost OA
CLASH_PENALTY = 1.5  # the step-13,050 model: at 2.0 chorales had half the real clash share


def parse_key(key: str) -> tuple[int, str]:
    """``"Bb major"`` → ``(10, "major")``: the tonic's pitch class and the mode; ``ValueError``
    naming what is wrong."""
    parts = key.replace("-", "b").split()
    if len(parts) != 2 or parts[1].lower() not in {"major", "minor"}:
        raise ValueError(f"key must look like 'D minor' or 'Bb major', got {key!r}")
    tonic = parts[0][0].upper() + parts[0][1:]
    tonic = _FLATS.get(tonic, tonic)
    if tonic not in NOTE_NAMES:
        raise ValueError(f"unknown tonic in key {key!r}")
    return NOTE_NAMES.index(tonic), parts[1].lower()


def scale_pitch_classes(key: str) -> set[int]:
    """Pitch classes of ``"D minor"`` / ``"Bb major"``; minor adds the leading tone."""
    root, mode = parse_key(key)
    steps = MAJOR if mode == "major" else (*MINOR, 11)
    return {(root + s) % 12 for s in steps}


def tonic_triad(key: str) -> set[int]:
    """Pitch classes of the tonic triad (C E G in C major, A C E in A minor)."""
    root, mode = parse_key(key)
    return {root, (root + (4 if mode == "major" else 3)) % 12, (root + 7) % 12}


def dominant_triad(key: str) -> set[int]:
    """Pitch classes of the dominant triad, major in both modes (G B D in C major and minor)."""
    root, _ = parse_key(key)
    return {(root + 7) % 12, (root + 11) % 12, (root + 2) % 12}


@dataclass
class Constraints:
    """What the generated piece must respect."""

    bars: int = 8  # length of the new material in bars
    key: str | None = None  # e.g. "D minor": pitches outside the scale are masked
    tempo_bpm: float | None = None  # quarter notes per minute (None: from the primer, else 100)
    time_signature: str | None = None  # e.g. "3/4" (None: from the primer, else 4/4)
    max_polyphony: int = 6  # most notes sounding at once
    pitch_range: tuple[int, int] = (36, 96)  # lowest and highest allowed MIDI pitch
    program: int = 0  # General MIDI program of the written track (0 = piano)
    avoid_clashes: bool = True  # penalise a new pitch a semitone (mod 12) from a sounding one
    cadence: bool = True  # with a key: the last bar's second half sounds the tonic triad
    out_of_key_penalty: float = OUT_OF_KEY_PENALTY  # logit penalty, pitch outside the key
    clash_penalty: float = CLASH_PENALTY  # logit penalty, a semitone from a sounding pitch


@dataclass
class TimeTracker:
    """Musical position of a REMI stream, in position units (``res`` per beat)."""

    res: int
    bar_len: int  # positions per bar
    bar_index: int = -1
    pos: int = -1
    last_type: str = ""
    notes_in_bar: int = 0
    last_onset: int = -1  # position of the bar's latest note onset (-1: none yet)
    total_notes: int = 0
    pending_pitch: int | None = None
    sounding: list[tuple[int, int]] = field(default_factory=list)  # (pitch, end time)

    @property
    def now(self) -> int:
        return self.bar_index * self.bar_len + max(self.pos, 0)


class ConstraintMasker:
    """Builds the additive logit mask for the next token, and tracks what was chosen."""

    def __init__(self, tokenizer: miditok.REMI, constraints: Constraints, time_sig: str) -> None:
        self.c = constraints
        vocab: dict[str, int] = tokenizer.vocab
        self.size = len(vocab)
        self.types = {i: name.split("_", 1)[0] for name, i in vocab.items()}
        self.values = {i: name.split("_", 1)[1] for name, i in vocab.items()}
        self.by_type: dict[str, list[int]] = {}
        for i, t in self.types.items():
            self.by_type.setdefault(t, []).append(i)
        self.res = max(tokenizer.config.beat_res.values())
        num = int(time_sig.split("/")[0])
        self.bar_len = num * self.res  # positions count beats of the denominator
        time_sig_id = vocab.get(f"TimeSig_{time_sig}")
        if time_sig_id is None:
            raise ValueError(f"time signature {time_sig} is not in the tokenizer's vocabulary")
        self.time_sig_id: int = time_sig_id
        self.tempo_id = (
            self._nearest("Tempo", constraints.tempo_bpm) if constraints.tempo_bpm else None
        )
        lo, hi = constraints.pitch_range
        scale = scale_pitch_classes(constraints.key) if constraints.key else set(range(12))
        self.pitch_of = {i: int(self.values[i]) for i in self.by_type["Pitch"]}
        self.pitch_ok = {i for i, p in self.pitch_of.items() if lo <= p <= hi}  # in range
        self.in_key = {i for i in self.pitch_ok if self.pitch_of[i] % 12 in scale}
        self.penalty = torch.zeros(self.size)  # the soft part of the mask, for pitches
        for i in self.pitch_ok - self.in_key:
            self.penalty[i] = constraints.out_of_key_penalty
        self.dur_len = {i: self.duration_positions(i) for i in self.by_type["Duration"]}
        self.longest = max(self.dur_len.values())
        self.final_bar = constraints.bars - 1
        self.tonic_ok: set[int] | None = None  # the last bar's cadence pitches (None: no cadence)
        self.cadence_ok: set[int] = set()  # pitches a phrase end prefers: tonic, dominant triads
        if constraints.key:
            tonic, dominant = tonic_triad(constraints.key), dominant_triad(constraints.key)
            if constraints.cadence:
                self.tonic_ok = {i for i in self.in_key if self.pitch_of[i] % 12 in tonic}
            self.cadence_ok = {i for i in self.in_key if self.pitch_of[i] % 12 in tonic | dominant}
        self.state = TimeTracker(res=self.res, bar_len=self.bar_len)

    def _nearest(self, kind: str, value: float) -> int:
        return min(self.by_type[kind], key=lambda i: abs(float(self.values[i]) - value))

    def duration_positions(self, token: int) -> int:
        beats, sub, res = (int(x) for x in self.values[token].split("."))
        return beats * self.res + sub * self.res // res

    def mask(self) -> torch.Tensor:
        """0 for allowed tokens, -inf for forbidden ones, minus a penalty for allowed pitches
        outside the key or a semitone from a sounding note."""
        s = self.state
        allowed: set[int] = set()
        pitches: set[int] = set()
        sounding: list[int] = []  # the pitch of each note sounding now
        if s.last_type == "Pitch":
            allowed.update(self._durations_allowed())
        elif s.last_type == "Bar":
            allowed.add(self.time_sig_id)
        elif self._final_chord_open():
            sounding = self._sounding()
            pitches = self._pitches_allowed(sounding)
            allowed.update(pitches)
        else:
            if s.bar_index >= 0 and s.notes_in_bar > 0 and not self._final_chord_due():
                allowed.add(self.by_type["Bar"][0])
            allowed.update(
                i for i in self.by_type["Position"] if s.pos < int(self.values[i]) < self.bar_len
            )
            if s.last_type in {"Position", "Tempo", "Duration"}:
                sounding = self._sounding()
                pitches = self._pitches_allowed(sounding)
                allowed.update(pitches)
            if s.last_type == "Position":
                allowed.update([self.tempo_id] if self.tempo_id else self.by_type["Tempo"])
        if not allowed:  # nothing fits in this bar any more: close it
            allowed.add(self.by_type["Bar"][0])
        m = torch.full((self.size,), float("-inf"))
        m[list(allowed)] = 0.0
        if pitches:
            penalised = m - self._pitch_penalty(set(sounding))
            if torch.isfinite(penalised).any():  # infinite penalties never leave a dead end
                m = penalised
        return m

    def _pitch_penalty(self, busy: set[int]) -> torch.Tensor:
        """The key's penalty, plus the clash penalty for pitches a semitone from a ``busy``
        (sounding) one (an infinite penalty forbids)."""
        penalty = self.penalty.clone()
        if self.c.avoid_clashes:
            clashing = _clashing(self.pitch_ok, self.pitch_of, busy)
            if clashing:
                penalty[list(clashing)] += self.c.clash_penalty
        return penalty

    def in_second_half(self) -> bool:
        """Whether the current position is at or after the bar's midpoint."""
        return self.state.pos >= self.bar_len // 2

    def _in_final_cadence(self) -> bool:
        return (
            self.tonic_ok is not None
            and self.state.bar_index == self.final_bar
            and self.in_second_half()
        )

    def _final_chord_due(self) -> bool:
        """The last bar may not close before a note starts in its second half (the cadence)."""
        s = self.state
        return (
            self.tonic_ok is not None
            and s.bar_index == self.final_bar
            and s.last_onset < self.bar_len // 2
        )

    def _final_chord_open(self) -> bool:
        """In the final cadence, a chord just begun stays at its onset until it sounds as many
        notes as the polyphony allows (a chorale ends on four voices, not a lone bass)."""
        s = self.state
        return (
            s.last_type == "Duration"
            and self._in_final_cadence()
            and len(self._sounding()) < self.c.max_polyphony
        )

    def _durations_allowed(self) -> list[int]:
        """Every duration, but with the final cadence due a note that starts before the last
        bar's midpoint must end by it: the final chord then sounds alone and has room."""
        durations = self.by_type["Duration"]
        cadence = self.final_bar * self.bar_len + self.bar_len // 2
        now = self.state.now
        if self.tonic_ok is None or not now < cadence < now + self.longest:
            return durations
        fits = [i for i in durations if now + self.dur_len[i] <= cadence]
        return fits or durations

    def fit(self, token: int) -> int:
        """A forced (re-played) token as the constraints allow it now: a Duration the final
        cadence forbids (``_durations_allowed``) becomes the longest one allowed; any other
        token is kept."""
        if self.types.get(token) != "Duration" or self.state.last_type != "Pitch":
            return token
        allowed = self._durations_allowed()
        return token if token in allowed else max(allowed, key=self.dur_len.__getitem__)

    def _sounding(self) -> list[int]:
        """The pitch of each note still sounding now."""
        return [p for p, e in self.state.sounding if e > self.state.now]

    def _pitches_allowed(self, sounding: list[int]) -> set[int]:
        """Pitches in range and not sounding, none when the polyphony is full; in the final
        cadence the tonic triad's (else the key's) when one is free."""
        if len(sounding) >= self.c.max_polyphony:
            return set()
        busy = set(sounding)
        free = {i for i in self.pitch_ok if self.pitch_of[i] not in busy}
        if self.tonic_ok is not None and self._in_final_cadence():
            free = (free & self.tonic_ok) or (free & self.in_key) or free
        return free

    def observe(self, token: int) -> None:
        """Advance the tracker over a token (sampled or forced)."""
        s = self.state
        kind = self.types.get(token, "")
        if kind == "Bar":
            s.bar_index += 1
            s.pos = -1
            s.notes_in_bar = 0
            s.last_onset = -1
        elif kind == "Position":
            s.pos = int(self.values[token])
        elif kind == "Pitch":
            s.pending_pitch = int(self.values[token])
        elif kind == "Duration" and s.pending_pitch is not None:
            s.sounding = [(p, e) for p, e in s.sounding if e > s.now]
            s.sounding.append((s.pending_pitch, s.now + self.duration_positions(token)))
            s.pending_pitch = None
            s.notes_in_bar += 1
            s.last_onset = s.pos
            s.total_notes += 1
        if kind in {"Bar", "Position", "Pitch", "Duration", "Tempo", "TimeSig"}:
            s.last_type = kind


def _clashing(ids: set[int], pitch_of: dict[int, int], sounding: set[int]) -> set[int]:
    """The pitch tokens of ``ids`` a semitone (mod 12) from any ``sounding`` pitch."""
    bad = {(p + d) % 12 for p in sounding for d in CLASHES}
    return {i for i in ids if pitch_of[i] % 12 in bad}
