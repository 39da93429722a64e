"""MIDI → audio (Ogg Vorbis and MP3) and MIDI → piano-roll PNG. Pure functions, no Django.

Audio: symusic 0.5.8's SoundFont synthesizer with the General MIDI SoundFont that ships in
pretty_midi's wheel (TimGM6mb.sf2), peak-normalised, encoded with libsndfile (soundfile): Ogg
Vorbis, and MP3 (LAME, in libsndfile since 1.1) for the players that cannot decode Vorbis (iOS).
Piano roll: Pillow, pitch on y, time on x, one colour per instrument track.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile
import symusic
from PIL import Image, ImageDraw

logger = logging.getLogger(__name__)

SAMPLE_RATE = 44100
PEAK = 0.89  # about -1 dBFS
TAIL_SECONDS = 1.0  # let the last notes ring out
# libsndfile's Vorbis setting (0 = best quality, 1 = smallest): 0.9 is about 80 kbit/s stereo,
# plenty for a General MIDI synth: the ~1,100 demo pieces (~15 hours) take about 500 MB.
VORBIS_COMPRESSION = 0.9
# libsndfile's MP3 setting, VBR (0 = best, 1 = smallest; about LAME's -V0 to -V9): 0.5 measured
# 70-125 kbit/s stereo on seven demo pieces (a Bach chorale 125, a quartet movement 96, an Irish
# reel 75), 1.1-2x the Ogg's size: MP3 needs more bits than Vorbis for the same sound.
MP3_COMPRESSION = 0.5
ROLL_SIZE = (900, 300)
ROLL_BACKGROUND = (250, 248, 244)
ROLL_GRID = (226, 221, 212)
PALETTE = [
    (37, 99, 235),
    (220, 38, 38),
    (22, 163, 74),
    (217, 119, 6),
    (147, 51, 234),
    (8, 145, 178),
    (219, 39, 119),
    (101, 163, 13),
]
DRUM_COLOUR = (87, 83, 78)


@dataclass(frozen=True)
class RenderedMedia:
    audio: bytes  # Ogg Vorbis
    pianoroll: bytes  # PNG
    audio_seconds: float


def soundfont_path() -> Path:
    """The General MIDI SoundFont bundled with pretty_midi."""
    return Path(pretty_midi.__file__).with_name("TimGM6mb.sf2")


@lru_cache(maxsize=1)
def _synthesizer() -> symusic.Synthesizer:
    return symusic.Synthesizer(sf_path=str(soundfont_path()), sample_rate=SAMPLE_RATE)


def synthesize(midi_bytes: bytes) -> np.ndarray:
    """Render MIDI bytes to a normalised float32 array of shape (samples, 2)."""
    score = symusic.Score.from_midi(midi_bytes)
    raw = _synthesizer().render(score, stereo=True)
    # Copy while `raw` is alive: symusic's buffer is freed with it.
    audio = np.array(raw, dtype=np.float32, copy=True).T
    del raw
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 0:
        audio *= PEAK / peak
    tail = np.zeros((int(TAIL_SECONDS * SAMPLE_RATE), 2), dtype=np.float32)
    return np.concatenate([audio, tail]) if audio.size else tail


def _encode(audio: np.ndarray, sample_rate: int, **options) -> bytes:
    """Encode (samples, channels) float audio with libsndfile ``options`` (format, subtype...).

    Written in one-second blocks: libsndfile's Vorbis encoder crashes on very large writes.
    """
    buffer = io.BytesIO()
    with soundfile.SoundFile(buffer, "w", sample_rate, audio.shape[1], **options) as handle:
        for start in range(0, len(audio), sample_rate):
            handle.write(audio[start : start + sample_rate])
    return buffer.getvalue()


def encode_ogg(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Encode (samples, channels) float audio as Ogg Vorbis."""
    return _encode(
        audio,
        sample_rate,
        format="OGG",
        subtype="VORBIS",
        compression_level=VORBIS_COMPRESSION,
    )


def encode_mp3(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Encode (samples, channels) float audio as variable-bitrate MP3 (MPEG-1 Layer III).

    The file opens with a LAME/Xing header, so players know its duration and decoders trim the
    encoder's padding (it decodes to exactly ``len(audio)`` samples).
    """
    return _encode(
        audio,
        sample_rate,
        format="MP3",
        subtype="MPEG_LAYER_III",
        compression_level=MP3_COMPRESSION,
        bitrate_mode="VARIABLE",
    )


ROLL_MARGIN = 2  # semitones of room below the lowest note and above the highest


def draw_pianoroll(midi: pretty_midi.PrettyMIDI, size: tuple[int, int] = ROLL_SIZE) -> bytes:
    """A PNG piano roll: each track in its own colour, octave lines at every C."""
    width, height = size
    image = Image.new("RGB", size, ROLL_BACKGROUND)
    draw = ImageDraw.Draw(image)
    notes = [n for inst in midi.instruments for n in inst.notes]
    if not notes:
        return _png(image)
    end = max(n.end for n in notes) or 1.0
    low = min(n.pitch for n in notes) - ROLL_MARGIN
    high = max(n.pitch for n in notes) + ROLL_MARGIN
    row = height / (high - low + 1)
    for pitch in range(low, high + 1):
        if pitch % 12 == 0:
            y = height - (pitch - low + 1) * row
            draw.line([(0, y + row), (width, y + row)], fill=ROLL_GRID, width=1)
    pitched = [inst for inst in midi.instruments if not inst.is_drum]
    for index, inst in enumerate(midi.instruments):
        colour = DRUM_COLOUR if inst.is_drum else PALETTE[pitched.index(inst) % len(PALETTE)]
        for note in inst.notes:
            x0 = note.start / end * (width - 1)
            x1 = max(x0 + 1.5, note.end / end * (width - 1) - 0.5)
            y1 = height - (note.pitch - low) * row
            y0 = y1 - max(row - 0.5, 1.5)
            draw.rectangle([x0, y0, x1, y1], fill=colour)
        logger.debug("drew track %s (%s notes)", index, len(inst.notes))
    return _png(image)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def render_media(midi_bytes: bytes) -> RenderedMedia:
    """Audio (Ogg) and piano roll for one MIDI file: what makes a piece playable.

    The MP3 (``encode_mp3``) comes after, in a task of its own: it costs about three times the
    rest, and a piece should play as soon as it can (``catalog.services.track_encode_mp3``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        midi = pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes))
    audio = synthesize(midi_bytes)
    return RenderedMedia(
        audio=encode_ogg(audio),
        pianoroll=draw_pianoroll(midi),
        audio_seconds=len(audio) / SAMPLE_RATE,
    )
