"""A song follows the listener's taste in style, ensemble and key, and says so truthfully."""

import pytest

from accounts.models import Profile
from catalog.models import Collection, Track
from generator.ml.styles import STYLES
from generator.personalization import conditioning_for
from tests.factories import CollectionFactory, RatingFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_loved_chorale_makes_a_chorale_for_four_voices(catalog_track):
    user = UserFactory()
    chorales, _ = Collection.objects.get_or_create(name="Bach Chorales")
    loved = catalog_track(seed=3)
    Track.objects.filter(pk=loved.pk).update(collection=chorales, key="G major", tempo_bpm=80.0)
    RatingFactory(user=user, track=loved, stars=5)
    cond = conditioning_for(user, seed=4)
    assert cond.style == "chorale"
    assert cond.max_polyphony == len(STYLES["chorale"].parts) == 4
    assert cond.reason.startswith("In the style of the Bach chorales you loved")
    assert "for four voices, in G major." in cond.reason
    assert cond.tempo_bpm == pytest.approx(80.0)


def test_a_new_listener_gets_the_style_they_picked_when_they_joined():
    user = UserFactory()
    profile = Profile.objects.create(user=user)
    profile.collections.set([CollectionFactory(name="Ryan's Mammoth Collection (1883)")])
    cond = conditioning_for(user, seed=0)
    assert cond.style == "fiddle" and cond.primer_track_id is None
    assert cond.key and cond.key in cond.reason
    assert "fiddle tunes you picked when you joined" in cond.reason


def test_a_listener_without_tastes_gets_a_folk_song_in_a_named_key():
    cond = conditioning_for(UserFactory(), seed=1)
    assert cond.style == "folksong" and cond.key
    assert "rate some music" in cond.reason
