"""Content negotiation: JSON by default, the browsable API when a browser or ?format asks."""

import pytest
from rest_framework.test import APIClient

from tests.factories import TrackFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("accept", "query", "expected"),
    [
        (None, "", "application/json"),
        ("*/*", "", "application/json"),
        ("application/json", "", "application/json"),
        ("text/html,application/xhtml+xml,*/*;q=0.8", "", "text/html"),
        ("*/*", "?format=api", "text/html"),
        ("text/html,*/*;q=0.8", "?format=json", "application/json"),
    ],
)
def test_renderer_follows_accept_and_format(accept, query, expected):
    track = TrackFactory()
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = APIClient().get(f"/api/v1/tracks/{track.pk}/{query}", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(expected)


def test_unacceptable_type_is_a_406_in_the_error_format():
    response = APIClient().get("/api/v1/tracks/", HTTP_ACCEPT="application/xml")
    assert response.status_code == 406
    assert response.json()["error"]["code"] == "not_acceptable"
