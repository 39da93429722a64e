"""The hand-written SQL of the listen ingest path agrees with the ORM it stands in for."""

import pytest

from catalog.models import Track
from recommender.listening.services import history_pause_set
from recommender.listening.upsert import PAUSED, listen_tracks_or_paused
from tests.factories import TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_visible_tracks_match_the_catalogs_rule():
    ada, bob = UserFactory(username="ada"), UserFactory(username="bob")
    pieces = [
        TrackFactory(status=status, owner=owner)
        for status in Track.Status.values
        for owner in (None, ada, bob)
    ]
    ids = [p.pk for p in pieces] + [10**9]
    for user in (ada, bob):
        expected = dict(
            Track.objects.visible_to(user).filter(pk__in=ids).values_list("pk", "duration_seconds")
        )
        assert listen_tracks_or_paused(user_id=user.pk, track_ids=ids) == expected
        assert len(expected) == 2  # the public published piece and their own published one


def test_paused_history_shows_up_in_the_same_answer():
    ada = UserFactory(username="ada")
    piece = TrackFactory()
    assert PAUSED not in listen_tracks_or_paused(user_id=ada.pk, track_ids=[piece.pk])
    history_pause_set(user=ada, paused=True)
    assert PAUSED in listen_tracks_or_paused(user_id=ada.pk, track_ids=[piece.pk])
    assert PAUSED in listen_tracks_or_paused(user_id=ada.pk, track_ids=[10**9])
