"""Fixtures for the API tests: token clients and a small catalog."""

import pytest
from rest_framework.test import APIClient

from recommender.feed.content import reset_catalog_index
from recommender.feed.context import reset_popularity
from recommender.feed_api import reset_payload_cache
from tests.factories import UserFactory, api_token
from tests.recommender.feed.conftest import catalog  # noqa: F401  (shared fixture)


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
