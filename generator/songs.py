"""Songs written the way the site writes them, to a folder, for evaluation and curious admins
(``manage.py generate_songs``).

Without primers, each song is the one a listener who loved a single published catalog piece
would get: ``conditioning_from_loved`` → ``modelled_spec`` → ``compose``, as the worker does. With a
folder of primers, each song opens with a file's first bars and takes its style (named by its
instruments and parts, else the one-line style the model finds its tune likeliest in), key,
tempo and metre. A manifest names what each song came from.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import miditok
from tqdm import tqdm

from catalog.models import Track
from generator.ml.compose import SongSpec, spec_from_file, write_song
from generator.ml.tokenizer import find_midi_files
from generator.personalization import TEMPERATURE_ARMS, conditioning_from_loved
from generator.services import _load, generator_version_active, modelled_spec, resolve_artifact

logger = logging.getLogger(__name__)
MANIFEST = "manifest.json"
TEMPERATURE = TEMPERATURE_ARMS[len(TEMPERATURE_ARMS) // 2]  # the bandit's middle arm
MIN_SECONDS, MAX_SECONDS = 5.0, 180.0  # the lengths a listener may ask for


class SongsError(ValueError):
    """Input ``generate_songs`` cannot work with, in words."""


@dataclass
class SongsResult:
    entries: list[dict[str, Any]]  # the manifest
    skipped: list[str] = field(default_factory=list)  # "<file>: <why>" per unusable primer


def catalog_tracks() -> list[Track]:
    """Published, imported, public catalog pieces with a MIDI file, in id order."""
    return list(
        Track.objects.filter(
            status=Track.Status.PUBLISHED, origin=Track.Origin.IMPORTED, owner__isnull=True
        )
        .exclude(midi_file="")
        .select_related("collection")
        .order_by("pk")
    )


def songs_generate(
    *,
    out: Path,
    count: int,
    seconds: float,
    seed: int = 0,
    primer_dir: Path | None = None,
    checkpoint: Path | None = None,
    progress: bool = True,
) -> SongsResult:
    """Write ``count`` songs as ``out/NNN.mid`` and ``out/manifest.json``; ``SongsError`` for
    input it cannot use (a bad primer file is skipped and named in ``skipped``)."""
    if count < 1:
        raise SongsError(f"--count must be at least 1, not {count}")
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise SongsError(f"--seconds must be {MIN_SECONDS:g} to {MAX_SECONDS:g}, not {seconds:g}")
    if primer_dir is not None and not Path(primer_dir).is_dir():
        raise SongsError(f"primer folder not found: {primer_dir}")
    path = checkpoint or resolve_artifact(generator_version_active().artifact_path)
    try:
        model, tokenizer = _load(str(path))
    except FileNotFoundError as exc:
        raise SongsError(str(exc)) from exc
    rng = random.Random(seed)
    seeds = [rng.randrange(2**31) for _ in range(count)]
    result = SongsResult(entries=[])
    if primer_dir is None:
        plans = _catalog_plans(tokenizer, seeds, seconds, rng)
    else:
        plans = _primer_plans(model, tokenizer, Path(primer_dir), seeds, seconds, result.skipped)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for number, (spec, source) in enumerate(
        tqdm(plans, total=count, desc="songs", unit="song", disable=not progress), start=1
    ):
        entry = write_song(model, tokenizer, spec, out / f"{number:03d}.mid")
        result.entries.append({"file": entry.pop("file"), **source, **entry})
    (out / MANIFEST).write_text(json.dumps(result.entries, indent=2))
    logger.info("wrote %d songs to %s", len(result.entries), out)
    return result


def _catalog_plans(
    tokenizer: miditok.REMI, seeds: list[int], seconds: float, rng: random.Random
) -> Iterator[tuple[SongSpec, dict[str, Any]]]:
    """(spec, {"loved": ...}) per song: a random catalog piece, loved alone."""
    tracks = catalog_tracks()
    if not tracks:
        raise SongsError(
            "the catalog has no published piece with a MIDI file (run import_demo_catalog)"
        )
    for song_seed in seeds:
        track = rng.choice(tracks)
        cond = conditioning_from_loved(track, [track], temperature=TEMPERATURE, seconds=seconds)
        spec = modelled_spec(cond.to_dict() | {"seed": song_seed}, track, tokenizer)
        yield spec, {"loved": {"id": track.pk, "title": track.title}}


def _primer_plans(
    model, tokenizer, folder: Path, seeds: list[int], seconds: float, skipped: list[str]
) -> Iterator[tuple[SongSpec, dict[str, Any]]]:
    """(spec, {"primer": name}) per song, the folder's files in sorted order, cycling; an
    unusable file is named once in ``skipped`` and left out of the cycle. A tune whose
    instruments name no style takes the one the ``model`` finds it likeliest in."""
    files = find_midi_files([folder])
    if not files:
        raise SongsError(f"no .mid or .midi files in {folder}")
    specs: dict[Path, SongSpec] = {}
    index = 0
    for song_seed in seeds:
        while True:
            if not files:
                raise SongsError(f"no usable primer in {folder}: {'; '.join(skipped)}")
            primer = files[index % len(files)]
            if primer not in specs:
                try:
                    specs[primer] = spec_from_file(
                        tokenizer,
                        primer,
                        seconds=seconds,
                        seed=0,
                        temperature=TEMPERATURE,
                        model=model,
                    )
                except ValueError as exc:
                    logger.warning("skipping primer %s: %s", primer.name, exc)
                    skipped.append(f"{primer.name}: {exc}")
                    files.remove(primer)
                    continue
            index += 1
            yield replace(specs[primer], seed=song_seed), {"primer": primer.name}
            break
