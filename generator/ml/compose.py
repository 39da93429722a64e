"""Write one song from a spec: the header names its style and key, the sampler writes the bars,
the ensemble shares the notes out among the style's parts. The worker and ``generate_songs``
both call ``compose``, so a song written for evaluation is written the way the site writes it.

A song may open with a primer's first bars (``SongSpec.opening``, REMI ids): the model is primed
with the header and those bars, and the song plays them before the bars it writes, the way a
continuation model is prompted (Huang & Yang 2020; Music Transformer, Huang et al. 2019).
A song modelled on a piece may also have the model read that piece's first bars before it
writes (``SongSpec.prompt``), without playing them: the new bars then take the piece's figures,
density and register, as a prompted LM continues its prompt's manner (the song repeats few of
its bars: 1.9 % of bars for pieces the model trained on, against 1.0 % without a prompt).
``spec_from_file`` models a spec on a MIDI file (its style, key, tempo, metre, prompt) and
``write_song`` writes one to disk with its manifest entry, for ``generate_songs`` and the bench.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import miditok
import pretty_midi
import symusic
import torch
from torch import nn
from torch.nn import functional as F

from generator.ml.accompaniment import Accompaniment, accompany, split_accompanied
from generator.ml.constraints import Constraints, parse_key
from generator.ml.ensemble import parts_of, split_voices
from generator.ml.form import bar_ticks, first_metre, piece_form
from generator.ml.sample import Generated, SampleSettings, bars_for_seconds, generate, write_midi
from generator.ml.styles import DEFAULT_STYLE, ONE_LINE_STYLES, instrument_style, style_token
from generator.ml.tokenizer import (
    NOTE_NAMES,
    decode_ids,
    encode_file,
    encode_score,
    header_ids,
    opening_ids,
    read_score,
    score_key,
)

# The metres the tokenizer writes (its TimeSig tokens); any other (2/2, 9/8...) is written 4/4.
TIME_SIGNATURES = ("2/4", "3/4", "4/4", "5/4", "6/4", "3/8", "6/8", "12/8")
OPENING_BARS = 2  # a primer's bars a song opens with
PROMPT_BARS = 2  # a model piece's bars the model reads, unplayed, before it writes
MIN_TEMPO, MAX_TEMPO = 40.0, 200.0  # a primer's tempo is clamped to this (as the site does)
MIDI_DEFAULT_TEMPO = 120.0  # what a MIDI file without a tempo plays at (as the catalog reads it)


@dataclass
class SongSpec:
    """What to write."""

    style: str | None  # generator.ml.styles key (None: unconditioned, one piano)
    key: str | None  # "G major" / "D minor" (None: free)
    tempo_bpm: float = 100.0
    time_signature: str = "4/4"
    seconds: float = 30.0
    temperature: float = 1.0
    max_polyphony: int = 4
    seed: int | None = None
    top_p: float = 1.0  # nucleus sampling off: on validation pieces, 0.95 made songs blander
    opening: list[int] | None = None  # REMI ids of a primer's first bars (no BOS or header)
    opening_bars: int = 0  # how many bars ``opening`` holds (0: count its Bar tokens)
    prompt: list[int] | None = None  # REMI ids the model reads before it writes (not played)
    density_bias: float = 0.0  # > 0 nearer onsets, more notes per second (SampleSettings)
    form_source: str = ""  # the form of the piece it is modelled on (form.piece_form)
    accompaniment: dict | None = None  # Accompaniment.to_dict(): chords under the tune

    def to_dict(self) -> dict:
        return asdict(self)


def safe_time_signature(value: str | None) -> str:
    """The metre itself when the tokenizer writes it, else 4/4 (the stated fallback)."""
    return value if value in TIME_SIGNATURES else "4/4"


def opening_of_file(
    tokenizer: miditok.REMI, path: str | Path, bars: int = 2, score: symusic.Score | None = None
) -> list[int]:
    """REMI ids of the first ``bars`` bars of a MIDI file (tracks merged, drums left out), or
    of ``score`` read from it; ``ValueError`` naming the file when it cannot be read or those
    bars hold no pitched note."""
    ids = encode_score(tokenizer, score) if score is not None else encode_file(tokenizer, path)
    opening = opening_ids(tokenizer, ids, bars)
    if not _holds_a_note(tokenizer, opening):
        raise ValueError(
            f"the primer {Path(path).name} has no pitched notes in its first {bars} bars"
        )
    return opening


def prompt_ids(tokenizer: miditok.REMI, score: symusic.Score, bars: int = PROMPT_BARS) -> list[int]:
    """REMI ids of a piece's first ``bars`` bars, for the model to read before it writes; []
    when those bars hold no pitched note (the song is then written from its header alone)."""
    try:
        ids = opening_ids(tokenizer, encode_score(tokenizer, score), bars)
    except ValueError:
        return []
    return ids if _holds_a_note(tokenizer, ids) else []


def _holds_a_note(tokenizer: miditok.REMI, ids: list[int]) -> bool:
    """Whether ``ids`` hold a Pitch token (a note, not only bars and positions)."""
    return any(tokenizer[i].startswith("Pitch_") for i in ids)


def compose(
    model: nn.Module,
    tokenizer: miditok.REMI,
    spec: SongSpec,
    *,
    on_progress: Callable[[float], None] | None = None,
) -> Generated:
    """The song: ``Generated.score`` holds one track per part of the style's ensemble."""
    if not 1 <= spec.seconds <= 600:
        raise ValueError(f"a song lasts 1 to 600 seconds, not {spec.seconds}")
    if not 20 <= spec.tempo_bpm <= 300:
        raise ValueError(f"the tempo must be 20 to 300 BPM, not {spec.tempo_bpm}")
    key = parse_key(spec.key) if spec.key else None
    metre = safe_time_signature(spec.time_signature)
    opening = list(spec.opening or [])
    opening_bars = (spec.opening_bars or opening.count(tokenizer["Bar_None"])) if opening else 0
    total_bars = bars_for_seconds(spec.seconds, spec.tempo_bpm, metre)
    constraints = Constraints(
        bars=max(1, total_bars - opening_bars),
        key=spec.key or None,
        tempo_bpm=spec.tempo_bpm,
        time_signature=metre,
        max_polyphony=max(1, min(spec.max_polyphony, len(parts_of(spec.style).parts) + 2)),
    )
    settings = SampleSettings(
        temperature=spec.temperature,
        top_p=spec.top_p,
        seed=spec.seed,
        density_bias=spec.density_bias,
        form_source=spec.form_source,
        given_bars=opening_bars,  # the new bars go on from the opening, and may re-play it
    )
    generated = generate(
        model,
        tokenizer,
        primer=header_ids(tokenizer, style=spec.style, key=key) + (spec.prompt or []) + opening,
        constraints=constraints,
        settings=settings,
        on_progress=on_progress,
    )
    if opening:
        generated.score = _after_opening(
            decode_ids(tokenizer, opening), generated.score, opening_bars
        )
    generated.score = split_voices(generated.score, spec.style)
    accompaniment = Accompaniment.from_dict(spec.accompaniment)
    if accompaniment is not None:
        generated.score = accompany(generated.score, spec.key, accompaniment, spec.seed)
    return generated


def likeliest_style(
    model: nn.Module,
    tokenizer: miditok.REMI,
    tune: symusic.Score,
    key: tuple[int, str] | None,
    styles: tuple[str, ...],
) -> str:
    """The one of ``styles`` under whose control token the model finds the tune's opening (as
    much as its context holds) likeliest: the style the music itself is most like (a folk
    song when the tokenizer knows none of them)."""
    styles = tuple(s for s in styles if style_token(s) in tokenizer.vocab)
    if not styles:
        return DEFAULT_STYLE
    ids = encode_score(tokenizer, tune)
    device = next(model.parameters()).device
    context = int(model.config.max_len)  # type: ignore[union-attr, arg-type]  # both LMs have one
    losses = {}
    for style in styles:
        head = header_ids(tokenizer, style=style, key=key)
        seq = torch.tensor([(head + ids)[:context]], device=device)
        with torch.no_grad():
            logits, _ = model(seq[:, :-1])
        start = len(head) - 1  # score the tune's tokens, not the header
        losses[style] = float(F.cross_entropy(logits[0, start:], seq[0, start + 1 :]))
    return min(losses, key=losses.__getitem__)


def spec_from_file(
    tokenizer: miditok.REMI,
    path: str | Path,
    *,
    seconds: float,
    seed: int,
    temperature: float,
    style: str | None = None,
    opening_bars: int = OPENING_BARS,
    prompt_bars: int = PROMPT_BARS,
    model: nn.Module | None = None,
) -> SongSpec:
    """A spec modelled on a MIDI file: its style (``style``, else the one its instruments and
    parts name, else, given the ``model``, the one-line style it finds the tune likeliest in,
    else a folk song), key (stated, else Krumhansl-Kessler), tempo (120 BPM, MIDI's default,
    when it states none; clamped to 40-200 BPM), metre (4/4 when the tokenizer lacks it), form
    (``piece_form``), one sounding note per part of the style, its first ``prompt_bars`` bars
    as the prompt and, unless ``opening_bars`` is 0, its opening bars (played; the prompt is
    then left out). A piece whose tune is accompanied by chords (``split_accompanied``) has its
    style guessed from the tune; a one-line style's song on it reads and opens with the tune
    alone and gets chords like the piece's.
    ``ValueError`` naming the file when it is unreadable or has no pitched notes."""
    score = read_score(path)
    tune, accompaniment = split_accompanied(score)  # the model reads and writes the tune
    tracks = [t for t in tune.tracks if not t.is_drum and len(t.notes)]
    if not tracks:
        raise ValueError(f"the primer {Path(path).name} has no pitched notes")
    key = score_key(score)
    qpm = float(score.tempos[0].qpm) if len(score.tempos) else MIDI_DEFAULT_TEMPO
    ts = score.time_signatures[0] if len(score.time_signatures) else None
    style = style or instrument_style({t.program for t in tracks}, len(tracks))
    if style is None and model is not None:
        style = likeliest_style(model, tokenizer, tune, key, ONE_LINE_STYLES)
    style = style or DEFAULT_STYLE
    if len(parts_of(style).parts) > 1:  # voices of their own: they read the whole piece
        tune, accompaniment = score, None
    opening = opening_of_file(tokenizer, path, opening_bars, tune) if opening_bars else None
    return SongSpec(
        style=style,
        key=f"{NOTE_NAMES[key[0]]} {key[1]}" if key else None,
        tempo_bpm=min(MAX_TEMPO, max(MIN_TEMPO, qpm)),
        time_signature=safe_time_signature(f"{ts.numerator}/{ts.denominator}" if ts else None),
        seconds=seconds,
        temperature=temperature,
        max_polyphony=len(parts_of(style).parts),  # one note a part, as the site writes
        seed=seed,
        opening=opening,
        opening_bars=opening.count(tokenizer["Bar_None"]) if opening else 0,
        form_source=piece_form(score),
        prompt=None if opening or not prompt_bars else prompt_ids(tokenizer, tune, prompt_bars),
        accompaniment=accompaniment.to_dict() if accompaniment else None,
    )


def write_song(
    model: nn.Module, tokenizer: miditok.REMI, spec: SongSpec, path: Path
) -> dict[str, Any]:
    """Compose ``spec`` into ``path``; its manifest entry (what was asked, what was written)."""
    generated = compose(model, tokenizer, spec)
    write_midi(generated.score, path)
    written = symusic.Score(str(path))
    entry: dict[str, Any] = {
        "file": path.name,
        "style": spec.style,
        "instruments": [pretty_midi.program_to_instrument_name(t.program) for t in written.tracks],
        "key": spec.key,
        "tempo": round(spec.tempo_bpm, 2),
        "time_signature": spec.time_signature,
        "seconds": round(float(written.to("second").end()), 2),
        "seed": spec.seed,
    }
    if generated.form:
        entry["form"] = generated.form
    return entry


def _after_opening(opening: symusic.Score, new: symusic.Score, bars: int) -> symusic.Score:
    """One track: the opening's notes (held no later than its last bar line), then ``new``'s
    notes shifted by the opening's length; ``new``'s tempo, its metre from the shift on."""
    tpq = new.ticks_per_quarter
    if opening.ticks_per_quarter != tpq:
        opening = opening.resample(tpq, min_dur=1)
    shift = bars * bar_ticks(opening, tpq)
    out = symusic.Score(tpq)
    out.tempos = new.tempos.copy()
    out.key_signatures = new.key_signatures.copy()
    first, then = first_metre(opening) or first_metre(new) or (4, 4), first_metre(new)
    out.time_signatures.append(symusic.TimeSignature(0, *first))
    if then is not None and then != first:
        out.time_signatures.append(symusic.TimeSignature(shift, *then))
    program = new.tracks[0].program if len(new.tracks) else 0
    track = symusic.Track(program=program, is_drum=False, name="Generated")
    for note in (n for t in opening.tracks if not t.is_drum for n in t.notes):
        if note.time < shift:
            duration = max(1, min(note.duration, shift - note.time))
            track.notes.append(symusic.Note(note.time, duration, note.pitch, note.velocity))
    for note in (n for t in new.tracks for n in t.notes):
        track.notes.append(
            symusic.Note(note.time + shift, note.duration, note.pitch, note.velocity)
        )
    track.notes.sort(key=lambda n: (n.time, n.pitch))
    out.tracks.append(track)
    return out
