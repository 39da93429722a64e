"""Writes to the catalog: ingest MIDI (one file or many), render media, curate (publish/hide).

Every write runs in ``transaction.atomic``; a file written to storage for a row that then fails
is deleted again, so a rejected file leaves neither rows nor files behind. Rendering is queued
with ``transaction.on_commit``, so a worker never looks for a row that was rolled back.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from catalog import rendering
from catalog.ingest.fingerprint import music_hash
from catalog.ingest.sources import (
    DuplicateError,
    IngestError,
    IngestLimits,
    SkippedFile,
    SourceFile,
    collect_all,
)
from catalog.midi import MidiError, describe, parse_midi
from catalog.models import Artist, Collection, Tag, Track
from musicsite import jobs

logger = logging.getLogger(__name__)

INTERACTIVE_QUEUE = "interactive"  # Celery queue for work a person is waiting on
RENDER_SOON_SECONDS = 120

CREATED, DUPLICATE, REJECTED, SKIPPED = "created", "duplicate", "rejected", "skipped"


def ingest_limits() -> IngestLimits:
    """The limits from settings (``MAX_UPLOAD_BYTES``, ``CATALOG_MAX_*``), with safe defaults."""
    defaults = IngestLimits()
    return IngestLimits(
        max_upload_bytes=getattr(settings, "MAX_UPLOAD_BYTES", defaults.max_upload_bytes),
        max_file_bytes=getattr(settings, "CATALOG_MAX_MIDI_BYTES", defaults.max_file_bytes),
        max_duration_seconds=getattr(
            settings, "CATALOG_MAX_DURATION_SECONDS", defaults.max_duration_seconds
        ),
        max_archive_members=getattr(
            settings, "CATALOG_MAX_ARCHIVE_MEMBERS", defaults.max_archive_members
        ),
        max_archive_total_bytes=getattr(
            settings, "CATALOG_MAX_ARCHIVE_BYTES", defaults.max_archive_total_bytes
        ),
        max_compression_ratio=getattr(
            settings, "CATALOG_MAX_COMPRESSION_RATIO", defaults.max_compression_ratio
        ),
    )


@dataclass
class IngestResult:
    """The outcome for one file: created, duplicate (of an existing track), rejected (with the
    reason) or skipped (a hidden file or macOS metadata in an archive)."""

    filename: str
    outcome: str
    reason: str = ""
    track: Track | None = None
    duplicate_of: int | None = None  # the public track a duplicate is the same piece as

    @property
    def message(self) -> str:
        if self.outcome == CREATED:
            return f"created “{self.track}”"
        return self.reason


@dataclass
class IngestReport:
    results: list[IngestResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def summary(self) -> str:
        skipped = self.count(SKIPPED)
        return (
            f"{self.count(CREATED)} created, {self.count(DUPLICATE)} duplicates, "
            f"{self.count(REJECTED)} rejected" + (f", {skipped} skipped" if skipped else "")
        )


def _unique_slug(model: Any, text: str) -> str:
    base = slugify(text)[:180] or "item"
    slug, n = base, 2
    while model.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _named(model: Any, name: str) -> Any:
    """Get or create an Artist/Collection/Tag by name (inside the caller's transaction)."""
    found = model.objects.filter(name=name).first()
    if found is not None:
        return found
    return model.objects.create(name=name, slug=_unique_slug(model, name))


def _title_from_filename(filename: str) -> str:
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return stem.replace("_", " ").replace("-", " ").strip().title() or "Untitled"


def _queue_render(track_id: int, *, mp3: bool = True) -> None:
    from catalog.tasks import render_track

    try:
        if mp3:
            render_track.delay(track_id, skip_ready=True)
        else:
            render_track.delay(track_id, skip_ready=True, mp3=False)
    except Exception:  # the broker is down: the row stays "pending" and can be re-queued
        logger.exception("could not queue rendering of track %s", track_id)


def content_key(data: bytes, *, owner: Any = None) -> str:
    """The duplicate key of MIDI bytes (``Track.content_hash``): one copy per owner.

    A public piece's key is the SHA-256 of its bytes; a private piece's is the SHA-256 of its
    owner's id and the bytes, so a listener's piece never blocks, and is never blocked by,
    another listener's copy or the public catalog's.
    """
    if owner is None:
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha256(b"owner %d\n" % owner.pk + data).hexdigest()


def _duplicate_reason(existing: Track, *, owner: Any, same: str = "") -> str:
    """Names the existing piece only to whoever may see it: staff for a public one, its owner.
    (Private rows from before ``content_key`` keep the plain SHA-256, so an import can still
    meet one.) ``same`` says how it is the same when not byte for byte ("the same notes")."""
    detail = f" ({same})" if same else ""
    if existing.owner_id is None:
        return f"duplicate of #{existing.pk} “{existing.title}”{detail}"
    if owner is not None and existing.owner_id == owner.pk:
        return f"duplicate of your “{existing.title}”{detail}"
    return "duplicate of a listener's private piece"


def _public_id(track: Track) -> int | None:
    return track.pk if track.owner_id is None else None


def music_duplicate(music_hash: str, *, owner: Any = None, exclude_pk: int | None = None):
    """The earliest track with the same music (``Track.music_hash``) in the same scope: the
    public catalog, or one owner's private pieces. None if there is none."""
    if not music_hash:
        return None
    rows = Track.objects.filter(music_hash=music_hash)
    rows = rows.filter(owner__isnull=True) if owner is None else rows.filter(owner=owner)
    if exclude_pk is not None:
        rows = rows.exclude(pk=exclude_pk)
    return rows.order_by("pk").first()


def track_ingest(
    *,
    filename: str,
    data: bytes,
    title: str | None = None,
    artist_name: str | None = None,
    collection_name: str | None = None,
    tag_names: Sequence[str] = (),
    status: str = Track.Status.PUBLISHED,
    origin: str = Track.Origin.IMPORTED,
    owner: Any = None,
    source: str = "",
    limits: IngestLimits | None = None,
    queue_render: bool = True,
) -> Track:
    """Create one track from MIDI bytes; raise ``IngestError`` (duplicate or invalid).

    A duplicate is the same bytes (``content_key``) or the same music (the notes, whatever the
    tempo, key, instruments or file layout: ``catalog.ingest.fingerprint``) as a piece in the
    same scope: the public catalog, or ``owner``'s own private pieces (``owner`` makes it a
    private piece). The MIDI is parsed once; the row, its tags and its stored file are
    written together or not at all, and rendering is queued once the transaction commits
    (unless ``queue_render`` is False, for callers that render at once themselves).
    """
    limits = limits or ingest_limits()
    if len(data) > limits.max_file_bytes:
        raise IngestError(filename, f"larger than the {limits.max_file_bytes} byte limit")
    try:
        midi = parse_midi(data)
        info = describe(midi, max_duration_seconds=limits.max_duration_seconds)
    except MidiError as exc:
        raise IngestError(filename, str(exc)) from exc
    content_hash = content_key(data, owner=owner)
    existing = Track.objects.filter(content_hash=content_hash).first()
    if existing is not None:
        raise DuplicateError(
            filename, _duplicate_reason(existing, owner=owner), _public_id(existing)
        )
    notes_hash = music_hash(midi)
    existing = music_duplicate(notes_hash, owner=owner)
    if existing is not None:
        reason = _duplicate_reason(existing, owner=owner, same="the same notes")
        raise DuplicateError(filename, reason, _public_id(existing))

    title = (title or _title_from_filename(filename))[:300]
    stored_name = f"{slugify(title)[:60] or 'track'}-{content_hash[:12]}.mid"
    track = Track(
        title=title,
        content_hash=content_hash,
        music_hash=notes_hash,
        source=source[:500],
        duration_seconds=info.duration_seconds,
        tempo_bpm=info.tempo_bpm,
        key=info.key,
        time_signature=info.time_signature,
        instruments=info.instruments,
        note_count=info.note_count,
        pitch_min=info.pitch_min,
        pitch_max=info.pitch_max,
        status=status,
        origin=origin,
        owner=owner,
    )
    try:
        with transaction.atomic():
            if artist_name:
                track.artist = _named(Artist, artist_name)
            if collection_name:
                track.collection = _named(Collection, collection_name)
            track.midi_file.save(stored_name, ContentFile(data), save=False)
            track.save()
            if tag_names:
                track.tags.set([_named(Tag, name) for name in dict.fromkeys(tag_names)])
            if queue_render:
                transaction.on_commit(lambda: _queue_render(track.pk))
    except BaseException as exc:
        if track.midi_file.name:
            track.midi_file.storage.delete(track.midi_file.name)
        if isinstance(exc, IntegrityError):
            raise DuplicateError(
                filename, "duplicate of a track imported at the same time"
            ) from exc
        raise
    logger.debug("ingested track %s from %s", track.pk, filename)
    return track


def catalog_import(
    *,
    sources: Iterable[Any],
    artist_name: str | None = None,
    collection_name: str | None = None,
    tag_names: Sequence[str] = (),
    status: str = Track.Status.PUBLISHED,
    progress: Callable[[int], Any] | None = None,
) -> IngestReport:
    """Import MIDI from paths, folders, zips and uploads; one bad file never stops the batch.

    ``progress(total)`` may return a tqdm-like object; it is advanced once per file.
    """
    limits = ingest_limits()
    items = collect_all(sources, limits)
    bar = progress(len(items)) if progress else None
    report = IngestReport()
    for item in items:
        report.results.append(
            _ingest_item(item, limits, artist_name, collection_name, tag_names, status)
        )
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    logger.info("catalog import: %s", report.summary)
    return report


def _ingest_item(
    item: SourceFile | IngestError,
    limits: IngestLimits,
    artist_name: str | None,
    collection_name: str | None,
    tag_names: Sequence[str],
    status: str,
) -> IngestResult:
    if isinstance(item, SkippedFile):
        return IngestResult(item.filename, SKIPPED, item.reason)
    if isinstance(item, IngestError):
        return IngestResult(item.filename, REJECTED, item.reason)
    try:
        track = track_ingest(
            filename=item.name,
            data=item.data,
            artist_name=artist_name,
            collection_name=collection_name,
            tag_names=tag_names,
            status=status,
            source=item.name,
            limits=limits,
        )
    except DuplicateError as exc:
        return IngestResult(item.name, DUPLICATE, exc.reason, duplicate_of=exc.existing_id)
    except IngestError as exc:
        return IngestResult(item.name, REJECTED, exc.reason)
    except Exception:  # a failure no check foresaw: this file alone fails (track_ingest cleans up)
        logger.exception("importing %s failed", item.name)
        reason = "could not be imported (an unexpected error, logged for the site's staff)"
        return IngestResult(item.name, REJECTED, reason)
    return IngestResult(item.name, CREATED, track=track)


def track_render_soon(*, track_id: int) -> bool:
    """Render a pending track ahead of the queue: a listener is waiting on its page.

    It goes to the ``interactive`` queue, which the worker serves beside ``default``, so it
    does not wait behind a whole catalog's import. Once per ``RENDER_SOON_SECONDS`` per track
    (the page polls); True if it was queued now.
    """
    from catalog.tasks import render_track

    try:
        if not cache.add(f"catalog:render-soon:{track_id}", 1, RENDER_SOON_SECONDS):
            return False
        render_track.apply_async((track_id,), {"skip_ready": True}, queue=INTERACTIVE_QUEUE)
    except Exception as exc:  # Redis (cache or broker) is down: it keeps its place in default
        logger.warning("could not queue rendering of track %s ahead: %s", track_id, exc)
        return False
    return True


def render_died_message(attempts: int) -> str:
    """The reason a render whose worker died on its last try is failed with."""
    return (
        f"The renderer stopped while rendering this piece ({attempts} tries: the worker was "
        "restarted or ran out of memory)."
    )


def track_render(*, track_id: int, skip_ready: bool = False, queue_mp3: bool = True) -> Track:
    """Render a track's audio (Ogg Vorbis) and piano roll; record ready or failed, and once
    ready queue its MP3 (``track_encode_mp3``), unless the caller encodes it (``queue_mp3``).

    ``skip_ready``: leave a track that is ready already (rendered ahead of its queued task).
    The render beats (``render_heartbeat_at``) while it runs; a track found still
    ``rendering`` after ``JOBS_MAX_ATTEMPTS`` started renders (each one's worker died) is
    failed instead of rendered again.
    """
    track = Track.objects.get(pk=track_id)
    if skip_ready and track.render_status == Track.RenderStatus.READY:
        return track
    attempts = jobs.bounds().max_attempts
    if track.render_status == Track.RenderStatus.RENDERING and track.render_attempts >= attempts:
        Track.objects.filter(pk=track_id).update(
            render_status=Track.RenderStatus.FAILED,
            render_error=render_died_message(track.render_attempts),
            render_attempts=0,
        )
        track.refresh_from_db()
        return track
    now = timezone.now()
    updated = Track.objects.filter(pk=track_id).update(
        render_status=Track.RenderStatus.RENDERING,
        render_error="",
        render_attempts=F("render_attempts") + 1,
        render_heartbeat_at=now,
        updated_at=now,
    )
    if not updated:
        raise Track.DoesNotExist(f"track {track_id} does not exist")
    rows = Track.objects.filter(pk=track_id, render_status=Track.RenderStatus.RENDERING)
    with jobs.heartbeat(rows, field="render_heartbeat_at"):
        return _render(track_id, queue_mp3=queue_mp3)


def _render(track_id: int, *, queue_mp3: bool) -> Track:
    track = Track.objects.get(pk=track_id)
    try:
        with track.midi_file.open("rb") as handle:
            midi_bytes = handle.read()
        media = rendering.render_media(midi_bytes)
    except Exception as exc:
        logger.exception("rendering track %s failed", track_id)
        Track.objects.filter(pk=track_id).update(
            render_status=Track.RenderStatus.FAILED,
            render_error=f"{type(exc).__name__}: {exc}",
            render_attempts=0,
        )
        track.refresh_from_db()
        return track
    old = [
        str(f.name) for f in (track.audio_file, track.audio_mp3_file, track.pianoroll_image) if f
    ]
    stem = _media_stem(track)
    saved: list[str] = []
    try:
        with transaction.atomic():
            track = Track.objects.select_for_update().get(pk=track_id)
            track.audio_file.save(f"{stem}.ogg", ContentFile(media.audio), save=False)
            saved.append(str(track.audio_file.name))
            track.audio_mp3_file = ""  # of the old audio: encoded again from this one, below
            track.pianoroll_image.save(f"{stem}.png", ContentFile(media.pianoroll), save=False)
            saved.append(str(track.pianoroll_image.name))
            track.render_status = Track.RenderStatus.READY
            track.render_error = ""
            track.render_attempts = 0
            track.save(
                update_fields=[
                    "audio_file",
                    "audio_mp3_file",
                    "pianoroll_image",
                    "render_status",
                    "render_error",
                    "render_attempts",
                    "updated_at",
                ]
            )
    except BaseException:
        for name in saved:
            track.audio_file.storage.delete(name)
        raise
    for name in old:
        if name not in saved:
            track.audio_file.storage.delete(name)
    if queue_mp3:
        transaction.on_commit(partial(_queue_mp3, track.pk))
    return track


def _media_stem(track: Track) -> str:
    """The name a track's rendered files take after its MIDI file's (``bwv66.6``)."""
    return str(track.midi_file.name).rsplit("/", 1)[-1].rsplit(".", 1)[0]


def track_encode_mp3(*, track_id: int) -> Track | None:
    """Add the MP3 to a ready track: queued after each render, run in a new song's own job, and
    by ``render_pending`` for tracks rendered before MP3s. Its Ogg and piano roll stay.

    The MIDI is synthesized again (encoding the stored Ogg would stack two lossy codecs). The
    track stays ready (playable) throughout; a failure is logged and leaves it as it was, for
    ``render_pending`` to try again. A track that is not ready, has its MP3 already or is gone
    (None) is left alone.
    """
    track = Track.objects.filter(pk=track_id).first()
    if track is None or track.render_status != Track.RenderStatus.READY or track.audio_mp3_file:
        return track
    try:
        with track.midi_file.open("rb") as handle:
            mp3 = rendering.encode_mp3(rendering.synthesize(handle.read()))
    except Exception:
        logger.exception("encoding the MP3 of track %s failed", track_id)
        return track
    saved = ""
    try:
        with transaction.atomic():
            track = Track.objects.select_for_update().filter(pk=track_id).first()
            if (
                track is None
                or track.render_status != Track.RenderStatus.READY
                or track.audio_mp3_file
            ):
                return track  # deleted, or rendered again meanwhile
            storage = track.audio_mp3_file.storage
            track.audio_mp3_file.save(f"{_media_stem(track)}.mp3", ContentFile(mp3), save=False)
            saved = str(track.audio_mp3_file.name)
            track.save(update_fields=["audio_mp3_file", "updated_at"])
    except BaseException:
        if saved:
            storage.delete(saved)
        raise
    return track


def _queue_mp3(track_id: int) -> None:
    """Queue the MP3 of a ready track (on the default queue, after the renders before it)."""
    from catalog.tasks import encode_track_mp3

    try:
        encode_track_mp3.delay(track_id)
    except Exception:  # the broker is down: the track still lacks it and can be queued again
        logger.exception("could not queue the MP3 of track %s", track_id)


def tracks_queue_missing_mp3() -> int:
    """Queue the MP3 of every ready track rendered before there was one (after commit)."""
    with transaction.atomic():
        ids = list(
            Track.objects.filter(render_status=Track.RenderStatus.READY, audio_mp3_file="")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for track_id in ids:
            transaction.on_commit(partial(_queue_mp3, track_id))
    return len(ids)


def tracks_set_status(*, track_ids: Iterable[int], status: str) -> int:
    """Publish, hide or draft tracks in bulk; returns how many changed."""
    if status not in Track.Status.values:
        raise ValueError(f"unknown status {status!r}")
    with transaction.atomic():
        return (
            Track.objects.filter(pk__in=list(track_ids))
            .exclude(status=status)
            .update(status=status, updated_at=timezone.now())
        )


def tracks_rerender(*, track_ids: Iterable[int]) -> int:
    """Mark tracks pending and queue their rendering again (after commit)."""
    ids = list(track_ids)
    with transaction.atomic():
        count = Track.objects.filter(pk__in=ids).update(
            render_status=Track.RenderStatus.PENDING,
            render_error="",
            render_attempts=0,
            updated_at=timezone.now(),
        )
        for track_id in Track.objects.filter(pk__in=ids).values_list("pk", flat=True):
            transaction.on_commit(partial(_queue_render, track_id))
    return count
