"""Hostile request bodies answer 4xx in the API's error format, never 500 (anonymous or not)."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.api.conftest import token_client
from tests.factories import TrackFactory, UserFactory

pytestmark = pytest.mark.django_db

ROUTES = [
    ("POST", "/api/v1/auth/signup/"),
    ("POST", "/api/v1/auth/token/"),
    ("POST", "/api/v1/listens/"),
    ("PUT", "/api/v1/ratings/{track}/"),
]


def _bodies():
    too_big = b'{"a": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"}'
    deep = "[" * 50_000 + "]" * 50_000
    fields = "&".join(f"f{i}=1" for i in range(1_100))
    return [
        ("too_big_json", too_big, "application/json", {413}),
        ("too_big_form", b"a=" + too_big, "application/x-www-form-urlencoded", {413, 415}),
        ("deep_json", deep, "application/json", {400}),
        ("many_fields", fields, "application/x-www-form-urlencoded", {400, 415}),
    ]


def _error(response):
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] and body["error"]["message"]
    return body["error"]


@pytest.mark.parametrize("anonymous", [True, False], ids=["anonymous", "token"])
@pytest.mark.parametrize(("method", "route"), ROUTES, ids=[r for _, r in ROUTES])
def test_hostile_bodies_are_refused_in_the_error_format(anonymous, method, route):
    track = TrackFactory()
    client = APIClient() if anonymous else token_client(UserFactory())
    url = route.format(track=track.pk)
    for name, body, content_type, expected in _bodies():
        response = client.generic(method, url, body, content_type=content_type)
        if anonymous and route.startswith(("/api/v1/listens", "/api/v1/ratings")):
            expected = {401}  # the credentials are checked before the body is read
        assert response.status_code in expected, (
            name,
            response.status_code,
            response.content[:200],
        )
        error = _error(response)
        if response.status_code == 413:
            assert error["code"] == "too_large" and "MiB" in error["message"]


def test_many_multipart_fields_are_a_400():
    client = token_client(UserFactory())
    data = {f"f{i}": "1" for i in range(1_100)}
    response = client.post("/api/v1/auth/signup/", data, format="multipart")
    assert response.status_code == 400
    assert _error(response)["code"] == "too_many_fields"


def test_deep_json_in_the_beacon_is_a_400(client):
    client.force_login(UserFactory())
    response = client.post("/api/v1/listens/beacon/", {"events": "[" * 50_000 + "]" * 50_000})
    assert response.status_code == 400
    assert _error(response)["code"] == "malformed"


@pytest.mark.parametrize(
    ("path", "method", "body", "field"),
    [
        ("/api/v1/me/history/settings/", "put", {"paused": 0}, "paused"),
        ("/api/v1/playlists/", "post", {"name": "Runs", "description": 0}, "description"),
        ("/api/v1/playlists/", "post", {"name": 7}, "name"),
        ("/api/v1/onboarding/", "put", {"tags": [1]}, "tags"),
    ],
)
def test_json_values_of_the_wrong_type_are_refused_not_coerced(path, method, body, field):
    from tests.api.conftest import token_client
    from tests.factories import UserFactory

    response = getattr(token_client(UserFactory()), method)(path, body, format="json")
    assert response.status_code == 400, response.content
    assert any(name.startswith(field) for name in response.json()["error"]["fields"])
