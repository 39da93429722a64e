"""The demo catalog: real pieces from the music21 corpus (shipped in its PyPI package), as MIDI.

No Django here: ``plan_jobs`` lists the work, ``convert_job`` runs in a worker process and turns
one corpus file (or a slice of an ABC tune book) into ``DemoPiece`` objects with MIDI bytes.
Scores are parsed by music21 and written to MIDI with symusic (music21's own MIDI writer trips
over ABC pickup bars and is several times slower on quartets).
"""

from __future__ import annotations

import hashlib
import logging
import re
import warnings
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from catalog.ingest.demo_sources import (
    ESSEN_FILES,
    EXPAND_REPEATS,
    QUARTETS,
    RHYTHM_TAGS,
    ROMAN,
    SOURCES,
    DemoSource,
)
from catalog.ingest.score_midi import score_to_midi

logger = logging.getLogger(__name__)

TPQ = 480
CHUNK = 20  # ABC tunes per job: keeps both worker processes busy to the end


@dataclass(frozen=True)
class DemoJob:
    source_key: str
    path: str  # relative to the music21 corpus folder
    first: int = 0  # for ABC tune books: the slice of tunes
    last: int = 1
    idents: tuple[str, ...] = ()  # the ``source`` of each piece the job yields

    @property
    def size(self) -> int:
        return len(self.idents) or 1


@dataclass
class DemoPiece:
    source: str  # "music21:<path>#<n>", unique per piece
    title: str
    artist: str
    collection: str
    tags: list[str] = field(default_factory=list)
    midi: bytes = b""


def corpus_root() -> Path:
    from music21 import common

    return Path(common.getCorpusFilePath())


def split_abc(text: str) -> list[str]:
    """Split an ABC tune book into tunes (each starting at its ``X:`` line)."""
    starts = [m.start() for m in re.finditer(r"^X:", text, flags=re.M)]
    return [text[a:b].strip() + "\n" for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


def _abc_field(tune: str, name: str) -> str:
    match = re.search(rf"^{name}:\s*(.+)$", tune, flags=re.M)
    return match.group(1).strip() if match else ""


def plan_jobs(root: Path | None = None, limit: int | None = None) -> list[DemoJob]:
    """All conversion jobs, source by source, in a fixed order (so runs are reproducible)."""
    root = root or corpus_root()
    per_source: list[list[DemoJob]] = []
    for key, source in SOURCES.items():
        jobs: list[DemoJob] = []
        if key in {"oneills", "essen"}:
            files = (
                sorted((root / "oneills1850").glob("*.abc"))
                if key == "oneills"
                else [root / "essenFolksong" / name for name in ESSEN_FILES]
            )
            budget = source.take
            per_file = max(1, -(-source.take // len(files))) if key == "oneills" else source.take
            for path in files:
                count = min(len(split_abc(path.read_text(errors="replace"))), per_file, budget)
                numbers = _tune_numbers(path)
                for first in range(0, count, CHUNK):
                    last = min(first + CHUNK, count)
                    jobs.append(_abc_job(key, _rel(path, root), first, last, numbers))
                budget -= count
                if budget <= 0:
                    break
        else:
            jobs = []
            files = _distinct(_files(key, root)) if key == "ryans" else _files(key, root)
            for path in files[: source.take]:
                rel = _rel(path, root)
                if key == "ryans":
                    jobs.append(_abc_job(key, rel, 0, 1, _tune_numbers(path)))
                else:
                    jobs.append(DemoJob(key, rel, idents=(f"music21:{rel}",)))
        per_source.append(jobs)
    if limit is None:
        return [job for jobs in per_source for job in jobs]
    # A little of each source, fastest first, for tests and quick tries.
    picked: list[DemoJob] = []
    expected = 0
    # Slow sources (scores) come last in SOURCES: give each one piece, the rest to the fast ones.
    for left, jobs in zip(range(len(per_source), 0, -1), reversed(per_source), strict=True):
        if expected >= limit or not jobs:
            continue
        job = jobs[0]
        size = min(job.size, max(1, (limit - expected) // left))
        picked.append(replace(job, last=job.first + size, idents=job.idents[:size]))
        expected += size
    return picked


def _distinct(paths: list[Path]) -> list[Path]:
    """The files whose bytes no earlier file has (Ryan's folder holds some tunes twice, under
    each of their names: one piece, one entry)."""
    seen: set[bytes] = set()
    kept = []
    for path in paths:
        digest = hashlib.sha256(path.read_bytes()).digest()
        if digest not in seen:
            seen.add(digest)
            kept.append(path)
    return kept


def _tune_numbers(path: Path) -> list[str]:
    tunes = split_abc(path.read_text(errors="replace"))
    return [_abc_field(tune, "X") or str(i + 1) for i, tune in enumerate(tunes)]


def _abc_job(key: str, rel: str, first: int, last: int, numbers: list[str]) -> DemoJob:
    idents = tuple(f"music21:{rel}#{n}" for n in numbers[first:last])
    return DemoJob(key, rel, first, last, idents)


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _files(key: str, root: Path) -> list[Path]:
    if key == "ryans":
        return sorted((root / "ryansMammoth").glob("*.abc"))
    if key == "bach":
        names = sorted((root / "bach").glob("bwv*.mxl"), key=lambda p: _bwv_sort(p.name))
        return [p for p in names if re.fullmatch(r"bwv\d+(\.\d+)?\.mxl", p.name)]
    if key == "palestrina":
        files = sorted((root / "palestrina").glob("*.krn"))
        return files[::11]  # a spread of movements across the masses
    if key == "monteverdi":
        files = [
            p
            for p in (root / "monteverdi").glob("madrigal.*.mxl")
            if re.fullmatch(r"madrigal\.\d+\.\d+\.mxl", p.name)
        ]
        return sorted(files, key=lambda p: _bwv_sort(p.name))[::2]
    if key == "quartets":
        works = [sorted((root / folder).glob("movement*.mxl")) for folder in QUARTETS]
        longest = max(len(movements) for movements in works)
        # First movements of every work first, then second movements, and so on.
        return [w[i] for i in range(longest) for w in works if i < len(w)]
    raise KeyError(key)


def _bwv_sort(name: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", name))


def convert_job(job: DemoJob) -> tuple[list[DemoPiece], list[str]]:
    """Parse one job's score(s) and write MIDI; returns pieces and human-readable failures."""
    warnings.filterwarnings("ignore")
    from music21 import converter

    root = corpus_root()
    source = SOURCES[job.source_key]
    pieces: list[DemoPiece] = []
    failures: list[str] = []
    items: list[tuple[str, str | None]]
    if job.path.endswith(".abc"):
        tunes = split_abc((root / job.path).read_text(errors="replace"))
        if job.source_key == "ryans":
            tunes = tunes[:1]
        items = [
            (f"{job.path}#{_abc_field(t, 'X') or i + 1}", t)
            for i, t in enumerate(tunes)
            if job.first <= i < job.last
        ]
    else:
        items = [(job.path, None)]  # a score file, not a tune
    for ident, tune in items:
        try:
            score = (
                converter.parseData(tune, format="abc")
                if tune is not None
                else converter.parse(root / job.path, forceSource=True)
            )
            piece = _describe(job, source, score, tune)
            piece.midi = score_to_midi(
                score,
                program=source.program,
                default_qpm=_default_qpm(source, piece, tune),
                expand_repeats=job.source_key in EXPAND_REPEATS,
            )
        except Exception as exc:  # music21 raises many kinds; a bad score never stops the import
            failures.append(f"{ident}: {type(exc).__name__}: {exc}")
            continue
        piece.source = f"music21:{ident}"
        pieces.append(piece)
    return pieces, failures


def _default_qpm(source: DemoSource, piece: DemoPiece, tune: str | None) -> float:
    """A tempo for scores without a metronome mark: the notes' own hint, else the dance's."""
    hint = _abc_field(tune, "N").lower() if tune else ""
    if "very slow" in hint:
        return 60.0
    if "slow" in hint:
        return 80.0
    for word, (tag, qpm) in RHYTHM_TAGS.items():
        if tag in piece.tags and word == tag:
            return qpm
    return source.default_qpm


def _describe(job: DemoJob, source: DemoSource, score, tune: str | None) -> DemoPiece:
    root_path = corpus_root()
    md = score.metadata
    tags = list(source.tags)
    artist = source.artist
    if tune is not None:
        title = _clean_title(_abc_field(tune, "T") or (md.title if md else "") or "Untitled")
        rhythm = f"{_abc_field(tune, 'R')} {_abc_field(tune, 'T')}".lower()
        for word, (tag, _qpm) in RHYTHM_TAGS.items():
            if re.search(rf"\b{word}", rhythm):
                tags.append(tag)
                break
        if job.source_key == "essen" and job.path.endswith("kinder0.abc"):
            tags.append("children's song")
        if job.source_key == "essen" and "ballad" in job.path:
            tags.append("ballad")
    elif job.source_key == "bach":
        bwv = _group(r"bach/bwv(.+)\.mxl", job.path)
        name = _chorale_titles().get(bwv)
        name = re.sub(r"^([A-Z])\1(?=[a-z])", r"\1", name) if name else name  # "AAch" typo
        title = f"Chorale BWV {bwv} — {name}" if name else f"Chorale BWV {bwv}"
    elif job.source_key == "palestrina":
        mass = md.parentTitle if md and md.parentTitle else "Missa"
        movement = (md.title or "").replace("_", " ") if md else ""
        title = f"{mass} — {movement}" if movement else mass
    elif job.source_key == "monteverdi":
        number = _group(r"madrigal\.(\d+\.\d+)", job.path)
        analysis = root_path / job.path.replace(".mxl", ".rntxt")
        name = _abc_field(analysis.read_text(), "Title") if analysis.exists() else ""
        name = name[:1].upper() + name[1:].lower() if name.isupper() else name
        title = f"Madrigal {number} — {name}" if name else f"Madrigal {number}"
    else:
        folder, movement = job.path.rsplit("/", 1)
        artist, work = QUARTETS[folder]
        index = int(_group(r"(\d+)", movement))
        title = f"{work} — {ROMAN[index - 1]}"
    return DemoPiece(
        source="",
        title=title[:300],
        artist=artist,
        collection=source.collection,
        tags=list(dict.fromkeys(tags)),
    )


def _group(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise ValueError(f"{text!r} does not match {pattern!r}")
    return match.group(1)


def _clean_title(raw: str) -> str:
    title = re.sub(r"\s*--\s*", " — ", raw).strip(" .")
    if title.isupper():
        title = title.title().replace("'S", "'s")
    if title.endswith(", The"):
        title = "The " + title[: -len(", The")]
    return title.strip(" .") or "Untitled"


@lru_cache(maxsize=1)
def _chorale_titles() -> dict[str, str]:
    from music21.corpus.chorales import ChoraleListRKBWV

    return {str(bwv): info["title"] for bwv, info in ChoraleListRKBWV().byBWV.items()}
