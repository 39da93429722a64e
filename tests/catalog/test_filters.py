"""The browse filters offer only collections, composers and tags that hold a piece the visitor
may see (``Track.objects.visible_to``), on the page and in the API alike."""

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from catalog.models import Track
from tests.factories import ArtistFactory, CollectionFactory, TagFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db

KINDS = ("public", "draft", "hidden", "carols")


@pytest.fixture
def carol():
    return UserFactory(username="carol")


@pytest.fixture
def catalog(carol):
    """One collection, composer and tag per kind of piece, each holding only that piece."""
    for kind in KINDS:
        piece = TrackFactory(
            title=f"{kind} piece",
            status={"draft": Track.Status.DRAFT, "hidden": Track.Status.HIDDEN}.get(
                kind, Track.Status.PUBLISHED
            ),
            owner=carol if kind == "carols" else None,
            origin=Track.Origin.GENERATED if kind == "carols" else Track.Origin.IMPORTED,
            collection=CollectionFactory(name=f"{kind} collection", slug=f"{kind}-collection"),
            artist=ArtistFactory(name=f"{kind} composer", slug=f"{kind}-composer"),
        )
        piece.tags.add(TagFactory(name=f"{kind} tag", slug=f"{kind}-tag"))


def _offered(html: str, name: str) -> set[str]:
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S)
    assert select, name
    return {v for v in re.findall(r'<option value="([^"]*)"', select.group(0)) if v}


def _page(client) -> str:
    response = client.get(reverse("catalog:browse"))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("who", ["anonymous", "ada"])
def test_the_page_offers_only_what_holds_a_piece_the_visitor_may_see(client, catalog, who):
    if who == "ada":
        client.force_login(UserFactory(username="ada"))
    html = _page(client)
    assert _offered(html, "collection") == {"public-collection"}
    assert _offered(html, "composer") == {"public-composer"}
    assert _offered(html, "tag") == {"public-tag"}
    for kind in ("draft", "hidden", "carols"):
        assert f"{kind} collection" not in html and f"{kind} composer" not in html
        assert f"{kind} tag" not in html


def test_a_listener_is_offered_what_holds_their_own_private_pieces(client, catalog, carol):
    client.force_login(carol)
    html = _page(client)
    assert _offered(html, "collection") == {"public-collection", "carols-collection"}
    assert _offered(html, "composer") == {"public-composer", "carols-composer"}
    assert _offered(html, "tag") == {"public-tag", "carols-tag"}


@pytest.mark.parametrize("kind", ["draft", "hidden", "carols"])
@pytest.mark.parametrize("field", ["collection", "composer", "tag"])
def test_a_filter_on_what_the_visitor_may_not_see_is_unknown(client, catalog, kind, field):
    """Page and API answer as for a slug that does not exist: nothing tells it exists."""
    client.force_login(UserFactory(username="ada"))
    html = client.get(reverse("catalog:browse"), {field: f"{kind}-{field}"}).content.decode()
    assert f"Unknown {field}." in html
    api = APIClient()
    api.force_authenticate(UserFactory(username="ada"))
    response = api.get("/api/v1/tracks/", {field: f"{kind}-{field}"})
    assert response.status_code == 400
    assert response.json()["error"]["fields"][field] == [f"Unknown {field}."]


def test_the_api_filters_on_the_owners_own_private_pieces(catalog, carol):
    api = APIClient()
    api.force_authenticate(carol)
    body = api.get("/api/v1/tracks/", {"composer": "carols-composer"}).json()
    assert [t["title"] for t in body["results"]] == ["carols piece"]
