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
from typing import Any

from django.db import connections, transaction

from catalog import services
from catalog.ingest import demo
from catalog.ingest.sources import DuplicateError, IngestError
from catalog.models import Collection, Track

logger = logging.getLogger(__name__)


@dataclass
class DemoImportResult:
    created: int = 0
    duplicates: int = 0
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


def demo_catalog_import(
    *,
    limit: int | None = None,
    processes: int = 2,
    status: str = Track.Status.PUBLISHED,
    progress: Callable[[int], Any] | None = None,
) -> DemoImportResult:
    """Import the demo catalog (or ``limit`` pieces of it); safe to run again."""
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
        _ingest_job(pieces, status, result)
        if bar is not None:
            bar.update(job.size)
    if bar is not None:
        bar.close()
    for failure in result.failed:
        logger.warning("demo piece skipped: %s", failure)
    return result


def _ingest_job(pieces: list[demo.DemoPiece], status: str, result: DemoImportResult) -> None:
    """Ingest one job's pieces in one transaction; if it rolls back, remove their files too."""
    stored: list[Track] = []
    try:
        with transaction.atomic():
            for piece in pieces:
                try:
                    track = services.track_ingest(
                        filename=piece.source.removeprefix("music21:"),
                        data=piece.midi,
                        title=piece.title,
                        artist_name=piece.artist or None,
                        collection_name=piece.collection,
                        tag_names=piece.tags,
                        status=status,
                        source=piece.source,
                    )
                except DuplicateError:
                    result.duplicates += 1
                except IngestError as exc:
                    result.failed.append(str(exc))
                else:
                    stored.append(track)
    except BaseException:
        for track in stored:
            track.midi_file.storage.delete(track.midi_file.name)
        raise
    result.created += len(stored)


def _ensure_collections() -> None:
    """Create the demo collections with their descriptions (once)."""
    for source in demo.SOURCES.values():
        collection = Collection.objects.filter(name=source.collection).first()
        if collection is None:
            services._named(Collection, source.collection)
            collection = Collection.objects.get(name=source.collection)
        if not collection.description:
            Collection.objects.filter(pk=collection.pk).update(description=source.description)
