"""X-RateLimit-Limit / -Remaining / -Reset: what a mobile client reads off every throttled
response to pace itself, before and when it is refused."""

import pytest
from rest_framework.test import APIClient

from musicsite.throttling import ApiThrottle
from tests.api.conftest import token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

EXACT, WINDOWED = 100, 0  # ApiThrottle.EXACT_UP_TO: every test rate exact / every one windowed
HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@pytest.fixture
def clock(monkeypatch):
    now = {"t": 1_000_050.0}  # 30 s into a one-minute window (from 1_000_020)
    monkeypatch.setattr(ApiThrottle, "timer", lambda self: now["t"])
    return now


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def _quota(response) -> tuple[int, int, int]:
    limit, remaining, reset = (int(response[name]) for name in HEADERS)
    return limit, remaining, reset


def test_each_allowed_request_counts_down_and_the_429_says_when(settings, clock):
    _rates(settings, feed="3/min")
    client = token_client(UserFactory())
    quotas = []
    for _ in range(3):
        quotas.append(_quota(client.get("/api/v1/feed/")))
        clock["t"] += 10
    assert quotas == [(3, 2, 60), (3, 1, 50), (3, 0, 40)]  # until the first stops counting
    refused = client.get("/api/v1/feed/")
    assert refused.status_code == 429
    assert _quota(refused) == (3, 0, 30)
    assert refused["Retry-After"] == "30"
    clock["t"] += 30
    assert client.get("/api/v1/feed/").status_code == 200  # when Reset said


def test_a_fixed_window_resets_at_its_end(settings, monkeypatch, clock):
    monkeypatch.setattr(ApiThrottle, "EXACT_UP_TO", WINDOWED)
    _rates(settings, feed="2/min")
    client = token_client(UserFactory())
    assert _quota(client.get("/api/v1/feed/")) == (2, 1, 30)
    assert _quota(client.get("/api/v1/feed/")) == (2, 0, 30)
    refused = client.get("/api/v1/feed/")
    assert refused.status_code == 429 and _quota(refused) == (2, 0, 30)
    assert refused["Retry-After"] == "30"


def test_the_budget_closest_to_running_out_is_the_one_reported(settings, clock):
    _rates(settings, user="5/min", feed="50/min")
    client = token_client(UserFactory())
    assert _quota(client.get("/api/v1/feed/"))[:2] == (5, 4)  # the account's, not the feed's
    _rates(settings, user="50/min", feed="5/min")
    assert _quota(client.get("/api/v1/feed/"))[:2] == (5, 3)  # now the feed's (2nd request)


def test_the_refusing_budget_is_reported_on_a_429(settings, clock):
    _rates(settings, user="2/min", feed="1/min")
    client = token_client(UserFactory())
    client.get("/api/v1/feed/")
    refused = client.get("/api/v1/feed/")
    assert refused.status_code == 429
    assert _quota(refused)[:2] == (1, 0)  # the feed's budget refused it; the account's had 0 left


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/v1/me/", 200),
        ("delete", "/api/v1/auth/devices/999999/", 404),
        ("delete", "/api/v1/me/", 400),  # no password
        ("delete", "/api/v1/auth/token/", 204),
    ],
)
def test_every_throttled_response_carries_the_headers(settings, clock, method, path, status):
    _rates(settings, user="100/min", auth="200/min")  # the account's is reported
    response = getattr(token_client(UserFactory()), method)(path, format="json")
    assert response.status_code == status
    assert _quota(response) == (100, 99, 60)


def test_anonymous_clients_see_their_address_budget(settings, clock):
    _rates(settings, anon="7/min")
    response = APIClient().get("/api/v1/tracks/")
    assert response.status_code == 200 and _quota(response) == (7, 6, 60)


def test_pages_carry_no_rate_limit_headers(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert not any(name in response for name in HEADERS)


def test_the_schema_documents_them_on_every_success_and_429():
    schema = APIClient().get("/api/v1/schema/?format=json").json()
    assert set(schema["components"]["headers"]) == set(HEADERS)
    documented = []
    for path_item in schema["paths"].values():
        for operation in path_item.values():
            for code, response in operation["responses"].items():
                if code.startswith("2") or code == "429":
                    refs = {h: r.get("$ref") for h, r in response.get("headers", {}).items()}
                    assert all(refs.get(h) == f"#/components/headers/{h}" for h in HEADERS)
                    documented.append(code)
    assert len(documented) >= 40 and "429" in documented
