"""Fixtures for the feed tests: fresh caches per test (the catalog is in the parent conftest)."""

import pytest

from recommender.feed.api import reset_payload_cache
from recommender.feed.content import reset_catalog_index
from recommender.feed.context import reset_popularity
from recommender.feed.weights import reset_source_multipliers


@pytest.fixture(autouse=True)
def _fresh_feed_caches():
    reset_catalog_index()
    reset_popularity()
    reset_payload_cache()
    reset_source_multipliers()
    yield
    reset_catalog_index()
    reset_popularity()
    reset_source_multipliers()
