"""One error format for every API error; throttling answers 429 with Retry-After."""

import os
import uuid

import pytest
from rest_framework.test import APIClient

from musicsite.api import ScopedThrottle, _window_count
from tests.api.conftest import token_client
from tests.conftest import REQUIRE_SERVICES
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


@pytest.mark.parametrize(
    ("exact_up_to", "retry_after"),
    [(100, 60), (0, 30)],  # DRF's exact log (low rates) / a fixed one-minute window
    ids=["exact", "fixed-window"],
)
def test_throttled_requests_get_429_with_retry_after(
    settings, monkeypatch, exact_up_to, retry_after
):
    clock = {"now": 1_000_050.0}  # 30 s into a one-minute window (from 1_000_020)
    monkeypatch.setattr(ScopedThrottle, "timer", lambda self: clock["now"])
    monkeypatch.setattr(ScopedThrottle, "EXACT_UP_TO", exact_up_to)
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "feed": "2/min",
        },
    }
    client = token_client(UserFactory())
    statuses = [client.get("/api/v1/feed/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = client.get("/api/v1/feed/")
    assert _error(response)["code"] == "throttled"
    assert response["Retry-After"] == str(retry_after)
    clock["now"] += retry_after
    assert client.get("/api/v1/feed/").status_code == 200  # allowed again when it said


def test_schema_and_docs_are_served_locally(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    assert "/api/v1/feed/" in schema["paths"] and "Error" in schema["components"]["schemas"]
    feed_get = schema["paths"]["/api/v1/feed/"]["get"]["responses"]
    assert {"200", "400", "401", "429"} <= set(feed_get)
    for url in ("/api/v1/docs/", "/api/v1/redoc/"):
        html = client.get(url).content.decode()
        assert "cdn" not in html.lower() and "static/drf_spectacular_sidecar" in html


def _redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.parametrize("backend", ["locmem", "redis"])
def test_window_counters_count_and_expire(settings, backend):
    """The fixed-window counter, on the per-process cache and on Redis (shared, as deployed)."""
    if backend == "redis":
        if not (REQUIRE_SERVICES or _redis_reachable()):
            pytest.skip("no Redis on 127.0.0.1:6379")
        location = os.environ.get("CACHE_URL", "")
        if not location.startswith(("redis://", "rediss://")):
            location = "redis://127.0.0.1:6379/14"
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": location,
            }
        }
    else:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.cache import caches

    cache = caches["default"]
    key = f"test-window-{uuid.uuid4().hex}"
    assert _window_count(cache, key, 5) == 1
    if backend == "redis":  # the counter expires with its window, set by the first count only
        client = cache._cache.get_client(write=True)
        first_ttl = client.pttl(cache.make_and_validate_key(key))
        assert 0 < first_ttl <= 5000
    assert [_window_count(cache, key, 5) for _ in range(2)] == [2, 3]
    if backend == "redis":
        assert 0 < client.pttl(cache.make_and_validate_key(key)) <= first_ttl
    cache.delete(key)
