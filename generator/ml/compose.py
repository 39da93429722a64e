"""Write one song from a spec: the header names its style and key, the sampler writes the bars,
the ensemble shares the notes out among the style's parts. The worker and ``generate_songs``
both call ``compose``, so a song written for evaluation is written the way the site writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import miditok
from torch import nn

from generator.ml.constraints import Constraints
from generator.ml.ensemble import parts_of, split_voices
from generator.ml.sample import Generated, SampleSettings, bars_for_seconds, generate
from generator.ml.tokenizer import NOTE_NAMES, header_ids

TIME_SIGNATURES = ("2/4", "3/4", "4/4", "6/8", "3/8", "9/8", "12/8", "2/2")
_FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#", "Cb": "B", "Fb": "E"}


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
    top_p: float = 0.95

    def to_dict(self) -> dict:
        return asdict(self)


def parse_key(key: str) -> tuple[int, str]:
    """``"Bb major"`` → ``(10, "major")``; ``ValueError`` naming what is wrong."""
    parts = key.replace("-", "b").split()
    if len(parts) != 2 or parts[1].lower() not in {"major", "minor"}:
        raise ValueError(f"key must look like 'D minor' or 'Bb major', got {key!r}")
    tonic = parts[0][0].upper() + parts[0][1:]
    tonic = _FLATS.get(tonic, tonic)
    if tonic not in NOTE_NAMES:
        raise ValueError(f"unknown tonic in key {key!r}")
    return NOTE_NAMES.index(tonic), parts[1].lower()


def safe_time_signature(value: str | None) -> str:
    """The metre itself when the tokenizer writes it, else 4/4 (the stated fallback)."""
    return value if value in TIME_SIGNATURES else "4/4"


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
    constraints = Constraints(
        bars=bars_for_seconds(spec.seconds, spec.tempo_bpm, metre),
        key=spec.key or None,
        tempo_bpm=spec.tempo_bpm,
        time_signature=metre,
        max_polyphony=max(1, min(spec.max_polyphony, len(parts_of(spec.style).parts) + 2)),
    )
    settings = SampleSettings(temperature=spec.temperature, top_p=spec.top_p, seed=spec.seed)
    generated = generate(
        model,
        tokenizer,
        primer=header_ids(tokenizer, style=spec.style, key=key),
        constraints=constraints,
        settings=settings,
        on_progress=on_progress,
    )
    generated.score = split_voices(generated.score, spec.style)
    return generated
