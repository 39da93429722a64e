"""MIDI <-> tokens with MidiTok's REMI (Huang & Yang 2020, "Pop Music Transformer").

REMI writes a piece as ``Bar``, ``Position``, ``Tempo``, ``TimeSig`` and per-note ``Pitch`` /
``Duration`` tokens. All non-drum tracks are merged into one stream before tokenizing (the
ensemble is the style's, chosen when the MIDI is written), so a note costs two tokens plus
shared positions. A piece opens with a header of control tokens, ``BOS Style_<style>
Key_<tonic><mode>`` (Keskar et al. 2019, "CTRL", for control codes), so the model knows what it
is writing; tokenizers saved without them still load and simply write unconditioned pieces.
"""

from __future__ import annotations

import logging
from pathlib import Path

import miditok
import symusic

from generator.ml.config import TokenizerSettings
from generator.ml.styles import STYLES, style_token

logger = logging.getLogger(__name__)

TOKENIZER_FILE = "tokenizer.json"
MIDI_SUFFIXES = (".mid", ".midi")
NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
MODES = ("major", "minor")
# Krumhansl & Kessler (1982) key profiles, for pieces whose file names no key.
_PROFILES = {
    "major": (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
    "minor": (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
}


def key_token(tonic: int, mode: str) -> str:
    """``Key_Cmajor`` / ``Key_F#minor``: the control token of a key."""
    return f"Key_{NOTE_NAMES[tonic % 12]}{mode}"


def control_tokens() -> list[str]:
    """The header's vocabulary: one token per style and per key."""
    keys = [key_token(pc, mode) for mode in MODES for pc in range(12)]
    return [style_token(s) for s in STYLES] + keys


def control_ids(tokenizer: miditok.REMI) -> set[int]:
    """Ids of the header's control tokens this tokenizer has."""
    vocab = tokenizer.vocab
    return {vocab[t] for t in control_tokens() if t in vocab}


def header_length(ids: list[int], controls: set[int]) -> int:
    """How many of ``ids`` form the header: BOS, then the control tokens that follow it."""
    n = 1 if ids else 0
    while n < len(ids) and ids[n] in controls:
        n += 1
    return n


def build_tokenizer(settings: TokenizerSettings | None = None) -> miditok.REMI:
    """A fresh REMI tokenizer with tempo and time-signature tokens."""
    settings = settings or TokenizerSettings()
    config = miditok.TokenizerConfig(
        pitch_range=settings.pitch_range,
        beat_res=settings.beat_res,
        use_velocities=False,
        use_tempos=True,
        num_tempos=settings.num_tempos,
        tempo_range=settings.tempo_range,
        use_time_signatures=True,
        use_programs=False,
        special_tokens=["PAD", "BOS", "EOS", *control_tokens()],
    )
    return miditok.REMI(config)


def load_tokenizer(path: str | Path) -> miditok.REMI:
    """Load the tokenizer saved beside a checkpoint (a directory or the JSON file itself)."""
    path = Path(path)
    if path.is_dir():
        path = path / TOKENIZER_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no tokenizer file at {path}")
    return miditok.REMI(params=path)


def merge_tracks(score: symusic.Score) -> symusic.Score:
    """One piano track holding every non-drum note (tempo and time signatures kept)."""
    merged = symusic.Score(score.ticks_per_quarter)
    merged.tempos = score.tempos.copy()
    merged.time_signatures = score.time_signatures.copy()
    merged.key_signatures = score.key_signatures.copy()
    track = symusic.Track(program=0, is_drum=False, name="merged")
    for source in score.tracks:
        if source.is_drum:
            continue
        track.notes.extend(source.notes.copy())
    track.notes.sort(key=lambda n: (n.time, n.pitch))
    merged.tracks.append(track)
    return merged


def encode_score(tokenizer: miditok.REMI, score: symusic.Score) -> list[int]:
    """Token ids of a whole piece (tracks merged); empty when it has no pitched notes."""
    merged = merge_tracks(score)
    if merged.note_num() == 0:
        return []
    seq = tokenizer.encode(merged)
    seq = seq[0] if isinstance(seq, list) else seq
    return list(seq.ids)


def score_key(score: symusic.Score) -> tuple[int, str] | None:
    """(tonic pitch class, "major" | "minor"): the key signature the file states, else the
    Krumhansl-Kessler profile that best fits its pitch classes (weighted by duration)."""
    if len(score.key_signatures):
        ks = score.key_signatures[0]
        minor = int(ks.tonality) == 1
        tonic = (7 * int(ks.key) + (9 if minor else 0)) % 12
        return tonic, "minor" if minor else "major"
    weights = [0.0] * 12
    for track in score.tracks:
        if not track.is_drum:
            for note in track.notes:
                weights[note.pitch % 12] += note.duration
    if not any(weights):
        return None
    return max(
        ((pc, mode) for mode in MODES for pc in range(12)),
        key=lambda k: _correlation(weights, _PROFILES[k[1]], k[0]),
    )


def _correlation(weights: list[float], profile: tuple[float, ...], tonic: int) -> float:
    rotated = [profile[(i - tonic) % 12] for i in range(12)]
    mw, mp = sum(weights) / 12, sum(rotated) / 12
    num = sum((w - mw) * (p - mp) for w, p in zip(weights, rotated, strict=True))
    den = (sum((w - mw) ** 2 for w in weights) * sum((p - mp) ** 2 for p in rotated)) ** 0.5
    return num / den if den else 0.0


def header_ids(
    tokenizer: miditok.REMI, *, style: str | None, key: tuple[int, str] | None
) -> list[int]:
    """``[BOS, Style, Key]`` ids; a control the tokenizer lacks (older checkpoints) is left out."""
    names = [style_token(style) if style else None, key_token(*key) if key else None]
    vocab = tokenizer.vocab
    return [tokenizer["BOS_None"]] + [vocab[n] for n in names if n and n in vocab]


def encode_piece(tokenizer: miditok.REMI, score: symusic.Score, *, style: str | None) -> list[int]:
    """``header + tokens + [EOS]`` of a piece; empty when it has no pitched notes."""
    ids = encode_score(tokenizer, score)
    if not ids:
        return []
    return [*header_ids(tokenizer, style=style, key=score_key(score)), *ids, tokenizer["EOS_None"]]


def read_score(path: str | Path) -> symusic.Score:
    """A MIDI file as a score; ``ValueError`` naming the file when it cannot be read."""
    try:
        return symusic.Score(str(path))
    except Exception as exc:  # symusic raises plain RuntimeErrors on broken files
        raise ValueError(f"cannot read MIDI file {path}: {exc}") from exc


def encode_file(tokenizer: miditok.REMI, path: str | Path) -> list[int]:
    """Token ids of a MIDI file; raises ``ValueError`` naming the file when it cannot be read."""
    return encode_score(tokenizer, read_score(path))


def decode_ids(tokenizer: miditok.REMI, ids: list[int]) -> symusic.Score:
    """A score (in ticks) from token ids; special and control tokens are dropped."""
    specials = {tokenizer.vocab[name] for name in tokenizer.special_tokens}
    clean = [i for i in ids if i not in specials]
    return tokenizer.decode([miditok.TokSequence(ids=clean)])


def find_midi_files(dirs: list[str | Path]) -> list[Path]:
    """Every .mid/.midi file under the folders, sorted (a missing folder is an error)."""
    files: list[Path] = []
    for folder in dirs:
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"MIDI folder not found: {folder}")
        files.extend(p for p in folder.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES)
    return sorted(set(files))


def opening_ids(tokenizer: miditok.REMI, ids: list[int], bars: int) -> list[int]:
    """The first ``bars`` bars of a token sequence (used as a primer), from its first bar with
    a note: a piece's leading silence (a pop song's count-in, a tune that starts late in its
    track) is not its opening."""
    bar = tokenizer["Bar_None"]
    first_note = next((i for i, t in enumerate(ids) if tokenizer[t].startswith("Pitch_")), 0)
    start = max((i for i, t in enumerate(ids[: first_note + 1]) if t == bar), default=0)
    ids = ids[start:]
    seen = 0
    for i, tok in enumerate(ids):
        if tok == bar:
            seen += 1
            if seen > bars:
                return ids[:i]
    return list(ids)
