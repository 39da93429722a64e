"""Reads of the generator app: jobs, versions, and the data personalization and training use."""

from __future__ import annotations

from pathlib import Path

from django.db.models import QuerySet

from catalog.models import Track
from generator.models import GenerationJob


def catalog_midi_paths() -> list[Path]:
    """MIDI files of published, imported (public) catalog tracks that exist on disk."""
    tracks = Track.objects.filter(
        status=Track.Status.PUBLISHED, origin=Track.Origin.IMPORTED, owner__isnull=True
    ).exclude(midi_file="")
    paths = []
    for track in tracks.only("midi_file"):
        try:
            path = Path(track.midi_file.path)
        except (ValueError, NotImplementedError):
            continue
        if path.is_file():
            paths.append(path)
    return sorted(paths)


def job_list_for_user(*, user) -> QuerySet[GenerationJob]:
    return GenerationJob.objects.filter(user=user).select_related(
        "track", "primer_track", "version"
    )


def job_get_for_user(*, user, job_id: int) -> GenerationJob | None:
    """The listener's own job, or None (another listener's job is invisible)."""
    return job_list_for_user(user=user).filter(pk=job_id).first()


def loved_generated_midi_paths() -> list[Path]:
    """MIDI of generated pieces their listener loved (liked, or 4 stars or more)."""
    from recommender.listening.selectors import loved_generated_track_ids

    paths = []
    for track in Track.objects.filter(pk__in=loved_generated_track_ids()).only("midi_file"):
        path = Path(track.midi_file.path)
        if path.is_file():
            paths.append(path)
    return sorted(paths)
