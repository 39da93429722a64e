"""Catalog reads: visibility, filters, the play queue."""

from datetime import date, timedelta

import pytest

from catalog import selectors
from catalog.filters import TrackFilterForm, TrackFilters
from catalog.models import Track
from tests.factories import ArtistFactory, CollectionFactory, TagFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


def _titles(queryset) -> list[str]:
    return [track.title for track in queryset]


def test_track_list_shows_only_what_the_user_may_see():
    owner, other = UserFactory(), UserFactory()
    TrackFactory(title="Public")
    TrackFactory(title="Hidden", status=Track.Status.HIDDEN)
    TrackFactory(title="Draft", status=Track.Status.DRAFT)
    TrackFactory(title="Mine", owner=owner)
    TrackFactory(title="Theirs", owner=other)

    assert _titles(selectors.track_list(user=owner)) == ["Mine", "Public"]
    assert _titles(selectors.track_list(user=None)) == ["Public"]


def test_track_list_filters_combine():
    bach, mozart = ArtistFactory(name="Bach"), ArtistFactory(name="Mozart")
    chorales = CollectionFactory(name="Chorales")
    slow = TagFactory(name="slow")
    match = TrackFactory(
        title="Chorale in D", artist=bach, collection=chorales, key="D minor", tempo_bpm=72.4
    )
    match.tags.add(slow)
    TrackFactory(title="Chorale in G", artist=bach, collection=chorales, key="G major")
    TrackFactory(title="Sonata", artist=mozart, key="D minor", tempo_bpm=72)
    TrackFactory(title="Chorale fast", artist=bach, key="D minor", tempo_bpm=140)

    filters = TrackFilters(
        q="chorale", composer=bach, key="d minor", tempo_min=60, tempo_max=72, tag=slow
    )
    assert _titles(selectors.track_list(user=None, filters=filters)) == ["Chorale in D"]
    assert _titles(selectors.track_list(user=None, filters=TrackFilters(collection=chorales))) == [
        "Chorale in D",
        "Chorale in G",
    ]


def test_search_finds_words_in_the_composer_collection_and_tags_too():
    bach, trad = ArtistFactory(name="J. S. Bach"), ArtistFactory(name="Traditional")
    chorales, reels = CollectionFactory(name="Bach Chorales"), CollectionFactory(name="Reels")
    lively = TagFactory(name="lively")
    TrackFactory(title="Herzlich tut mich verlangen", artist=bach, collection=chorales)
    TrackFactory(title="Chorale in G", artist=trad)
    jig = TrackFactory(title="The Kesh", artist=trad, collection=reels)
    jig.tags.add(lively)

    def search(q: str) -> list[str]:
        return _titles(selectors.track_list(user=None, filters=TrackFilters(q=q)))

    assert search("bach") == ["Herzlich tut mich verlangen"]  # no title says Bach
    assert search("BACH chorale") == ["Herzlich tut mich verlangen"]  # every word must match
    assert search("chorale") == ["Chorale in G", "Herzlich tut mich verlangen"]
    assert search("lively traditional") == ["The Kesh"]
    assert search("bach reels") == []


def test_filter_form_rejects_bad_values_with_named_fields():
    form = TrackFilterForm({"tempo_min": "fast", "tempo_max": "50", "collection": "nope"})
    assert not form.is_valid()
    assert "whole number" in form.errors["tempo_min"][0]
    assert form.errors["collection"] == ["Unknown collection."]

    reversed_range = TrackFilterForm({"tempo_min": "120", "tempo_max": "60"})
    assert not reversed_range.is_valid()
    assert "upper tempo" in reversed_range.errors["tempo_max"][0]


def test_queue_keeps_requested_order_and_drops_invisible_ids():
    a, b, c = TrackFactory(), TrackFactory(), TrackFactory()
    hidden = TrackFactory(status=Track.Status.HIDDEN)
    requested = selectors.parse_queue(f"{c.pk},x,{hidden.pk},{a.pk},{a.pk},-3,{b.pk}")
    queue = selectors.track_queue(user=None, track=a, requested=requested)
    assert queue == [c.pk, a.pk, b.pk]
    assert selectors.queue_neighbours(queue, a.pk) == (c.pk, b.pk)
    assert selectors.queue_neighbours(queue, c.pk) == (None, a.pk)


def test_queue_defaults_to_the_collection_in_title_order():
    collection = CollectionFactory()
    second = TrackFactory(title="B", collection=collection)
    first = TrackFactory(title="A", collection=collection)
    TrackFactory(title="elsewhere")
    assert selectors.track_queue(user=None, track=second, requested=[]) == [first.pk, second.pk]


def test_context_label_is_sanitised():
    assert selectors.clean_context("browse") == "browse"
    assert selectors.clean_context('"><script>') == "track_page"


def test_key_choices_are_distinct_and_sorted():
    for key in ("D minor", "C major", "D minor", "C major", ""):
        TrackFactory(key=key)
    TrackFactory(key="F major", status=Track.Status.HIDDEN)
    assert selectors.track_key_choices(user=None) == ["C major", "D minor"]


def test_featured_pieces_take_turns_across_every_collection_and_change_by_day():
    """The landing page shows a piece of every collection before a second of any, however many
    pieces the first collections hold; the same all day, other pieces (not the first by title)
    on other days; pieces ready to play first, but a collection not rendered yet still shows."""
    collections = [CollectionFactory(name=name) for name in ("Airs", "Ballads", "Chorales")]
    for collection in collections:
        for n in range(300 if collection.name == "Airs" else 3):
            TrackFactory(title=f"{collection.name} {n:03d}", collection=collection)
    TrackFactory(title="Chorales (not rendered)", collection=collections[2])
    TrackFactory(title="Drones (not rendered)", collection=CollectionFactory(name="Drones"))
    Track.objects.filter(title__contains="not rendered").update(render_status="pending")
    Track.objects.exclude(title__contains="not rendered").update(render_status="ready")

    days = [date(2026, 12, 1) + timedelta(days=n) for n in range(7)]
    picks = {day: selectors.track_featured(user=None, limit=6, day=day) for day in days}
    for day, featured in picks.items():
        colls = [t.collection.name for t in featured]
        assert len(set(colls[:4])) == 4 and len(set(colls[4:])) == 2, colls
        assert "Chorales (not rendered)" not in [t.title for t in featured]
        assert "Drones (not rendered)" in [t.title for t in featured]
        assert [t.pk for t in selectors.track_featured(user=None, limit=6, day=day)] == [
            t.pk for t in featured
        ]
    airs = {
        next(t.title for t in featured if t.collection.name == "Airs")
        for featured in picks.values()
    }
    assert len(airs) >= 5, airs  # not "Airs 000" every day
    assert len({tuple(t.collection.name for t in f[:4]) for f in picks.values()}) > 1
