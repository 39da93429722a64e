"""Fixtures for the feed tests: a small catalog with distinct tastes, fresh caches per test."""

import pytest

from recommender.feed.content import reset_catalog_index
from recommender.feed.context import reset_popularity
from recommender.feed_api import reset_payload_cache
from tests.factories import ArtistFactory, CollectionFactory, TagFactory, TrackFactory


@pytest.fixture(autouse=True)
def _fresh_feed_caches():
    reset_catalog_index()
    reset_popularity()
    reset_payload_cache()
    yield
    reset_catalog_index()
    reset_popularity()


@pytest.fixture
def catalog(db):
    """Two clear tastes: slow minor-key chorales by Bach, fast major-key Irish reels."""
    bach = ArtistFactory(name="J. S. Bach", slug="bach")
    trad = ArtistFactory(name="Traditional", slug="trad")
    oneill = ArtistFactory(name="O'Neill", slug="oneill")
    chorales = CollectionFactory(name="Bach chorales", slug="bach-chorales")
    irish = CollectionFactory(name="Irish folk", slug="irish-folk")
    calm = TagFactory(name="calm", slug="calm")
    lively = TagFactory(name="lively", slug="lively")
    out = {"chorales": [], "irish": [], "collections": (chorales, irish), "tags": (calm, lively)}
    for i in range(12):
        t = TrackFactory(
            title=f"Chorale {i}",
            artist=bach,
            collection=chorales,
            key="D minor",
            tempo_bpm=66 + i,
            instruments=["Church Organ"],
            pitch_min=40,
            pitch_max=72,
            note_count=300,
        )
        t.tags.add(calm)
        out["chorales"].append(t)
    for i in range(12):
        t = TrackFactory(
            title=f"Reel {i}",
            artist=trad if i % 2 else oneill,
            collection=irish,
            key="G major",
            tempo_bpm=140 + i,
            instruments=["Fiddle"],
            pitch_min=55,
            pitch_max=88,
            note_count=900,
        )
        t.tags.add(lively)
        out["irish"].append(t)
    return out
