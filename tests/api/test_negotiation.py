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


def test_an_unknown_format_is_a_400_naming_it(db):
    from rest_framework.test import APIClient

    from tests.api.conftest import token_client
    from tests.factories import UserFactory

    app = token_client(UserFactory())
    response = app.get("/api/v1/me/export/", {"format": "xml"})
    assert response.status_code == 400
    (message,) = response.json()["error"]["fields"]["format"]
    assert message.startswith("Unknown format “xml”; choose one of") and "zip" in message
    assert app.get("/api/v1/me/export/", {"format": ""}).status_code == 400
    assert APIClient().get("/api/v1/tracks/", {"format": "json"}).status_code == 200
