"""Benchmark of personalization (run with ``make bench-personal``): do songs follow their
listener's taste, and do a listener's ratings steer their next songs? (issue 18)

Simulated listeners, each loving BENCH_LOVED validation-split pieces of one style of the converted
music21 corpus (``MODEL_ROOT/generator-corpus``, as ``bench/generator.py`` reads it), get songs
written the way the site writes them: ``personalization.next_arms`` (the bandits) and
``song_from_loved`` (the loved pieces' rule, on unsaved ``Track`` objects: no database), then
``services.modelled_spec`` and ``compose``. Songs and pieces are compared by
``measures.piece_features`` (the loved pieces' first BENCH_SONG_SECONDS seconds, as long as a
song), each feature z-scored over all the loved pieces; a song's similarity to a listener is
minus its Euclidean distance to the mean of that listener's loved pieces.

- *taste match*: the share of songs nearest their own listener (chance: 1 / listeners);
- *taste lift*: the mean similarity of a song to its own listener minus to the others;
- *learning*: a listener who loves BENCH_LEARNER_STYLE pieces likes only fast, dense songs: a
  written tempo above 1.1 x their loved pieces' (median) tempo and more notes per second than
  the median of a first batch (one song per feel arm, at the middle temperature). They rate
  BENCH_LEARNING_SONGS songs one after another, each rating fed to the bandits at once; the
  share of songs that follow the rule among songs 1-10 (before) and 21-30 (after 20 ratings;
  thirds of BENCH_LEARNING_SONGS when it is not 30).

Each of BENCH_SEEDS seeds writes every song afresh; the figures are given per seed, with their mean
and standard deviation. Writes bench/results/personal.json.

Environment: BENCH_CHECKPOINT (generator/checkpoints/demo), BENCH_CORPUS_DIR, BENCH_STYLES
(chorale,fiddle,irish,folksong,renaissance), BENCH_LOVED (10), BENCH_SONGS_PER_LISTENER (10),
BENCH_SONG_SECONDS (12), BENCH_SEEDS (3), BENCH_LEARNER_STYLE (chorale), BENCH_LEARNING_SONGS
(30; 0 skips learning).
"""

from __future__ import annotations

import json
import logging
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "musicsite.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")  # no secret key needed: nothing is served or stored
os.environ.setdefault("LOG_LEVEL", "WARNING")
import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from bench.generator import corpus_folder, env_float, env_int  # noqa: E402
from catalog.models import Collection, Track  # noqa: E402
from generator.corpus import read_manifest  # noqa: E402
from generator.ml.checkpoint import load_checkpoint  # noqa: E402
from generator.ml.compose import compose, spec_from_file  # noqa: E402
from generator.ml.data import split_by_identity  # noqa: E402
from generator.ml.measures import opening, piece_features  # noqa: E402
from generator.ml.styles import COLLECTION_STYLES  # noqa: E402
from generator.ml.tokenizer import read_score  # noqa: E402
from generator.personalization import (  # noqa: E402
    FEEL_ARMS,
    TEMPERATURE_ARMS,
    Conditioning,
    Outcome,
    conditioning_from_loved,
    next_arms,
    song_from_loved,
)
from generator.services import modelled_spec  # noqa: E402

logger = logging.getLogger("bench.personal")
RESULTS = ROOT / "bench" / "results"
GOAL_MATCH, GOAL_LISTENERS, GOAL_RISE = 0.8, 4, 0.25
COLLECTION_OF = {style: name for name, style in COLLECTION_STYLES.items()}
FAST = 1.1  # the learner's rule: a tempo above this times their loved pieces' tempo


@dataclass
class Listener:
    style: str
    loved: list[Track]  # unsaved: what conditioning_from_loved reads, no database
    features: np.ndarray  # (pieces, features) of the loved pieces' openings
    unloved: np.ndarray  # the same for other validation pieces of the style (the anchor)


@dataclass
class Song:
    settings: dict
    features: dict[str, float]
    tempo: float  # as written in the MIDI


def row_of(features: dict[str, float]) -> np.ndarray:
    """A feature vector, features in name order."""
    return np.array([features[k] for k in sorted(features)])


def validation_pieces(folder: Path) -> list[dict]:
    """The corpus's validation-split entries (``bench/generator.py``'s split)."""
    entries = read_manifest(folder)
    val = split_by_identity([e["ident"] for e in entries], val_fraction=0.1, test_fraction=0.1)
    return [entries[i] for i in val["val"]]


def opening_features(path: Path, seconds: float) -> dict[str, float] | None:
    """``piece_features`` of a MIDI file's first ``seconds`` seconds."""
    return piece_features(opening(read_score(path), seconds))


PIECES: dict[int, Track] = {}  # the unsaved loved pieces by their made-up id, as the job's
# primer_track would give them to the worker


def loved_track(tok, folder: Path, entry: dict, seconds: float) -> Track:
    """An unsaved catalog piece for a corpus entry: its collection (so its style), key, tempo
    and metre, read as ``spec_from_file`` reads them; an id of its own (in ``PIECES``)."""
    spec = spec_from_file(
        tok, folder / entry["path"], seconds=seconds, seed=0, temperature=1.0, opening_bars=0
    )
    pk = len(PIECES) + 1
    PIECES[pk] = Track(
        pk=pk,
        title=entry["ident"],
        midi_file=entry["path"],  # under MEDIA_ROOT, which main() points at the corpus
        key=spec.key or "",
        tempo_bpm=spec.tempo_bpm,
        time_signature=spec.time_signature,
        collection=Collection(name=COLLECTION_OF[entry["style"]]),
    )
    return PIECES[pk]


def make_listeners(tok, folder: Path, styles: list[str], count: int, seconds: float):
    """One listener per style, loving ``count`` random validation pieces of it (seed 0)."""
    rng = random.Random(0)
    val = validation_pieces(folder)
    listeners = []
    for style in styles:
        pool = [e for e in val if e["style"] == style]
        rng.shuffle(pool)
        loved, rows, others = [], [], []
        for entry in pool:
            if len(loved) == count:  # the next ``count`` pieces: the real-music anchor
                features = opening_features(folder / entry["path"], seconds)
                if features is not None:
                    others.append(row_of(features))
                if len(others) == count:
                    break
                continue
            try:
                features = opening_features(folder / entry["path"], seconds)
                track = loved_track(tok, folder, entry, seconds)
            except ValueError as exc:
                logger.warning("skipping %s: %s", entry["ident"], exc)
                continue
            if features is None:
                continue
            loved.append(track)
            rows.append(row_of(features))
        if len(loved) < count:
            raise SystemExit(f"only {len(loved)} usable validation pieces of style {style}")
        listeners.append(Listener(style, loved, np.array(rows), np.array(others)))
    return listeners


def write(model, tok, cond: Conditioning, rng: random.Random) -> Song:
    """Compose a song from its settings (a fresh seed, stored), as the worker does; up to three
    seeds when the model writes no notes."""
    for attempt in range(3):
        settings = {**cond.to_dict(), "seed": rng.randrange(2**31)}
        try:
            spec = modelled_spec(settings, PIECES.get(cond.primer_track_id or 0), tok)
            score = compose(model, tok, spec).score
        except RuntimeError as exc:  # "the model produced no notes"
            logger.warning("no song (try %d): %s", attempt + 1, exc)
            continue
        features = piece_features(score)
        if features is not None:
            tempo = float(score.tempos[0].qpm) if len(score.tempos) else cond.tempo_bpm
            return Song(settings, features, tempo)
    raise RuntimeError(f"no notes in three tries: {cond.to_dict()}")


def next_song(model, tok, listener: Listener, rated: list[Outcome], rng, seconds: float) -> Song:
    """The listener's next song, as ``conditioning_for`` would write it."""
    temperature, feel = next_arms(rated, rng)
    liked = [(t, 4) for t in listener.loved]  # a like weighs as 4 stars
    cond = song_from_loved(liked, rng, temperature=temperature, seconds=seconds, feel=feel)
    return write(model, tok, cond, rng)


class TasteSpace:
    """The loved pieces' features, z-scored over all of them; a listener's point is the mean
    of their loved pieces, and a piece's similarity to it minus the Euclidean distance."""

    def __init__(self, listeners: list[Listener]) -> None:
        loved = np.concatenate([li.features for li in listeners])
        self.mean, self.std = loved.mean(axis=0), loved.std(axis=0)
        self.std[self.std == 0] = 1.0
        self.centroids = np.array([self.z(li.features).mean(axis=0) for li in listeners])

    def z(self, rows: np.ndarray) -> np.ndarray:
        return (rows - self.mean) / self.std

    def judge(self, row: np.ndarray, own: int) -> tuple[bool, float]:
        """Whether ``row`` is nearest listener ``own``; its similarity to them minus the mean
        of its similarity to the others (the lift)."""
        similarity = -np.linalg.norm(self.centroids - self.z(row), axis=1)
        lift = similarity[own] - np.delete(similarity, own).mean()
        return int(np.argmax(similarity)) == own, float(lift)


def real_anchor(listeners: list[Listener]) -> dict:
    """Taste match and lift of real pieces: other validation pieces of each listener's style
    (what songs that were real pieces of the style would score), and the listeners' loved
    pieces themselves (what songs as like their model pieces as the pieces are would score)."""
    space = TasteSpace(listeners)
    judged = [space.judge(row, own) for own, li in enumerate(listeners) for row in li.unloved]
    loved = {
        li.style: [space.judge(row, own)[0] for row in li.features]
        for own, li in enumerate(listeners)
    }
    return {
        "taste_match_real": float(np.mean([m for m, _ in judged])),
        "taste_lift_real": float(np.mean([lift for _, lift in judged])),
        "taste_match_loved": float(np.mean([m for ms in loved.values() for m in ms])),
        "taste_match_loved_by_style": {st: float(np.mean(ms)) for st, ms in loved.items()},
    }


def taste(model, tok, listeners: list[Listener], per: int, seconds: float, seed: int) -> dict:
    """Taste match and lift of ``per`` songs for each (new) listener."""
    space = TasteSpace(listeners)
    rng = random.Random(seed)
    judged, by_style = [], {}
    for own, listener in enumerate(listeners):
        mine = [
            space.judge(row_of(next_song(model, tok, listener, [], rng, seconds).features), own)
            for _ in range(per)
        ]
        judged += mine
        by_style[listener.style] = float(np.mean([m for m, _ in mine]))
    return {
        "taste_match": float(np.mean([m for m, _ in judged])),
        "taste_lift": float(np.mean([lift for _, lift in judged])),
        "taste_match_by_style": by_style,
    }


def learning(model, tok, learner: Listener, songs: int, seconds: float, seed: int) -> dict:
    """The share of songs following the hidden rule before and after 20 ratings."""
    rng = random.Random(seed)
    middle = TEMPERATURE_ARMS[len(TEMPERATURE_ARMS) // 2]
    base = conditioning_from_loved(
        learner.loved[0], learner.loved, temperature=middle, seconds=seconds
    ).tempo_bpm
    first = []
    for feel in FEEL_ARMS:
        cond = song_from_loved(
            [(t, 4) for t in learner.loved], rng, temperature=middle, seconds=seconds, feel=feel
        )
        first.append(write(model, tok, cond, rng))
    dense = statistics.median(s.features["notes_per_second"] for s in first)

    def liked(song: Song) -> bool:  # the hidden rule
        return song.tempo > FAST * base and song.features["notes_per_second"] > dense

    rated: list[Outcome] = []
    follows = []
    for _ in range(songs):
        song = next_song(model, tok, learner, rated, rng, seconds)
        good = liked(song)
        rated.append((song.settings, good, not good))
        follows.append(good)
    third = max(1, songs // 3)  # 10 of 30: songs 1-10 against songs 21-30
    # as many songs written for the learner before any rating
    unrated = [liked(next_song(model, tok, learner, [], rng, seconds)) for _ in range(third)]
    return {
        "learning_unrated": float(np.mean(unrated)),
        "learning_before": float(np.mean(follows[:third])),
        "learning_after": float(np.mean(follows[2 * third : 3 * third])),
        "rule_tempo_above": FAST * base,
        "rule_notes_per_second_above": dense,
        "feels_after": [f"{s['tempo_factor']}x {s['density']}" for s, _, _ in rated[2 * third :]],
    }


def summary(per_seed: list[dict], key: str) -> dict:
    values = [r[key] for r in per_seed if key in r]
    return {
        "mean": statistics.mean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "per_seed": values,
    }


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)  # batch-1 sampling on a shared two-core machine
    start = time.perf_counter()
    checkpoint = Path(
        os.environ.get("BENCH_CHECKPOINT", ROOT / "generator" / "checkpoints" / "demo")
    )
    folder = corpus_folder()
    if folder is None:
        raise SystemExit("no converted corpus (manage.py train_generator --music21)")
    settings.MEDIA_ROOT = str(folder)  # the loved pieces' MIDI is read as the site reads it
    model, _, tok, _ = load_checkpoint(checkpoint, "cpu")
    seconds = env_float("BENCH_SONG_SECONDS", 12)
    styles = os.environ.get("BENCH_STYLES", "chorale,fiddle,irish,folksong,renaissance")
    styles_list = [s.strip() for s in styles.split(",") if s.strip()]
    unknown = [s for s in styles_list if s not in COLLECTION_OF]
    if unknown or len(styles_list) < 2:
        raise SystemExit(
            f"BENCH_STYLES: two or more of {', '.join(COLLECTION_OF)} (not {', '.join(unknown)})"
        )
    per = env_int("BENCH_SONGS_PER_LISTENER", 10)
    learner_style = os.environ.get("BENCH_LEARNER_STYLE", "chorale")
    learning_songs = env_int("BENCH_LEARNING_SONGS", 30)
    listeners = make_listeners(tok, folder, styles_list, env_int("BENCH_LOVED", 10), seconds)
    learner = next((li for li in listeners if li.style == learner_style), None)
    if learner is None:
        learner = make_listeners(tok, folder, [learner_style], env_int("BENCH_LOVED", 10), seconds)[
            0
        ]
    per_seed = []
    for seed in range(env_int("BENCH_SEEDS", 3)):
        row = {"seed": seed, **taste(model, tok, listeners, per, seconds, seed)}
        if learning_songs > 0:
            row |= learning(model, tok, learner, learning_songs, seconds, seed)
        per_seed.append(row)
        print(
            f"seed {seed}: "
            + ", ".join(f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float))
        )
    results: dict = {
        "checkpoint": str(checkpoint),
        "listeners": len(listeners),
        "styles": styles_list,
        "songs_per_listener": per,
        "song_seconds": seconds,
        "seeds": len(per_seed),
        "env": {k: v for k, v in sorted(os.environ.items()) if k.startswith("BENCH_")},
        "per_seed": per_seed,
        **real_anchor(listeners),
    }
    keys = ("taste_match", "taste_lift", "learning_unrated", "learning_before", "learning_after")
    for key in keys:
        if any(key in r for r in per_seed):
            results[key] = summary(per_seed, key)["mean"]
            results[f"{key}_summary"] = summary(per_seed, key)
    chance = 1 / len(listeners)
    m = results["taste_match_summary"]
    print(
        f"taste match {m['mean']:.3f} ± {m['std']:.3f} over {len(per_seed)} seeds, "
        f"{len(listeners)} listeners x {per} songs (chance {chance:.3f})   (goal >= {GOAL_MATCH} "
        f"with >= {GOAL_LISTENERS} listeners)"
    )
    by_style = {
        st: statistics.mean(r["taste_match_by_style"][st] for r in per_seed) for st in styles_list
    }
    results["taste_match_by_style"] = by_style
    print("  per listener: " + ", ".join(f"{st} {v:.2f}" for st, v in by_style.items()))
    loved = results["taste_match_loved_by_style"]
    print(
        f"  the loved pieces themselves: {results['taste_match_loved']:.3f} ("
        + ", ".join(f"{st} {v:.2f}" for st, v in loved.items())
        + ")"
    )
    lift = results["taste_lift_summary"]
    print(
        f"taste lift {lift['mean']:.3f} ± {lift['std']:.3f} (similarity: minus z-distance)   "
        f"(real pieces of each style, not loved: match {results['taste_match_real']:.3f}, lift "
        f"{results['taste_lift_real']:.3f})"
    )
    if learning_songs > 0:
        b, a = results["learning_before_summary"], results["learning_after_summary"]
        rise = [y - x for x, y in zip(b["per_seed"], a["per_seed"], strict=True)]
        results["learning_rise"] = statistics.mean(rise)
        third = max(1, learning_songs // 3)
        print(
            f"learning ({learner.style} listener who likes only fast, dense songs): share "
            f"following the rule in songs 1-{third} {b['mean']:.3f} ± {b['std']:.3f}, in songs "
            f"{2 * third + 1}-{3 * third} {a['mean']:.3f} ± {a['std']:.3f}, rise "
            f"{statistics.mean(rise):.3f}   (goal: rise >= {GOAL_RISE})"
        )
        u = results["learning_unrated_summary"]
        print(
            f"  before any rating (songs written with none): {u['mean']:.3f} ± {u['std']:.3f}; "
            f"rise to songs {2 * third + 1}-{3 * third} {a['mean'] - u['mean']:.3f}"
        )
    results["bench_seconds"] = time.perf_counter() - start
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "personal.json").write_text(json.dumps(results, indent=2))
    print(f"wrote bench/results/personal.json in {results['bench_seconds']:.0f} s")


if __name__ == "__main__":
    main()
