"""Onboarding offers, and accepts, only collections, composers and tags holding public pieces
(``Track.objects.visible_to``): one with only hidden, draft or private pieces is unknown."""

import pytest
from rest_framework.test import APIClient

from catalog.models import Track
from tests.factories import ArtistFactory, CollectionFactory, TagFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    TrackFactory(
        collection=CollectionFactory(name="Public", slug="public"),
        artist=ArtistFactory(name="Public composer", slug="public-composer"),
    ).tags.add(TagFactory(name="public tag", slug="public-tag"))
    carol = UserFactory(username="carol")
    for kind, status, owner in (
        ("draft", Track.Status.DRAFT, None),
        ("hidden", Track.Status.HIDDEN, None),
        ("carols", Track.Status.PUBLISHED, carol),
    ):
        TrackFactory(
            status=status,
            owner=owner,
            collection=CollectionFactory(name=f"{kind} collection", slug=f"{kind}-collection"),
            artist=ArtistFactory(name=f"{kind} composer", slug=f"{kind}-composer"),
        ).tags.add(TagFactory(name=f"{kind} tag", slug=f"{kind}-tag"))
    client = APIClient()
    client.force_authenticate(UserFactory(username="ada"))
    return client


def test_choices_hold_only_public_pieces(api):
    choices = api.get("/api/v1/onboarding/").json()["choices"]
    assert [c["slug"] for c in choices["collections"]] == ["public"]
    assert [c["slug"] for c in choices["composers"]] == ["public-composer"]
    assert [c["slug"] for c in choices["tags"]] == ["public-tag"]


@pytest.mark.parametrize("kind", ["draft", "hidden", "carols"])
@pytest.mark.parametrize("field", ["collections", "composers", "tags"])
def test_a_pick_of_what_holds_no_public_piece_is_unknown(api, kind, field):
    slug = f"{kind}-{field[:-1]}"  # draft-collection, hidden-composer, carols-tag...
    response = api.put("/api/v1/onboarding/", {field: [slug]}, format="json")
    assert response.status_code == 400, response.json()
    assert slug in response.json()["error"]["message"]
