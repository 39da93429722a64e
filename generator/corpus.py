"""The generator's training corpus: every usable piece of the music21 corpus, as MIDI by style.

music21's PyPI package ships the music (no download): O'Neill's and Ryan's tune books, Aird's
airs, the Essen folk songs, Bach's chorales, Palestrina, Josquin, Monteverdi, the Trecento and
the string quartets. Each piece is written once to ``<out>/<style>/<n>.mid``; ``manifest.jsonl``
names its source (``music21:<path>#<tune>``, the same identity the demo catalog gives it) and
style, so a rerun converts only what is missing. music21's own Nottingham set is left out: the
shared Nottingham files are an evaluation set the model must never have seen.
No Django here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from catalog.ingest.demo import corpus_root, split_abc
from catalog.ingest.score_midi import score_to_midi
from generator.ml.styles import FIDDLE, FLUTE

logger = logging.getLogger(__name__)
MANIFEST = "manifest.jsonl"
JOBS_DONE = "jobs.done"  # one finished job a line: a rerun converts only the rest
ABC_CHUNK = 25  # tunes per worker job


@dataclass(frozen=True)
class CorpusSource:
    style: str
    pattern: str  # glob under the music21 corpus folder
    program: int | None  # GM program for every part (None: the score's own instruments)
    default_qpm: float
    take: int | None = None  # at most this many files (spread evenly), None: all
    exclude: str = r"$^"  # file names (regex) left out


SOURCES = [
    CorpusSource("irish", "oneills1850/*.abc", FLUTE, 160.0),
    CorpusSource("fiddle", "ryansMammoth/*.abc", FIDDLE, 160.0),
    CorpusSource("scottish", "airdsAirs/*.abc", FIDDLE, 120.0),
    CorpusSource("folksong", "essenFolksong/*.abc", 0, 110.0, exclude=r"^test"),
    CorpusSource("chorale", "bach/bwv*.mxl", 19, 76.0),
    CorpusSource("renaissance", "palestrina/*.krn", 52, 140.0, take=450),
    CorpusSource("renaissance", "josquin/*.abc", 52, 120.0),
    CorpusSource("madrigal", "monteverdi/madrigal.*.mxl", 52, 140.0),
    CorpusSource("trecento", "trecento/*.xml", 53, 110.0),
    CorpusSource("quartet", "haydn/*/movement*.mxl", None, 120.0),
    CorpusSource("quartet", "mozart/*/movement*.mxl", None, 120.0),
    CorpusSource("quartet", "beethoven/opus*/movement*.mxl", None, 120.0),
]


@dataclass(frozen=True)
class Job:
    style: str
    rel: str  # file under the corpus folder
    program: int | None
    default_qpm: float
    first: int = 0  # ABC tune books: the slice of tunes
    last: int = 1


def plan(root: Path | None = None) -> list[Job]:
    """Every conversion job, in a fixed order."""
    root = root or corpus_root()
    jobs: list[Job] = []
    for src in SOURCES:
        files = [p for p in sorted(root.glob(src.pattern)) if not re.search(src.exclude, p.name)]
        if src.take is not None and len(files) > src.take:
            files = files[:: -(-len(files) // src.take)]
        for path in files:
            rel = path.relative_to(root).as_posix()
            if path.suffix == ".abc":
                count = len(split_abc(path.read_text(errors="replace")))
                for first in range(0, count, ABC_CHUNK):
                    last = min(first + ABC_CHUNK, count)
                    jobs.append(Job(src.style, rel, src.program, src.default_qpm, first, last))
            else:
                jobs.append(Job(src.style, rel, src.program, src.default_qpm))
    return jobs


def convert(job: Job) -> list[tuple[str, bytes]]:
    """(identity, MIDI bytes) per piece of one job; a score music21 cannot read is skipped."""
    warnings.filterwarnings("ignore")
    from music21 import converter

    root = corpus_root()
    out: list[tuple[str, bytes]] = []
    items: list[tuple[str, str | None]]
    if job.rel.endswith(".abc"):
        tunes = split_abc((root / job.rel).read_text(errors="replace"))[job.first : job.last]
        items = [
            (f"music21:{job.rel}#{_tune_number(t, job.first + i)}", t) for i, t in enumerate(tunes)
        ]
    else:
        items = [(f"music21:{job.rel}", None)]
    for ident, tune in items:
        try:
            score = (
                converter.parseData(tune, format="abc")
                if tune is not None
                else converter.parse(root / job.rel, forceSource=True)
            )
            midi = score_to_midi(
                score,
                program=job.program,
                default_qpm=job.default_qpm,
                expand_repeats=job.style != "quartet",
            )
        except Exception as exc:  # music21 raises many kinds; one bad score never stops the build
            logger.info("skipping %s: %s: %s", ident, type(exc).__name__, exc)
            continue
        out.append((ident, midi))
    return out


def _tune_number(tune: str, index: int) -> str:
    match = re.search(r"^X:\s*(\S+)", tune, flags=re.M)
    return match.group(1) if match else str(index + 1)


def read_manifest(out_dir: Path) -> list[dict]:
    """The corpus's pieces: ``{"ident", "style", "path"}`` (path relative to ``out_dir``)."""
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def build(out_dir: Path, *, workers: int = 2, progress: bool = True) -> list[dict]:
    """Convert what the manifest lacks; returns the whole manifest. Identical music under two
    identities (a tune in two books) is kept once."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = read_manifest(out_dir)
    done = {e["ident"] for e in entries}
    seen = {e.get("digest") for e in entries}
    jobs_file = out_dir / JOBS_DONE
    finished = set(jobs_file.read_text().split()) if jobs_file.is_file() else set()
    todo = [j for j in plan() if _job_key(j) not in finished]
    with (
        open(out_dir / MANIFEST, "a") as manifest,
        open(jobs_file, "a") as jobs_log,
        tqdm(total=len(todo), desc="corpus", unit="job", disable=not progress) as bar,
    ):
        for job, pieces in zip(todo, _run(todo, workers), strict=True):
            for ident, midi in pieces:
                digest = hashlib.sha1(midi).hexdigest()
                if ident in done or digest in seen:
                    continue
                rel = f"{job.style}/{len(entries):05d}.mid"
                (out_dir / job.style).mkdir(exist_ok=True)
                (out_dir / rel).write_bytes(midi)
                entry = {"ident": ident, "style": job.style, "path": rel, "digest": digest}
                manifest.write(json.dumps(entry) + "\n")
                entries.append(entry)
                done.add(ident)
                seen.add(digest)
            manifest.flush()
            jobs_log.write(_job_key(job) + "\n")
            jobs_log.flush()
            bar.update(1)
    return entries


def _job_key(job: Job) -> str:
    return f"{job.rel}@{job.first}".replace(" ", "%20")


def _run(jobs: list[Job], workers: int) -> Iterator[list[tuple[str, bytes]]]:
    if workers <= 1:
        yield from map(convert, jobs)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(convert, jobs, chunksize=1)
