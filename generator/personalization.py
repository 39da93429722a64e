"""Conditioning from a listener's taste: which style (and so which ensemble), key, metre,
tempo, density and temperature.

Reads the listener's ratings through ``recommender.listening.selectors``. Two bandits learn from
their ratings of earlier generated songs, by Thompson sampling (Thompson 1933; Chapelle & Li 2011,
"An Empirical Evaluation of Thompson Sampling"): each arm is a Beta(1 + liked, 1 + disliked)
posterior over "the listener likes a song written with this arm", and the arm with the best draw
is played. One bandit is over ``TEMPERATURE_ARMS``; the other over the song's *feel*, a pair of a
tempo factor (times the tempo the taste chose, clamped to 40-200 BPM) and a density (the
sampler's ``density_bias``: sparse, plain or dense onsets), tempo and density each drawn from
its own margin. A like or 4-5 stars is a success; "not interested", 1-2 stars or a skip (of a
song never played through) a failure. Each song
stores its arms in its settings (``temperature``, ``tempo_factor``, ``density``), so a rating
steers the very next song. Until the listener has rated a song written with a feel, the feel is
their loved pieces' own (x1, plain). A tempo the listener asks for wins over the tempo factor,
and that song teaches the feel bandit nothing. The bandits' math (``arm_counts``,
``thompson_draw``, ``draw_feel``, ``next_arms``) and the song from loved pieces
(``song_from_loved``) need no database (``bench/personal.py`` uses them).
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, TypeVar

import miditok
import pretty_midi
import symusic

from accounts.models import Profile
from catalog.models import Track
from generator.ml.accompaniment import split_accompanied
from generator.ml.compose import PROMPT_BARS, prompt_ids, safe_time_signature
from generator.ml.form import piece_form, plan_form
from generator.ml.sample import bars_for_seconds
from generator.ml.styles import COLLECTION_STYLES, DEFAULT_STYLE, STYLES
from generator.models import GenerationJob
from generator.selectors import track_style
from recommender.listening import selectors as listening_selectors

TEMPERATURE_ARMS = (0.8, 0.95, 1.1)
TEMPO_FACTORS = (0.8, 1.0, 1.25)
# the sampler's density_bias per density: about half, the same and 1.3 times the notes per second
# of a plain song (12-s songs of the demo checkpoint, chorale / Irish / folk song, 12 seeds each)
DENSITY_BIAS = {"sparse": -1.0, "plain": 0.0, "dense": 1.5}
DEFAULT_TEMPO = 100.0
# A new listener's song is in one of the keys the corpus's tunes are most often in: a named key
# lets the sampler close phrases and the piece on its tonic.
FRESH_KEYS = ("C major", "G major", "D major", "F major", "A minor", "D minor", "E minor")


@dataclass(frozen=True)
class Feel:
    """One arm of the feel bandit: how much faster than chosen, and how dense."""

    tempo_factor: float
    density: str  # a DENSITY_BIAS key

    def words(self) -> list[str]:
        """What this feel changes, in words ("a faster tempo", "denser writing")."""
        tempo = {0.8: "a slower tempo", 1.25: "a faster tempo"}.get(self.tempo_factor)
        density = {"sparse": "sparser writing", "dense": "denser writing"}.get(self.density)
        return [w for w in (tempo, density) if w]


FEEL_ARMS = tuple(Feel(t, d) for t in TEMPO_FACTORS for d in DENSITY_BIAS)
NEUTRAL_FEEL = Feel(1.0, "plain")
Arm = TypeVar("Arm", bound=Hashable)
Outcome = tuple[Mapping[str, Any], bool, bool]  # a rated song's settings, (liked, disliked)


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
    tempo_factor: float | None = 1.0  # the feel arm (None: not the bandit's, nothing to learn)
    density: str | None = "plain"
    density_bias: float = 0.0  # the sampler knob the density maps to
    form_source: str = ""  # the loved piece's bar letters (form.piece_form): where it repeats
    prompt_bars: int = 0  # the loved piece's first bars the model reads before it writes
    accompaniment: dict | None = None  # the loved piece's chords (Accompaniment.to_dict())

    def to_dict(self) -> dict:
        return asdict(self)


def _liked_tracks(user) -> list[tuple[Track, int]]:
    """Public catalog pieces the listener loved, with a weight (stars, or 4 for a like)."""
    return [(r.track, r.stars or 4) for r in listening_selectors.loved_catalog_ratings_for(user)]


def arm_counts(outcomes: Iterable[tuple[Arm | None, bool, bool]], arms: Iterable[Arm]) -> dict:
    """Per arm: (successes, failures) among rated songs ``(arm, liked, disliked)``; songs of
    an unknown arm (None, or one no longer offered) are left out."""
    counts = {arm: (0, 0) for arm in arms}
    for arm, good, bad in outcomes:
        if arm is None or arm not in counts:
            continue
        s, f = counts[arm]
        counts[arm] = (s + int(good), f + int(bad and not good))
    return counts


def thompson_draw(counts: Mapping[Arm, tuple[int, int]], rng: random.Random) -> Arm:
    """Thompson sampling: draw from each arm's Beta(1 + s, 1 + f); the arm of the best draw."""
    draws = {arm: rng.betavariate(1 + s, 1 + f) for arm, (s, f) in counts.items()}
    return max(draws, key=draws.__getitem__)


def feel_of(settings: Mapping[str, Any]) -> Feel | None:
    """The feel arm a song's settings were written with (None: none of the bandit's)."""
    feel = Feel(settings.get("tempo_factor"), settings.get("density"))  # type: ignore[arg-type]
    return feel if feel in FEEL_ARMS else None


def temperature_counts(outcomes: Iterable[Outcome]) -> dict[float, tuple[int, int]]:
    return arm_counts(((o.get("temperature"), g, b) for o, g, b in outcomes), TEMPERATURE_ARMS)


def feel_counts(outcomes: Iterable[Outcome]) -> dict[Feel, tuple[int, int]]:
    return arm_counts(((feel_of(o), g, b) for o, g, b in outcomes), FEEL_ARMS)


def draw_feel(counts: Mapping[Feel, tuple[int, int]], rng: random.Random) -> Feel:
    """The neutral feel until a song with a feel is rated, then Thompson sampling on tempo
    and on density apart, each from the ratings of every song with that tempo (density): a
    rating teaches three arms of nine, so fewer ratings find a liked feel."""
    if not any(s + f for s, f in counts.values()):
        return NEUTRAL_FEEL
    tempo = thompson_draw(_margin(counts, lambda feel: feel.tempo_factor), rng)
    density = thompson_draw(_margin(counts, lambda feel: feel.density), rng)
    return Feel(tempo, density)


def _margin(counts: Mapping[Feel, tuple[int, int]], part: Callable[[Feel], Hashable]) -> dict:
    """(successes, failures) summed over the feels that share ``part(feel)``."""
    out: dict = {}
    for feel, (s, f) in counts.items():
        s0, f0 = out.get(part(feel), (0, 0))
        out[part(feel)] = (s0 + s, f0 + f)
    return out


def next_arms(rated: Iterable[Outcome], rng: random.Random) -> tuple[float, Feel]:
    """The next song's temperature and feel, by Thompson sampling on the ``rated`` songs."""
    rated = list(rated)
    return thompson_draw(temperature_counts(rated), rng), draw_feel(feel_counts(rated), rng)


def rated_songs(user) -> list[Outcome]:
    """The settings of each of the listener's finished songs they rated or skipped, with the
    verdict ``(liked, disliked)``: a rating's (a like or 4-5 stars; "not interested" or 1-2
    stars), else disliked when they skipped it and never played it through."""
    jobs = GenerationJob.objects.filter(
        user=user, status=GenerationJob.Status.SUCCEEDED, track__isnull=False
    ).values("settings", "track_id")
    by_track = {j["track_id"]: j["settings"] or {} for j in jobs}
    if not by_track:
        return []
    verdicts = listening_selectors.verdicts_for(user, by_track)
    listens = (
        listening_selectors.listens_for(user)
        .filter(track_id__in=list(by_track))
        .values_list("track_id", "skipped", "counted")
    )
    played = {t for t, _, counted in listens if counted}
    for track_id in {t for t, skipped, _ in listens if skipped} - played - verdicts.keys():
        verdicts[track_id] = (False, True)  # skipped, never played through, not rated
    # SQL's verdicts are NULL, not false, where the stars are unset (a like alone)
    return [(by_track[t], bool(good), bool(bad)) for t, (good, bad) in verdicts.items()]


def temperature_posteriors(user) -> dict[float, tuple[int, int]]:
    """Per arm: (successes, failures) among the listener's rated generated pieces."""
    return temperature_counts(rated_songs(user))


def choose_temperature(user, rng: random.Random) -> float:
    """Thompson sampling over the temperature arms, from the listener's ratings."""
    return thompson_draw(temperature_posteriors(user), rng)


def with_feel(cond: Conditioning, feel: Feel, *, tempo_bpm: float | None = None) -> Conditioning:
    """``cond`` played with ``feel``: its tempo times the factor (clamped to 40-200 BPM), the
    density's sampler knob, and the reason saying what the listener's ratings changed (only
    what did change). A tempo asked for (``tempo_bpm``) is kept, and the song is then none of
    the feel bandit's: it teaches it nothing."""
    if tempo_bpm is not None:
        tempo, factor = float(tempo_bpm), None
    else:
        tempo = min(200.0, max(40.0, cond.tempo_bpm * feel.tempo_factor))
        factor = feel.tempo_factor
    scaled = factor is not None and tempo != cond.tempo_bpm
    words = Feel(feel.tempo_factor if scaled else 1.0, feel.density).words()
    said = f" Your ratings of earlier songs chose {' and '.join(words)}." if words else ""
    return replace(
        cond,
        tempo_bpm=tempo,
        tempo_factor=factor,
        density=feel.density,
        density_bias=DENSITY_BIAS[feel.density],
        reason=cond.reason + said,
    )


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
    tempo_bpm: float | None = None,
) -> Conditioning:
    """Build the conditioning for one new piece from the listener's taste.

    With loved pieces: one of them (drawn by stars) names the style, key, metre and tempo
    (the tempo is the median of the loved pieces in that style). Without: a style among the
    collections picked when they joined, else a folk song; a common key, a moderate tempo.
    ``style`` (asked for) narrows the loved pieces to that style, or writes it afresh; ``like``
    (one of the listener's finished songs) takes its style, key, metre, tempo and density.
    The temperature comes from the listener's bandit either way, and the feel (tempo factor,
    density) from theirs unless ``like``; ``tempo_bpm`` (asked for) is the tempo.
    """
    rng = random.Random(seed)
    temperature, feel = next_arms(rated_songs(user), rng)
    if like is not None:
        return _more_like(like, temperature=temperature, seconds=seconds, tempo_bpm=tempo_bpm)
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
        fresh = Conditioning(
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
        return with_feel(fresh, feel, tempo_bpm=tempo_bpm)
    return song_from_loved(
        liked, rng, temperature=temperature, seconds=seconds, feel=feel, tempo_bpm=tempo_bpm
    )


def song_from_loved(
    liked: list[tuple[Track, int]],
    rng: random.Random,
    *,
    temperature: float,
    seconds: float,
    feel: Feel = NEUTRAL_FEEL,
    tempo_bpm: float | None = None,
) -> Conditioning:
    """A song modelled on one of the ``liked`` pieces, drawn by weight (stars), as
    ``conditioning_from_loved`` writes it."""
    model = rng.choices([t for t, _ in liked], weights=[w for _, w in liked], k=1)[0]
    return conditioning_from_loved(
        model,
        [t for t, _ in liked],
        temperature=temperature,
        seconds=seconds,
        feel=feel,
        tempo_bpm=tempo_bpm,
    )


def _more_like(
    job: GenerationJob, *, temperature: float, seconds: float, tempo_bpm: float | None
) -> Conditioning:
    """Another song with ``job``'s style, key, metre, tempo (unless one is asked for) and
    density (a fresh seed decides the rest); none of the feel bandit's."""
    old = job.settings or {}
    chosen = STYLES.get(old.get("style") or "", STYLES[DEFAULT_STYLE])
    key = old.get("key") or None
    title = job.track.title if job.track else f"song {job.pk}"
    words = f"More like your “{title}”: {chosen.one} for {chosen.ensemble}"
    return Conditioning(
        primer_track_id=job.primer_track_id,
        style=chosen.key,
        key=key,
        tempo_bpm=float(tempo_bpm or old.get("tempo_bpm") or DEFAULT_TEMPO),
        time_signature=safe_time_signature(old.get("time_signature")),
        max_polyphony=max(1, len(chosen.parts)),
        temperature=temperature,
        seconds=seconds,
        reason=f"{words}, in {key}." if key else f"{words}.",
        tempo_factor=None,
        density=old.get("density") if old.get("density") in DENSITY_BIAS else None,
        density_bias=float(old.get("density_bias") or 0.0),
        form_source=str(old.get("form_source") or ""),
        prompt_bars=int(old.get("prompt_bars") or 0),
        accompaniment=old.get("accompaniment") or None,
    )


def conditioning_from_loved(
    model: Track,
    loved: list[Track],
    *,
    temperature: float,
    seconds: float,
    feel: Feel = NEUTRAL_FEEL,
    tempo_bpm: float | None = None,
) -> Conditioning:
    """A song modelled on ``model``, one of the ``loved`` pieces: its style, its key (else the
    commonest among the loved pieces of that style), its metre, its form (``form.piece_form``:
    the song repeats bars where it does), its first ``PROMPT_BARS`` bars for the model to read
    first, their median tempo, played with ``feel`` (``with_feel``; ``tempo_bpm``, asked for,
    is the tempo). Reads the pieces' fields and collection and the model's MIDI, so unsaved
    ``Track`` objects do (``bench/personal.py``)."""
    style = STYLES[track_style(model)]
    same_style = [t for t in loved if track_style(t) == style.key] or [model]
    keys = Counter(t.key for t in same_style if t.key)
    key = model.key or (keys.most_common(1)[0][0] if keys else None)
    tempo = statistics.median(t.tempo_bpm for t in same_style if t.tempo_bpm) or DEFAULT_TEMPO
    words = (
        f"In the style of the {style.label} you loved (like “{model.title}”), for {style.ensemble}"
    )
    score = track_score(model)
    # a one-line style's song on a tune over chords gets chords like the piece's
    accompaniment = split_accompanied(score)[1] if score and len(style.parts) == 1 else None
    loved_feel = Conditioning(
        primer_track_id=model.pk,
        style=style.key,
        key=key or None,
        tempo_bpm=float(min(200.0, max(40.0, tempo))),
        time_signature=safe_time_signature(model.time_signature),
        max_polyphony=max(1, len(style.parts)),
        temperature=temperature,
        seconds=seconds,
        reason=f"{words}, in {key}." if key else f"{words}.",
        form_source=piece_form(score) if score is not None else "",
        prompt_bars=PROMPT_BARS if score is not None else 0,
        accompaniment=accompaniment.to_dict() if accompaniment else None,
    )
    if loved_feel.prompt_bars:
        loved_feel.reason += (
            f" The model read the first {loved_feel.prompt_bars} bars of “{model.title}” "
            "before it began."
        )
    if accompaniment is not None:
        chords = pretty_midi.program_to_instrument_name(accompaniment.program)
        loved_feel.reason += f" {chords} chords accompany its tune, as in “{model.title}”."
    song = with_feel(loved_feel, feel, tempo_bpm=tempo_bpm)
    bars = bars_for_seconds(song.seconds, song.tempo_bpm, song.time_signature)
    if song.form_source and plan_form(bars, song.form_source).replays():
        song.reason += f" It repeats bars where “{model.title}” does."
    return song


def track_score(track: Track | None) -> symusic.Score | None:
    """A catalog piece's MIDI as a score; None when it is missing, cannot be read or has no
    pitched note (the song is then written without its form and prompt)."""
    if track is None or not track.midi_file:
        return None
    try:
        with track.midi_file.open("rb") as midi:
            score = symusic.Score.from_midi(midi.read())
    except (OSError, ValueError, RuntimeError):
        return None
    return score if any(not t.is_drum and len(t.notes) for t in score.tracks) else None


def track_prompt(
    track: Track | None, tokenizer: miditok.REMI, bars: int, *, tune_only: bool = False
) -> list[int]:
    """The prompt (``compose.prompt_ids``) of a song's model piece: its first ``bars`` bars
    (of its tune alone, with ``tune_only``, when chords accompany it); [] when ``bars`` is 0 or
    the piece cannot be read."""
    score = track_score(track) if bars > 0 else None
    if score is None:
        return []
    return prompt_ids(tokenizer, split_accompanied(score)[0] if tune_only else score, bars)
