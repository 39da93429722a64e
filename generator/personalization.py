"""Conditioning from a listener's taste: which primer, key, tempo, density and temperature.

Reads the listener's ratings through ``recommender.listening.selectors``. The temperature is
chosen by Thompson sampling (Thompson 1933; Chapelle & Li 2011, "An Empirical Evaluation of Thompson
Sampling") over a few arms, each a Beta posterior over "the listener liked a piece generated at
this temperature", fed by their ratings of earlier generated pieces.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from dataclasses import asdict, dataclass

from catalog.models import Track
from generator.models import GenerationJob
from recommender.listening import selectors as listening_selectors

TEMPERATURE_ARMS = (0.8, 0.95, 1.1)
DEFAULT_TEMPO = 100.0


@dataclass
class Conditioning:
    """Everything the worker needs to write one piece (stored on the job as ``settings``)."""

    primer_track_id: int | None
    primer_bars: int
    key: str | None
    tempo_bpm: float
    max_polyphony: int
    temperature: float
    seconds: float
    reason: str  # in words, for the page: why these settings

    def to_dict(self) -> dict:
        return asdict(self)


def _liked_tracks(user) -> list[tuple[Track, int]]:
    """Public catalog pieces the listener loved, with a weight (stars, or 4 for a like)."""
    return [(r.track, r.stars or 4) for r in listening_selectors.loved_catalog_ratings_for(user)]


def temperature_posteriors(user) -> dict[float, tuple[int, int]]:
    """Per arm: (successes, failures) among the listener's rated generated pieces."""
    counts = {arm: (0, 0) for arm in TEMPERATURE_ARMS}
    jobs = GenerationJob.objects.filter(
        user=user, status=GenerationJob.Status.SUCCEEDED, track__isnull=False
    ).values("settings", "track_id")
    by_track = {j["track_id"]: j["settings"].get("temperature") for j in jobs}
    if not by_track:
        return counts
    for track_id, (good, bad) in listening_selectors.verdicts_for(user, by_track).items():
        arm = by_track[track_id]
        if arm not in counts:
            continue
        s, f = counts[arm]
        counts[arm] = (s + int(good), f + int(bad and not good))
    return counts


def choose_temperature(user, rng: random.Random) -> float:
    """Thompson sampling: draw from each arm's Beta(1 + s, 1 + f); play the best draw."""
    posteriors = temperature_posteriors(user)
    draws = {arm: rng.betavariate(1 + s, 1 + f) for arm, (s, f) in posteriors.items()}
    return max(draws, key=draws.__getitem__)


def conditioning_for(user, *, seconds: float = 30.0, seed: int | None = None) -> Conditioning:
    """Build the conditioning for one new piece from the listener's taste.

    With loved pieces: the opening of one of them (weighted by stars) primes the model, and key,
    tempo and density follow the loved pieces. A new listener gets no primer, a free key and a
    moderate tempo. The temperature comes from the listener's bandit either way.
    """
    rng = random.Random(seed)
    liked = [(t, w) for t, w in _liked_tracks(user) if t.midi_file]
    temperature = choose_temperature(user, rng)
    if not liked:
        return Conditioning(
            primer_track_id=None,
            primer_bars=0,
            key=None,
            tempo_bpm=DEFAULT_TEMPO,
            max_polyphony=4,
            temperature=temperature,
            seconds=seconds,
            reason="A fresh piece: rate some music and the next ones will follow your taste.",
        )
    tracks = [t for t, _ in liked]
    primer = rng.choices(tracks, weights=[w for _, w in liked], k=1)[0]
    keys = Counter(t.key for t in tracks if t.key)
    key = primer.key or (keys.most_common(1)[0][0] if keys else None)
    tempo = statistics.median(t.tempo_bpm for t in tracks if t.tempo_bpm) or DEFAULT_TEMPO
    notes_per_beat = statistics.median(
        t.note_count / max(t.duration_seconds * t.tempo_bpm / 60.0, 1.0) for t in tracks
    )
    polyphony = max(2, min(6, round(notes_per_beat * 1.5)))
    return Conditioning(
        primer_track_id=primer.pk,
        primer_bars=2,
        key=key or None,
        tempo_bpm=float(min(200.0, max(40.0, tempo))),
        max_polyphony=polyphony,
        temperature=temperature,
        seconds=seconds,
        reason=f"Starts from the opening of “{primer.title}”, which you loved.",
    )
