"""The reads of the listen ingest path: what a listener may hear, and whether they paused."""

import pytest

from catalog.models import Track
from recommender.listening.selectors import PAUSED, listenable_or_paused
from recommender.listening.services import history_pause_set
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
        assert listenable_or_paused(user, ids) == expected
        assert len(expected) == 2  # the public published piece and their own published one


def test_paused_history_shows_up_in_the_same_answer():
    ada = UserFactory(username="ada")
    piece = TrackFactory()
    assert PAUSED not in listenable_or_paused(ada, [piece.pk])
    history_pause_set(user=ada, paused=True)
    assert PAUSED in listenable_or_paused(ada, [piece.pk])
    assert PAUSED in listenable_or_paused(ada, [10**9])
