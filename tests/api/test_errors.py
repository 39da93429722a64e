"""One error format for every API error."""

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _error(response):
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] and body["error"]["message"]
    return body["error"]


def test_unknown_api_path_is_a_json_404_for_any_method():
    client = APIClient()
    for method in ("get", "post", "delete"):
        response = getattr(client, method)("/api/v1/no/such/thing/")
        assert response.status_code == 404
        assert _error(response)["code"] == "not_found"
    hint = _error(client.get("/api/v1/feed"))["message"]
    assert "trailing slash" in hint


def test_unknown_api_path_is_a_json_404_even_with_a_session_and_no_csrf_token():
    """A client holding a session cookie (a browser) gets the API's 404, not Django's CSRF page."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    for method in ("post", "delete"):
        response = getattr(client, method)("/api/v1/generation-jobs/-5/cancel/")
        assert response.status_code == 404
        assert _error(response)["code"] == "not_found"


def test_malformed_json_is_a_400_parse_error():
    client = token_client(UserFactory())
    response = client.generic(
        "POST", "/api/v1/playlists/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert _error(response)["code"] == "parse_error"


def test_validation_errors_name_each_field():
    client = token_client(UserFactory())
    response = client.post("/api/v1/playlists/", {"name": ""}, format="json")
    error = _error(response)
    assert response.status_code == 400 and "name" in error["fields"]
    assert "name:" in error["message"]


def test_wrong_method_and_bad_token():
    client = token_client(UserFactory())
    assert _error(client.delete("/api/v1/feed/"))["code"] == "method_not_allowed"
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = bad.get("/api/v1/feed/")
    assert response.status_code == 401 and _error(response)["code"] == "authentication_failed"


def test_schema_and_docs_are_served_locally(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    assert "/api/v1/feed/" in schema["paths"] and "Error" in schema["components"]["schemas"]
    feed_get = schema["paths"]["/api/v1/feed/"]["get"]["responses"]
    assert {"200", "400", "401", "429"} <= set(feed_get)
    for url in ("/api/v1/docs/", "/api/v1/redoc/"):
        html = client.get(url).content.decode()
        assert "cdn" not in html.lower() and "static/drf_spectacular_sidecar" in html
        assert "https://" not in html and "http://" not in html  # nothing from outside the site
