"""A piece is "New" when added lately, after the rest of the catalog, and not yet met."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Track
from recommender.feed.services import feed_page_serve
from tests.factories import ListenEventFactory, UserFactory

pytestmark = pytest.mark.django_db


def _reasons(user) -> dict[int, str]:
    page = feed_page_serve(user=user, cursor=None, size=24)
    return {item.track.pk: item.reason_text for item in page.items}


def test_right_after_the_first_import_nothing_is_new(catalog):
    assert "New" not in _reasons(UserFactory()).values()


def test_pieces_added_this_week_to_an_older_catalog_are_new_until_met(catalog):
    everything = catalog["chorales"] + catalog["irish"]
    Track.objects.filter(pk__in=[t.pk for t in everything]).update(
        created_at=timezone.now() - timedelta(days=60)
    )
    added = catalog["irish"][:2]
    Track.objects.filter(pk__in=[t.pk for t in added]).update(created_at=timezone.now())
    newcomer = UserFactory(username="newcomer")
    reasons = _reasons(newcomer)
    assert {pk for pk, text in reasons.items() if text == "New"} == {t.pk for t in added}

    regular = UserFactory(username="regular")
    ListenEventFactory(user=regular, track=added[0])  # met it: not news to them any more
    reasons = _reasons(regular)
    assert {pk for pk, text in reasons.items() if text == "New"} <= {added[1].pk}
    assert reasons.get(added[0].pk) != "New"
