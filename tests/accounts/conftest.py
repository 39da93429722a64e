"""Fixtures of the accounts tests."""

import pytest
from django.core.files.base import ContentFile

from accounts.models import Playlist, PlaylistItem
from tests.factories import ListenEventFactory, RatingFactory, TrackFactory, UserFactory

MIDI = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk\x00\x00\x00\x04\x00\xff\x2f\x00"


@pytest.fixture
def listener_with_data(db):
    """Ada, with listens, ratings, a generated piece (MIDI, Ogg and MP3 files) and a playlist;
    Bob, with one listen."""
    user = UserFactory(username="ada")
    piece = TrackFactory(title="Ada's Nocturne", owner=user, origin="generated")
    piece.midi_file.save("nocturne.mid", ContentFile(MIDI), save=False)
    piece.audio_file.save("nocturne.ogg", ContentFile(b"OggS fake"), save=False)
    piece.audio_mp3_file.save("nocturne.mp3", ContentFile(b"ID3 fake"), save=True)
    ListenEventFactory(user=user, track=TrackFactory(title="Aria"))
    ListenEventFactory(user=user, track=piece, context="generated")
    RatingFactory(user=user, track=piece, stars=5, liked=True)
    RatingFactory(user=user, track=TrackFactory(title="Gigue"), stars=2)
    ListenEventFactory(user=UserFactory(username="bob"))  # not Ada's
    playlist = Playlist.objects.create(owner=user, name="Evening")
    PlaylistItem.objects.create(playlist=playlist, track=piece, position=0)
    return user, piece
