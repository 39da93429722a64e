"""The sampler's musical guidance: clash guard, form plan (repeated sections), cadences."""

import pytest

from generator.ml.checkpoint import load_checkpoint
from generator.ml.constraints import Constraints
from generator.ml.sample import SampleSettings, generate


@pytest.fixture(scope="module")
def loaded(tiny_checkpoint):
    model, _, tokenizer, _ = load_checkpoint(tiny_checkpoint)
    return model, tokenizer


def _clash_share(score) -> float:
    """Share of pairs of notes sounding together that are 1 or 11 semitones apart (mod 12)."""
    notes = [n for t in score.tracks for n in t.notes]
    pairs = clashes = 0
    for i, a in enumerate(notes):
        for b in notes[i + 1 :]:
            if a.time < b.time + b.duration and b.time < a.time + a.duration:
                pairs += 1
                clashes += (a.pitch - b.pitch) % 12 in {1, 11}
    return clashes / max(pairs, 1)


def test_clash_guard_keeps_semitones_apart(loaded):
    model, tok = loaded
    shares = {}
    for guard in (False, True):
        scores = [
            generate(
                model,
                tok,
                constraints=Constraints(bars=8, max_polyphony=4, avoid_clashes=guard),
                settings=SampleSettings(seed=seed, temperature=1.5),
            ).score
            for seed in range(3)
        ]
        shares[guard] = sum(_clash_share(s) for s in scores) / len(scores)
    assert shares[False] > 0.05  # the unguarded sampler does clash
    assert shares[True] < shares[False] / 5
