"""Reads of the generator app: jobs, versions, and the data personalization and training use."""

from __future__ import annotations

from pathlib import Path

import pretty_midi
from django.db.models import QuerySet

from catalog.models import Track
from generator.ml.styles import style_for
from generator.ml.train import Piece
from generator.models import GenerationJob


def track_style(track: Track) -> str:
    """The generator style of a catalog piece: its collection's, else a guess from its parts."""
    collection = track.collection.name if track.collection is not None else None
    names = list(track.instruments or [])
    programs = set()
    for name in names:
        try:
            programs.add(pretty_midi.instrument_name_to_program(name))
        except ValueError:  # not a General MIDI name
            continue
    return style_for(collection, programs=programs, parts=len(names))


def catalog_pieces() -> list[Piece]:
    """Published, imported (public) catalog pieces whose MIDI is on disk, with their style."""
    tracks = (
        Track.objects.filter(
            status=Track.Status.PUBLISHED, origin=Track.Origin.IMPORTED, owner__isnull=True
        )
        .exclude(midi_file="")
        .select_related("collection")
        .order_by("pk")
    )
    pieces = []
    for track in tracks:
        try:
            path = Path(track.midi_file.path)
        except (ValueError, NotImplementedError):
            continue
        if path.is_file():
            pieces.append(Piece(path, track_style(track), track.source or path.name))
    return pieces


def job_list_for_user(*, user) -> QuerySet[GenerationJob]:
    return GenerationJob.objects.filter(user=user).select_related(
        "track", "primer_track", "version"
    )


def job_get_for_user(*, user, job_id: int) -> GenerationJob | None:
    """The listener's own job, or None (another listener's job is invisible)."""
    return job_list_for_user(user=user).filter(pk=job_id).first()


def loved_generated_pieces() -> list[Piece]:
    """Generated pieces their listener loved (liked, or 4 stars or more), with the style they
    were written in: examples for the generator's fine-tuning."""
    from recommender.listening.selectors import loved_generated_track_ids

    return _generated_pieces(loved_generated_track_ids())


def disliked_generated_pieces() -> list[Piece]:
    """Generated pieces their listener disliked (2 stars or less, or "not interested"), with the
    style they were written in: what the generator's fine-tuning learns not to write."""
    from recommender.listening.selectors import disliked_generated_track_ids

    return _generated_pieces(disliked_generated_track_ids())


def _generated_pieces(track_ids: list[int]) -> list[Piece]:
    """These generated tracks whose MIDI is on disk, as pieces in the style of their job."""
    tracks = Track.objects.filter(pk__in=track_ids).select_related("generation_job")
    pieces = []
    for track in tracks.order_by("pk"):
        path = Path(track.midi_file.path)
        job = getattr(track, "generation_job", None)
        if path.is_file():
            style = (job.settings or {}).get("style") if job is not None else None
            pieces.append(Piece(path, style, f"generated:{track.pk}"))
    return pieces
