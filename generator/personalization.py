"""Conditioning from a listener's taste: which style (and so which ensemble), key, metre,
tempo and temperature.

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

from accounts.models import Profile
from catalog.models import Track
from generator.ml.compose import safe_time_signature
from generator.ml.styles import COLLECTION_STYLES, DEFAULT_STYLE, STYLES
from generator.models import GenerationJob
from generator.selectors import track_style
from recommender.listening import selectors as listening_selectors

TEMPERATURE_ARMS = (0.8, 0.95, 1.1)
DEFAULT_TEMPO = 100.0
# A new listener's song is in one of the keys the corpus's tunes are most often in: a named key
# lets the sampler close phrases and the piece on its tonic.
FRESH_KEYS = ("C major", "G major", "D major", "F major", "A minor", "D minor", "E minor")


@dataclass
class Conditioning:
    """Everything the worker needs to write one piece (stored on the job as ``settings``)."""

    primer_track_id: int | None  # the loved piece the song is modelled on (None: none)
    style: str | None  # generator.ml.styles key
    key: str | None
    tempo_bpm: float
    time_signature: str
    max_polyphony: int
    temperature: float
    seconds: float
    reason: str  # in words, for the page: what the song was made from, every word true

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


def _picked_style(user, rng: random.Random) -> str | None:
    """A style among the collections the listener picked when they joined (None: none)."""
    profile = Profile.objects.filter(user=user).prefetch_related("collections").first()
    names = [c.name for c in profile.collections.all()] if profile else []
    styles = sorted({COLLECTION_STYLES[n] for n in names if n in COLLECTION_STYLES})
    return rng.choice(styles) if styles else None


def listener_styles(user) -> list[str]:
    """The styles of the listener's loved pieces (most loved first), then of their sign-up
    picks: the styles offered first on the page."""
    counts = Counter(track_style(t) for t, _ in _liked_tracks(user))
    profile = Profile.objects.filter(user=user).prefetch_related("collections").first()
    picked = [c.name for c in profile.collections.all()] if profile else []
    ordered = [s for s, _ in counts.most_common()]
    ordered += [COLLECTION_STYLES[n] for n in picked if n in COLLECTION_STYLES]
    return list(dict.fromkeys(ordered))


def conditioning_for(
    user,
    *,
    seconds: float = 30.0,
    seed: int | None = None,
    style: str | None = None,
    like: GenerationJob | None = None,
) -> Conditioning:
    """Build the conditioning for one new piece from the listener's taste.

    With loved pieces: one of them (drawn by stars) names the style, key, metre and tempo
    (the tempo is the median of the loved pieces in that style). Without: a style among the
    collections picked when they joined, else a folk song; a common key, a moderate tempo.
    ``style`` (asked for) narrows the loved pieces to that style, or writes it afresh; ``like``
    (one of the listener's finished songs) takes its style, key, metre and tempo. The
    temperature comes from the listener's bandit either way.
    """
    rng = random.Random(seed)
    temperature = choose_temperature(user, rng)
    if like is not None:
        return _more_like(like, temperature=temperature, seconds=seconds)
    liked = [(t, w) for t, w in _liked_tracks(user) if t.midi_file]
    if style is not None:
        liked = [(t, w) for t, w in liked if track_style(t) == style]
    if not liked:
        asked = style is not None
        style = style or _picked_style(user, rng)
        chosen = STYLES[style or DEFAULT_STYLE]
        key = rng.choice(FRESH_KEYS)
        if asked:
            reason = f"In the style of the {chosen.label} you asked for, for {chosen.ensemble}"
        elif style:
            reason = (
                f"In the style of the {chosen.label} you picked when you joined, "
                f"for {chosen.ensemble}"
            )
        else:
            reason = f"A fresh {chosen.one} for {chosen.ensemble}"
        tail = "." if style else ": rate some music and the next ones will follow your taste."
        return Conditioning(
            primer_track_id=None,
            style=chosen.key,
            key=key,
            tempo_bpm=DEFAULT_TEMPO,
            time_signature="4/4",
            max_polyphony=max(1, len(chosen.parts)),
            temperature=temperature,
            seconds=seconds,
            reason=f"{reason}, in {key}{tail}",
        )
    model = rng.choices([t for t, _ in liked], weights=[w for _, w in liked], k=1)[0]
    return conditioning_from_loved(
        model, [t for t, _ in liked], temperature=temperature, seconds=seconds
    )


def _more_like(job: GenerationJob, *, temperature: float, seconds: float) -> Conditioning:
    """Another song with ``job``'s style, key, metre and tempo (a fresh seed decides the rest)."""
    old = job.settings or {}
    chosen = STYLES.get(old.get("style") or "", STYLES[DEFAULT_STYLE])
    key = old.get("key") or None
    title = job.track.title if job.track else f"song {job.pk}"
    words = f"More like your “{title}”: {chosen.one} for {chosen.ensemble}"
    return Conditioning(
        primer_track_id=job.primer_track_id,
        style=chosen.key,
        key=key,
        tempo_bpm=float(old.get("tempo_bpm") or DEFAULT_TEMPO),
        time_signature=safe_time_signature(old.get("time_signature")),
        max_polyphony=max(1, len(chosen.parts)),
        temperature=temperature,
        seconds=seconds,
        reason=f"{words}, in {key}." if key else f"{words}.",
    )


def conditioning_from_loved(
    model: Track, loved: list[Track], *, temperature: float, seconds: float
) -> Conditioning:
    """A song modelled on ``model``, one of the ``loved`` pieces: its style, its key (else the
    commonest among the loved pieces of that style), its metre, their median tempo."""
    style = STYLES[track_style(model)]
    same_style = [t for t in loved if track_style(t) == style.key] or [model]
    keys = Counter(t.key for t in same_style if t.key)
    key = model.key or (keys.most_common(1)[0][0] if keys else None)
    tempo = statistics.median(t.tempo_bpm for t in same_style if t.tempo_bpm) or DEFAULT_TEMPO
    words = (
        f"In the style of the {style.label} you loved (like “{model.title}”), for {style.ensemble}"
    )
    return Conditioning(
        primer_track_id=model.pk,
        style=style.key,
        key=key or None,
        tempo_bpm=float(min(200.0, max(40.0, tempo))),
        time_signature=safe_time_signature(model.time_signature),
        max_polyphony=max(1, len(style.parts)),
        temperature=temperature,
        seconds=seconds,
        reason=f"{words}, in {key}." if key else f"{words}.",
    )
