"""seed_demo_listeners: labelled demo accounts with distinct tastes, idempotent."""

from collections import Counter

import pytest
from django.core.management import call_command

from accounts.models import Profile
from recommender.feed.services import feed_page_serve
from recommender.models import ListenEvent, Rating
from tests.factories import TrackFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo_mode(settings):
    """Demo listeners have published passwords: they exist in demo mode only."""
    settings.DEMO_MODE = True


def test_seed_demo_listeners_creates_distinct_tastes_once(catalog, capsys):
    chorales = catalog["collections"][0]
    for i in range(60):  # room to discover: more chorales than a demo listener has heard
        TrackFactory(
            title=f"More chorale {i}",
            collection=chorales,
            artist=catalog["chorales"][0].artist,
            key="A minor",
            tempo_bpm=70,
            instruments=["Church Organ"],
        )
    call_command("seed_demo_listeners")
    out = capsys.readouterr().out
    assert "demo-chorales / listen-as-demo-chorales" in out
    assert "demo-irish-folk / listen-as-demo-irish-folk" in out
    profiles = Profile.objects.filter(is_demo=True).select_related("user")
    names = {p.user.username for p in profiles}
    assert names == {"demo-chorales", "demo-irish-folk"}  # no German songs in this catalog
    chorale_fan = next(p.user for p in profiles if p.user.username == "demo-chorales")
    plays = ListenEvent.objects.filter(user=chorale_fan, counted=True)
    in_taste = plays.filter(track__collection__name="Bach chorales").count()
    assert plays.count() > 50 and in_taste / plays.count() > 0.7
    # A history of many pieces, not one piece on repeat: none takes more than a fifth.
    most = max(Counter(plays.values_list("track_id", flat=True)).values())
    assert most / plays.count() < 0.2, most
    assert Rating.objects.filter(user=chorale_fan, liked=True).exists()
    feed = feed_page_serve(user=chorale_fan, cursor=None, size=10).items
    assert sum(i.track.collection.name == "Bach chorales" for i in feed) >= 4

    before = ListenEvent.objects.count()
    call_command("seed_demo_listeners")
    assert ListenEvent.objects.count() == before
    assert "already there" in capsys.readouterr().out
