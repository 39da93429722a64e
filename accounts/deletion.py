"""Deleting an account and everything in it: listens, ratings, settings, private pieces and
their files, playlists, tastes and API tokens."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.files.storage import default_storage
from django.db import transaction

from catalog.models import Track

logger = logging.getLogger(__name__)


def _delete_files(names: Iterable[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete a file of a deleted account: %s", name)


@transaction.atomic
def account_delete(*, user) -> None:
    """Delete ``user`` and all their data: listens, ratings, settings, their private pieces,
    their API tokens (every device is signed out).

    The private pieces' files (MIDI, Ogg and MP3 audio, piano roll) are removed once the
    deletion commits, so a failed deletion never leaves rows pointing at missing files.
    """
    files = [
        name
        for track in Track.objects.filter(owner=user)
        for name in (
            track.midi_file.name,
            track.audio_file.name,
            track.audio_mp3_file.name,
            track.pianoroll_image.name,
        )
        if name
    ]
    user_id = user.pk
    user.delete()
    transaction.on_commit(lambda: _delete_files(files))
    logger.info("deleted user %s and %d private files", user_id, len(files))
