"""MIDI <-> tokens with MidiTok's REMI (Huang & Yang 2020, "Pop Music Transformer").

REMI writes a piece as ``Bar``, ``Position``, ``Tempo``, ``TimeSig`` and per-note ``Pitch`` /
``Duration`` tokens. All non-drum tracks are merged into one stream before tokenizing (the
instrument is chosen when the MIDI is written), so a note costs two tokens plus shared positions.
"""

from __future__ import annotations

import logging
from pathlib import Path

import miditok
import symusic

from generator.ml.config import TokenizerSettings

logger = logging.getLogger(__name__)

TOKENIZER_FILE = "tokenizer.json"
MIDI_SUFFIXES = (".mid", ".midi")


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
        special_tokens=["PAD", "BOS", "EOS"],
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


def encode_file(tokenizer: miditok.REMI, path: str | Path) -> list[int]:
    """Token ids of a MIDI file; raises ``ValueError`` naming the file when it cannot be read."""
    try:
        score = symusic.Score(str(path))
    except Exception as exc:  # symusic raises plain RuntimeErrors on broken files
        raise ValueError(f"cannot read MIDI file {path}: {exc}") from exc
    return encode_score(tokenizer, score)


def decode_ids(tokenizer: miditok.REMI, ids: list[int]) -> symusic.Score:
    """A score (in ticks) from token ids; special tokens are dropped."""
    specials = {tokenizer[f"{name}_None"] for name in ("PAD", "BOS", "EOS")}
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
    """The first ``bars`` bars of a token sequence (used as a primer)."""
    bar = tokenizer["Bar_None"]
    seen = 0
    for i, tok in enumerate(ids):
        if tok == bar:
            seen += 1
            if seen > bars:
                return ids[:i]
    return list(ids)
