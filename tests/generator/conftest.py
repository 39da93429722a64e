"""Fixtures for the generator tests: small synthetic MIDI pieces and a tiny trained checkpoint."""

import random
from pathlib import Path

import pretty_midi
import pytest

C_MAJOR = [0, 2, 4, 5, 7, 9, 11]


def write_piece(path: Path, seed: int, bars: int = 8, tempo: float = 120.0) -> Path:
    """A C-major piece: a melody in eighths over half-note chords (4/4)."""
    rng = random.Random(seed)
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0))
    melody = pretty_midi.Instrument(program=0, name="melody")
    chords = pretty_midi.Instrument(program=0, name="chords")
    beat = 60.0 / tempo
    step = rng.choice(C_MAJOR)
    for i in range(bars * 8):
        step = max(0, min(20, step + rng.choice([-2, -1, 1, 2])))
        pitch = 60 + 12 * (step // 7) + C_MAJOR[step % 7]
        melody.notes.append(pretty_midi.Note(80, pitch, i * beat / 2, (i + 1) * beat / 2))
    for i in range(bars * 2):
        root = rng.choice([48, 53, 55, 57])
        for p in (root, root + 4 if root in (48, 53, 55) else root + 3, root + 7):
            chords.notes.append(pretty_midi.Note(70, p, i * 2 * beat, (i + 1) * 2 * beat))
    pm.instruments.extend([melody, chords])
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


@pytest.fixture(scope="session")
def midi_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("midi")
    for i in range(12):
        write_piece(folder / f"piece{i:02d}.mid", seed=i)
    return folder


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, midi_dir) -> Path:
    """A tiny transformer trained for a few seconds on the synthetic pieces."""
    import torch

    from generator.ml.config import ModelConfig, TrainConfig
    from generator.ml.tokenizer import find_midi_files
    from generator.ml.train import train_on_files

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("ckpt")
    train_on_files(
        paths=find_midi_files([midi_dir]),
        out_dir=out,
        model_config=ModelConfig.tiny(),
        train_config=TrainConfig.tiny(),
        progress=False,
    )
    return out


@pytest.fixture
def active_version(db, tiny_checkpoint):
    """The tiny checkpoint registered as the active generator version."""
    from generator import services

    services._load.cache_clear()
    return services.generator_version_register(
        name="tiny", artifact_path=str(tiny_checkpoint), activate=True
    )


@pytest.fixture
def catalog_track(db, tmp_path):
    """A published catalog track with a real MIDI file (3/4 is not asked: 4/4, C major)."""
    from catalog.services import track_ingest

    def make(seed: int = 0, **kwargs):
        path = write_piece(tmp_path / f"cat{seed}.mid", seed=seed)
        return track_ingest(filename=path.name, data=path.read_bytes(), **kwargs)

    return make
