"""Fixtures for the API tests: token clients and a small catalog."""

import pytest
from rest_framework.test import APIClient

from recommender.feed.api import reset_payload_cache
from recommender.feed.content import reset_catalog_index
from recommender.feed.context import reset_popularity
from tests.factories import UserFactory, api_token
from tests.recommender.conftest import catalog  # noqa: F401  (shared fixture)


@pytest.fixture(autouse=True)
def _fresh_feed_caches():
    reset_catalog_index()
    reset_popularity()
    reset_payload_cache()
    yield
    reset_catalog_index()


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return client


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob")


@pytest.fixture
def as_alice(alice):
    return token_client(alice)


@pytest.fixture
def as_bob(bob):
    return token_client(bob)


@pytest.fixture
def fuzz_listener(settings):
    """A listener with a rating and a playlist over a few pieces, and no throttle in the way:
    what the schema fuzzers sign in as (returns the listener and their API token)."""
    from accounts.models import Playlist
    from recommender.feed.content import reset_catalog_index
    from tests.factories import RatingFactory, TrackFactory, UserFactory, api_token

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            k: "100000/min" for k in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        },
    }
    reset_catalog_index()
    user = UserFactory(username="fuzzer")
    tracks = [TrackFactory() for _ in range(5)]
    RatingFactory(user=user, track=tracks[0], stars=4, liked=True)
    Playlist.objects.create(owner=user, name="Fuzz")
    return user, api_token(user)
