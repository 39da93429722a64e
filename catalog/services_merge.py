"""One piece, one entry: merge public tracks that hold the same music into one.

Two tracks are the same piece when their notes are (``Track.music_hash``, see
``catalog.ingest.fingerprint``), whatever their bytes, tempo, key or instruments. New imports
are refused as duplicates (``services.track_ingest``); this module finds the ones already in
the catalog and merges each group into one kept track without losing anything a listener did:

- **Which track is kept**: the published one, then the one whose audio is ready, then the
  oldest (lowest id, the one listeners met first). The others are deleted after their rows
  moved; their files are deleted once the transaction commits.
- **Plays and history** (``ListenEvent``): moved to the kept track as they are.
- **Ratings** (one per listener and piece): a listener who rated only the duplicate keeps that
  rating, moved. A listener who rated both keeps one row: **the more recent rating wins, and
  the older one adds what the recent one leaves unsaid unless it contradicts it**: its stars
  when the recent one has none, its like, its "not interested"; but never a love (a like or 4-5
  stars) onto a dislike ("not interested" or 1-2 stars), nor a dislike onto a love. So 4 stars
  then a like on the other copy is both; a like then 1 star is 1 star. The merged row keeps
  the older ``created_at`` and the newer ``updated_at``.
- **Playlist entries** (one per playlist and piece): moved; a playlist that held both keeps the
  piece once, at the earlier of its two places, and its positions stay dense.
- **Feed impressions** (one per listener and piece): moved; a listener shown both gets one row
  with the counts added, the first ``first_shown_at`` and the last ``last_shown_at``. Every
  feed snapshot is marked stale (its items may name a merged track).
- **Generation jobs**: a song inspired by the duplicate names the kept track as its primer.
- **Tags** are united; the kept track takes the duplicate's composer or collection when it has
  none.

Everything runs in one transaction: a failure leaves the catalog as it was. A relation to
``Track`` this module does not know stops the merge (``MergeError``) rather than letting the
delete cascade it away.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import partial

from django.db import transaction
from django.db.models import ForeignObjectRel

from catalog.ingest.fingerprint import music_hash
from catalog.midi import MidiError, parse_midi
from catalog.models import Track

logger = logging.getLogger(__name__)

__all__ = ["MergeError", "MergeReport", "track_merge", "tracks_merge_duplicates"]

# Every relation to Track (``app_label.Model.field``) that ``track_merge`` moves.
HANDLED_RELATIONS = {
    "recommender.ListenEvent.track",
    "recommender.Rating.track",
    "recommender.FeedImpression.track",
    "accounts.PlaylistItem.track",
    "generator.GenerationJob.primer_track",
    "generator.GenerationJob.track",
    "catalog.Track_tags.track",
}


class MergeError(RuntimeError):
    """The merge cannot be done safely; nothing was changed."""


class _DryRun(Exception):
    """Raised inside the transaction of a dry run, to roll everything back."""


@dataclass
class MergedGroup:
    kept: tuple[int, str]  # (id, title)
    merged: list[tuple[int, str]]


@dataclass
class MergeReport:
    groups: list[MergedGroup] = field(default_factory=list)
    moved: Counter = field(default_factory=Counter)  # rows moved or merged, by kind
    fingerprinted: int = 0  # tracks whose music hash was filled in
    unreadable: list[str] = field(default_factory=list)  # tracks whose MIDI could not be read
    dry_run: bool = False

    @property
    def removed(self) -> int:
        return sum(len(group.merged) for group in self.groups)


def _relation_names() -> set[str]:
    names = set()
    for rel in Track._meta.get_fields(include_hidden=True):
        if isinstance(rel, ForeignObjectRel) and rel.auto_created and not rel.concrete:
            names.add(f"{rel.related_model._meta.label}.{rel.field.name}")  # type: ignore[union-attr]
    return names


def _check_relations() -> None:
    unknown = _relation_names() - HANDLED_RELATIONS
    if unknown:
        raise MergeError(
            f"tracks are referenced by {', '.join(sorted(unknown))}, which the merge does not "
            "move yet; nothing was merged"
        )


def _kept_first(track: Track) -> tuple[int, int, int]:
    return (
        track.status != Track.Status.PUBLISHED,
        track.render_status != Track.RenderStatus.READY,
        track.pk,
    )


def _loves(stars: int | None, liked: bool) -> bool:
    return liked or (stars is not None and stars >= 4)  # recommender.models.LOVED


def _dislikes(stars: int | None, hidden: bool) -> bool:
    return hidden or (stars is not None and stars <= 2)  # recommender.models.DISLIKED


def _merged_opinion(newer, older) -> tuple[int | None, bool, bool]:
    """(stars, liked, not_interested) of one listener's two ratings of the same piece."""
    stars, liked, hidden = newer.stars, newer.liked, newer.not_interested
    if stars is None and older.stars is not None:
        loving, disliking = _loves(older.stars, False), _dislikes(older.stars, False)
        if not (loving and _dislikes(None, hidden)) and not (disliking and _loves(None, liked)):
            stars = older.stars
    if older.liked and not liked and not _dislikes(stars, hidden):
        liked = True
    if older.not_interested and not hidden and not _loves(stars, liked):
        hidden = True
    return stars, liked, hidden


def _merge_ratings(keep: Track, dup: Track, moved: Counter) -> None:
    from recommender.models import Rating

    for rating in Rating.objects.filter(track=dup).order_by("pk"):
        other = Rating.objects.filter(user_id=rating.user_id, track=keep).first()
        if other is None:
            Rating.objects.filter(pk=rating.pk).update(track=keep)  # update(): dates unchanged
            moved["ratings"] += 1
            continue
        newer, older = (rating, other) if rating.updated_at > other.updated_at else (other, rating)
        stars, liked, hidden = _merged_opinion(newer, older)
        Rating.objects.filter(pk=rating.pk).delete()
        Rating.objects.filter(pk=other.pk).update(
            stars=stars,
            liked=liked,
            not_interested=hidden,
            created_at=min(rating.created_at, other.created_at),
            updated_at=newer.updated_at,
        )
        moved["ratings merged"] += 1


def _merge_impressions(keep: Track, dup: Track, moved: Counter) -> None:
    from recommender.models import FeedImpression

    for seen in FeedImpression.objects.filter(track=dup).order_by("pk"):
        other = FeedImpression.objects.filter(user_id=seen.user_id, track=keep).first()
        if other is None:
            FeedImpression.objects.filter(pk=seen.pk).update(track=keep)
            moved["feed impressions"] += 1
            continue
        FeedImpression.objects.filter(pk=seen.pk).delete()
        FeedImpression.objects.filter(pk=other.pk).update(
            shown_count=other.shown_count + seen.shown_count,
            first_shown_at=min(other.first_shown_at, seen.first_shown_at),
            last_shown_at=max(other.last_shown_at, seen.last_shown_at),
        )
        moved["feed impressions merged"] += 1


def _merge_playlists(keep: Track, dup: Track, moved: Counter) -> None:
    from accounts.models import PlaylistItem

    playlists = PlaylistItem.objects.filter(track=dup).values_list("playlist_id", flat=True)
    for playlist_id in sorted(set(playlists)):
        items = list(PlaylistItem.objects.filter(playlist_id=playlist_id).order_by("position"))
        first, *later = [item for item in items if item.track_id in (keep.pk, dup.pk)]
        for item in later:  # the later of the two places goes (at most one: pairs are unique)
            PlaylistItem.objects.filter(pk=item.pk).delete()
        if first.track_id == dup.pk:
            PlaylistItem.objects.filter(pk=first.pk).update(track=keep)
        gone = {item.pk for item in later}
        remaining = [item for item in items if item.pk not in gone]
        for position, item in enumerate(remaining):
            if item.position != position:
                PlaylistItem.objects.filter(pk=item.pk).update(position=position)
        moved["playlist entries merged" if later else "playlist entries"] += 1


def track_merge(*, keep: Track, dup: Track, moved: Counter | None = None) -> Counter:
    """Move everything of ``dup`` to ``keep`` and delete ``dup`` (see the module's rules).

    Runs in the caller's transaction (one of its own if there is none); the files of ``dup``
    are deleted once it commits. Returns the rows moved, by kind.
    """
    from generator.models import GenerationJob
    from recommender.models import FeedSnapshot, ListenEvent

    if keep.pk == dup.pk:
        raise MergeError("a track cannot be merged into itself")
    moved = Counter() if moved is None else moved
    _check_relations()
    with transaction.atomic():
        moved["plays and history"] += ListenEvent.objects.filter(track=dup).update(track=keep)
        _merge_ratings(keep, dup, moved)
        _merge_impressions(keep, dup, moved)
        _merge_playlists(keep, dup, moved)
        moved["song primers"] += GenerationJob.objects.filter(primer_track=dup).update(
            primer_track=keep
        )
        if not GenerationJob.objects.filter(track=keep).exists():
            GenerationJob.objects.filter(track=dup).update(track=keep)
        keep.tags.add(*dup.tags.all())
        updates = {}
        if keep.artist_id is None and dup.artist_id is not None:
            updates["artist_id"] = dup.artist_id
        if keep.collection_id is None and dup.collection_id is not None:
            updates["collection_id"] = dup.collection_id
        if updates:
            Track.objects.filter(pk=keep.pk).update(**updates)
        FeedSnapshot.objects.filter(stale=False).update(stale=True)
        files = [str(f.name) for f in _files(dup) if f]
        storage = dup.midi_file.storage
        Track.objects.filter(pk=dup.pk).delete()
        transaction.on_commit(partial(_delete_files, storage, files))
    logger.info("merged track %s into %s", dup.pk, keep.pk)
    return moved


def _files(track: Track) -> list:
    return [track.midi_file, track.audio_file, track.audio_mp3_file, track.pianoroll_image]


def _delete_files(storage, names: list[str]) -> None:
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            logger.warning("could not delete %s of a merged track", name, exc_info=True)


def _music_hash_of(track: Track) -> str | None:
    try:
        with track.midi_file.open("rb") as handle:
            return music_hash(parse_midi(handle.read()))
    except (MidiError, OSError, ValueError):
        logger.warning("track %s: its MIDI cannot be read for a fingerprint", track.pk)
        return None


def tracks_merge_duplicates(*, dry_run: bool = False) -> MergeReport:
    """Fill in missing music hashes of public tracks, then merge each group of public tracks
    with the same music into one (``track_merge``), in one transaction.

    ``dry_run`` does all of it and rolls it back: the report says what would happen.
    """
    report = MergeReport(dry_run=dry_run)
    _check_relations()
    try:
        with transaction.atomic():
            _merge_all(report)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return report


def _merge_all(report: MergeReport) -> None:
    public = Track.objects.filter(owner__isnull=True).select_for_update()
    hashes: dict[int, str] = {}
    tracks: dict[int, Track] = {}
    for track in public.order_by("pk"):
        tracks[track.pk] = track
        if track.music_hash:
            hashes[track.pk] = track.music_hash
            continue
        found = _music_hash_of(track)
        if found is None:
            report.unreadable.append(f"#{track.pk} “{track.title}”")
        elif found:  # "": too few notes to tell a piece by, never grouped
            hashes[track.pk] = found
    groups: dict[str, list[Track]] = defaultdict(list)
    for pk, digest in hashes.items():
        groups[digest].append(tracks[pk])
    for digest, members in groups.items():
        members.sort(key=_kept_first)
        keep, *dups = members
        for dup in dups:
            track_merge(keep=keep, dup=dup, moved=report.moved)
        if dups:
            report.groups.append(
                MergedGroup((keep.pk, keep.title), [(d.pk, d.title) for d in dups])
            )
        if keep.music_hash != digest:  # after its duplicates are gone (one per public piece)
            Track.objects.filter(pk=keep.pk).update(music_hash=digest)
            report.fingerprinted += 1
