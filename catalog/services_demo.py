"""The demo catalog write service: convert the music21 corpus and ingest it like any upload.

Conversion (music21 parsing, the slow part) runs in a process pool; every piece then goes
through ``services.track_ingest``, one transaction per conversion job, so an interrupted import
resumes where it stopped and a finished one is recognised in a single query.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import connections, transaction
from django.db.models import Q

from catalog import services
from catalog.ingest import demo
from catalog.ingest.sources import DuplicateError, IngestError
from catalog.models import Collection, Track

logger = logging.getLogger(__name__)


@dataclass
class DemoImportResult:
    created: int = 0
    duplicates: int = 0
    duplicate_of: list[str] = field(default_factory=list)  # "<source>: duplicate of #id “title”"
    failed: list[str] = field(default_factory=list)
    already_present: int = 0  # demo pieces in the catalog before this run
    skipped_jobs: int = 0

    @property
    def total(self) -> int:
        return self.already_present + self.created


def _converted(jobs: list[demo.DemoJob], processes: int) -> Iterator[tuple[Any, Any]]:
    if processes <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield job, demo.convert_job(job)
        return
    import music21  # noqa: F401  (imported once here, shared by the forked workers)

    connections.close_all()  # never share a database socket with a child process
    context = multiprocessing.get_context("fork")
    with context.Pool(processes) as pool:
        yield from zip(jobs, pool.imap(demo.convert_job, jobs), strict=True)


def demo_catalog_pending(*, limit: int | None = None) -> int:
    """How many planned demo pieces an import would still read (0: it is all there)."""
    jobs = demo.plan_jobs(limit=limit)
    wanted = [ident for job in jobs for ident in job.idents]
    present = set(
        Track.objects.filter(source__in=wanted).values_list("source", flat=True).iterator()
    )
    return sum(job.size for job in jobs if not present.intersection(job.idents))


def demo_catalog_import(
    *,
    limit: int | None = None,
    processes: int = 2,
    status: str = Track.Status.PUBLISHED,
    progress: Callable[[int], Any] | None = None,
    defer_mp3: bool = False,
) -> DemoImportResult:
    """Import the demo catalog (or ``limit`` pieces of it); safe to run again.

    ``defer_mp3``: render each piece's audio (Ogg, what makes it play) without queueing its MP3
    behind it, so the whole catalog plays sooner; the caller queues the MP3s once every piece
    is ready (``services.tracks_queue_missing_mp3``; ``render_pending`` does it too).
    """
    jobs = demo.plan_jobs(limit=limit)
    wanted = [ident for job in jobs for ident in job.idents]
    present = set(
        Track.objects.filter(source__in=wanted).values_list("source", flat=True).iterator()
    )
    result = DemoImportResult(already_present=len(present))
    pending = [job for job in jobs if not present.intersection(job.idents)]
    result.skipped_jobs = len(jobs) - len(pending)
    if not pending:
        return result
    _ensure_collections()
    bar = progress(sum(job.size for job in pending)) if progress else None
    for job, (pieces, failures) in _converted(pending, processes):
        result.failed.extend(failures)
        _ingest_job(pieces, status, result, defer_mp3=defer_mp3)
        if bar is not None:
            bar.update(job.size)
    if bar is not None:
        bar.close()
    for failure in result.failed:
        logger.warning("demo piece skipped: %s", failure)
    return result


def _ingest_job(
    pieces: list[demo.DemoPiece],
    status: str,
    result: DemoImportResult,
    *,
    defer_mp3: bool = False,
) -> None:
    """Ingest one job's pieces in one transaction; if it rolls back, remove their files too.
    Their renders are queued once it commits (without their MP3s with ``defer_mp3``)."""
    stored: list[Track] = []
    try:
        with transaction.atomic():
            for piece in pieces:
                try:
                    track = services.track_ingest(
                        filename=piece.source.removeprefix("music21:"),
                        data=piece.midi,
                        title=_distinct_title(piece),
                        artist_name=piece.artist or None,
                        collection_name=piece.collection,
                        tag_names=piece.tags,
                        status=status,
                        source=piece.source,
                        queue_render=not defer_mp3,
                    )
                except DuplicateError as exc:
                    result.duplicates += 1
                    result.duplicate_of.append(f"{piece.source}: {exc.reason}")
                except IngestError as exc:
                    result.failed.append(str(exc))
                else:
                    stored.append(track)
                    if defer_mp3:
                        transaction.on_commit(partial(services._queue_render, track.pk, mp3=False))
    except BaseException:
        for track in stored:
            track.midi_file.storage.delete(track.midi_file.name)
        raise
    result.created += len(stored)


def _distinct_title(piece: demo.DemoPiece) -> str:
    """The piece's title, or, when its collection has a piece of that title already (another
    setting of a tune, another version of a ballad: different notes, or it would be refused as
    a duplicate), the title with "(setting 2)" or "(version 2)", so no two entries look alike."""
    word = "version" if "song" in piece.tags else "setting"
    base = piece.title[:280]
    same = Track.objects.filter(owner__isnull=True, collection__name=piece.collection).filter(
        Q(title=base)
        | Q(title__startswith=f"{base} (setting ")
        | Q(title__startswith=f"{base} (version ")
    )
    count = same.count()
    return base if count == 0 else f"{base} ({word} {count + 1})"


def _ensure_collections() -> None:
    """Create the demo collections with their descriptions (once)."""
    for source in demo.SOURCES.values():
        collection = Collection.objects.filter(name=source.collection).first()
        if collection is None:
            services._named(Collection, source.collection)
            collection = Collection.objects.get(name=source.collection)
        if not collection.description:
            Collection.objects.filter(pk=collection.pk).update(description=source.description)
