"""Search ranks what it finds: "bach", "mozart" or "reel" give those pieces first, in the browse
page and the API alike (PostgreSQL's full-text ranking there, the same weights on SQLite)."""

import pytest
from django.urls import reverse

from catalog import selectors
from catalog.filters import TrackFilters
from tests.factories import ArtistFactory, CollectionFactory, TagFactory, TrackFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(db):
    """Pieces that answer each query, and pieces that only contain its letters."""
    bach = ArtistFactory(name="Johann Sebastian Bach", slug="bach")
    mozart = ArtistFactory(name="Wolfgang Amadeus Mozart", slug="mozart")
    haydn = ArtistFactory(name="Joseph Haydn", slug="haydn")
    trad = ArtistFactory(name="Traditional", slug="trad")
    chorales = CollectionFactory(name="Bach Chorales")
    quartets = CollectionFactory(name="Classical String Quartets")
    ryans = CollectionFactory(name="Ryan's Mammoth Collection")
    reel, jig, hornpipe = (TagFactory(name=n) for n in ("reel", "jig", "hornpipe"))
    made = {"bach": [], "mozart": [], "reel": []}
    for n, title in enumerate(["Wachet auf", "Aus meines Herzens Grunde", "Zion hört"]):
        made["bach"].append(TrackFactory(title=f"Chorale BWV {n}.6 — {title}", artist=bach,
                                         collection=chorales))  # fmt: skip
    for title in ("String Quartet No. 1, K. 80 — I", "String Quartet No. 17, K. 458 — I"):
        made["mozart"].append(TrackFactory(title=title, artist=mozart, collection=quartets))
    TrackFactory(title="String Quartet Op. 74 No. 1 — I", artist=haydn, collection=quartets)
    for title in ("Drowsy Maggie", "The Silver Spear — Reel", "Old Bachelors' — Reel"):
        track = TrackFactory(title=title, artist=trad, collection=ryans)
        track.tags.add(reel)
        made["reel"].append(track)
    # Only the letters: part of a longer word, and never the composer, collection or tag.
    for title, tag in (
        ("The Roving Bachelor", jig),
        ("The Reeling Sailor", hornpipe),
        ("Mozartkugel Polka", jig),
        ("Apples in Winter", jig),
    ):
        TrackFactory(title=title, artist=trad, collection=ryans).tags.add(tag)
    return made


def _search(q: str, **filters) -> list[str]:
    return [t.title for t in selectors.track_list(user=None, filters=TrackFilters(q=q, **filters))]


@pytest.mark.parametrize("query", ["bach", "mozart", "reel", "Bach", "REEL"])
def test_a_composer_or_a_dance_comes_first(catalog, query):
    wanted = {t.title for t in catalog[query.lower()]}
    found = _search(query)
    assert set(found[: len(wanted)]) == wanted, found
    assert len(found) > len(wanted)  # "Bachelor", "Reeling", "Mozartkugel" still match, after


def test_the_title_counts_most_then_composer_collection_and_tag():
    rose = ArtistFactory(name="Rose Ensemble")
    garden = CollectionFactory(name="Rose Garden Tunes")
    for title, artist, collection, tag in (
        ("Tagged", None, None, "rose"),
        ("In the collection", None, garden, None),
        ("By the composer", rose, None, None),
        ("The Rose of Tralee", None, None, None),
        ("Primrose Lane", None, None, None),  # part of a word only
    ):
        track = TrackFactory(title=title, artist=artist, collection=collection)
        if tag:
            track.tags.add(TagFactory(name=tag))
    assert _search("rose") == [
        "The Rose of Tralee",
        "By the composer",
        "In the collection",
        "Tagged",
        "Primrose Lane",
    ]


def test_every_word_must_match_and_the_filters_still_apply(catalog):
    assert _search("bach wachet") == ["Chorale BWV 0.6 — Wachet auf"]
    assert _search("mozart k 458") == ["String Quartet No. 17, K. 458 — I"]
    quartets = catalog["mozart"][0].collection
    assert len(_search("quartet", collection=quartets)) == 3
    assert _search("reel", collection=quartets) == []
    assert _search("mozart", tag=catalog["reel"][0].tags.get()) == []


def test_the_api_ranks_as_the_page_does(client, catalog):
    api = client.get("/api/v1/tracks/", {"q": "mozart"}).json()
    titles = [row["title"] for row in api["results"]]
    assert titles == _search("mozart")
    assert {row["composer"]["slug"] for row in api["results"][:2]} == {"mozart"}
    page = client.get(reverse("catalog:browse"), {"q": "bach"}).content.decode()
    first_bach = page.index(catalog["bach"][0].title.split(" — ")[0])
    assert first_bach < page.index("The Roving Bachelor")


def test_postgresql_ranks_with_full_text_search(catalog):
    from django.db import connection

    sql = str(selectors.track_list(user=None, filters=TrackFilters(q="bach")).query)
    if connection.vendor == "postgresql":
        assert "ts_rank" in sql and "to_tsvector" in sql, sql
    else:
        assert "ts_rank" not in sql and "REGEXP" in sql, sql
