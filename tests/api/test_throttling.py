"""Throttling: a client's budget and an endpoint's, answered with 429 and Retry-After."""

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import NoBackoff
from redis.retry import Retry
from rest_framework.test import APIClient

from musicsite import throttling
from musicsite.throttling import ApiThrottle, parse_rate
from tests.api.conftest import token_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

EXACT, WINDOWED = 100, 0  # ApiThrottle.EXACT_UP_TO: every test rate exact / every one windowed


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


def _error_code(response) -> str:
    return response.json()["error"]["code"]


@pytest.mark.parametrize(
    ("exact_up_to", "retry_after"),
    [(EXACT, 60), (WINDOWED, 30)],  # DRF's exact log / a fixed one-minute window
    ids=["exact", "fixed-window"],
)
def test_throttled_requests_get_429_with_retry_after(
    settings, monkeypatch, clock, exact_up_to, retry_after
):
    monkeypatch.setattr(ApiThrottle, "EXACT_UP_TO", exact_up_to)
    _rates(settings, feed="2/min")
    client = token_client(UserFactory())
    statuses = [client.get("/api/v1/feed/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = client.get("/api/v1/feed/")
    assert _error_code(response) == "throttled"
    assert response["Retry-After"] == str(retry_after)
    clock["t"] += retry_after
    assert client.get("/api/v1/feed/").status_code == 200  # allowed again when it said


@pytest.mark.parametrize("exact_up_to", [EXACT, WINDOWED], ids=["exact", "fixed-window"])
def test_a_request_spends_from_its_clients_budget_and_its_endpoints(
    settings, monkeypatch, clock, exact_up_to
):
    """The feed's own budget runs out first; the listener's budget still covers the catalog,
    and when that runs out too, every endpoint answers 429."""
    monkeypatch.setattr(ApiThrottle, "EXACT_UP_TO", exact_up_to)
    _rates(settings, user="4/min", feed="2/min")
    client = token_client(UserFactory())
    feed = [client.get("/api/v1/feed/").status_code for _ in range(3)]
    assert feed == [200, 200, 429]
    # The refused feed page still spent from the listener's budget (as DRF's throttles do).
    catalog = [client.get("/api/v1/tracks/").status_code for _ in range(3)]
    assert catalog == [200, 429, 429]
    other = token_client(UserFactory())  # budgets are per listener
    assert other.get("/api/v1/feed/").status_code == 200


@pytest.mark.parametrize("exact_up_to", [EXACT, WINDOWED], ids=["exact", "fixed-window"])
def test_each_anonymous_address_has_a_budget_of_its_own(settings, monkeypatch, clock, exact_up_to):
    monkeypatch.setattr(ApiThrottle, "EXACT_UP_TO", exact_up_to)
    _rates(settings, anon="2/min")
    first, second = APIClient(REMOTE_ADDR="10.0.0.1"), APIClient(REMOTE_ADDR="10.0.0.2")
    assert [first.get("/api/v1/tracks/").status_code for _ in range(3)] == [200, 200, 429]
    assert second.get("/api/v1/tracks/").status_code == 200


def test_a_low_endpoint_rate_beside_a_high_client_rate(settings, clock):
    """As deployed: the listener's budget counts in a window, the endpoint's in an exact log."""
    _rates(settings, user="1000/min", feed="2/min")
    user = UserFactory()
    client = token_client(user)
    assert [client.get("/api/v1/feed/").status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/api/v1/tracks/").status_code == 200
    window = int(clock["t"] // 60)
    assert caches["default"].get(f"throttle_user_{user.pk}:{window}") == 4


@pytest.mark.parametrize(
    ("feed_rate", "retry_after"),
    [("1/hour", 750), ("5/hour", 30)],  # both budgets refuse / only the listener's
)
def test_retry_after_is_the_longest_wait_of_the_budgets_that_refuse(
    settings, monkeypatch, clock, feed_rate, retry_after
):
    monkeypatch.setattr(ApiThrottle, "EXACT_UP_TO", WINDOWED)
    # The clock stands 30 s before the minute's end and 750 s before the hour's.
    _rates(settings, user="1/min", feed=feed_rate)
    client = token_client(UserFactory())
    assert client.get("/api/v1/feed/").status_code == 200
    response = client.get("/api/v1/feed/")
    assert response.status_code == 429
    assert response["Retry-After"] == str(retry_after)


def test_a_lowered_rate_says_when_enough_requests_have_expired(settings, clock):
    _rates(settings, feed="3/min")
    client = token_client(UserFactory())
    for _ in range(3):
        assert client.get("/api/v1/feed/").status_code == 200
        clock["t"] += 10
    _rates(settings, feed="1/min")  # the newest of the three, 10 s old, must expire first
    response = client.get("/api/v1/feed/")
    assert response.status_code == 429 and response["Retry-After"] == "50"


def test_a_zero_rate_switches_an_endpoint_off(settings, clock):
    _rates(settings, feed="0/min")
    response = token_client(UserFactory()).get("/api/v1/feed/")
    assert response.status_code == 429 and response["Retry-After"] == "60"


def test_a_scope_without_a_rate_is_not_throttled(settings, clock):
    rates = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], user="1000/min")
    del rates["feed"]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    client = token_client(UserFactory())
    assert {client.get("/api/v1/feed/").status_code for _ in range(5)} == {200}


@pytest.mark.parametrize("rate", ["lots", "10", "10/fortnight", "ten/min"])
def test_a_malformed_rate_is_named(rate):
    with pytest.raises(ImproperlyConfigured, match=f"feed={rate!r}"):
        parse_rate("feed", rate)


def test_while_redis_is_unreachable_the_api_answers_and_throttles_per_process(
    settings, monkeypatch, clock
):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"retry": Retry(NoBackoff(), 0)},
        }
    }
    monkeypatch.setattr(ApiThrottle, "EXACT_UP_TO", 2)  # sign-in: an exact log; the feed: a window
    _rates(settings, auth="2/min", feed="3/min")
    client = token_client(UserFactory())
    monkeypatch.setattr(throttling, "_local_until", 0.0)
    try:
        assert [client.get("/api/v1/feed/").status_code for _ in range(4)] == [200] * 3 + [429]
        signin = {"username": "nobody", "password": "wrong"}
        statuses = [APIClient().post("/api/v1/auth/token/", signin).status_code for _ in range(3)]
        assert statuses == [401, 401, 429]
    finally:  # what this process counted meanwhile goes with the test
        throttling._LOCAL.clear()


def test_a_new_x_forwarded_for_on_each_request_is_the_same_client(settings, clock):
    """With no proxy configured the header is the client's own words: it changes no budget."""
    _rates(settings, anon="3/min")
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    statuses = [
        client.get("/api/v1/tracks/", HTTP_X_FORWARDED_FOR=f"10.1.0.{i}").status_code
        for i in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_behind_one_proxy_the_address_it_saw_is_the_client(settings, clock):
    """The proxy appends the address it received from; what the client wrote stands left."""
    settings.NUM_PROXIES = 1
    _rates(settings, anon="2/min")
    proxy = APIClient(REMOTE_ADDR="10.0.0.2")
    spoofed = [
        proxy.get("/api/v1/tracks/", HTTP_X_FORWARDED_FOR=f"1.2.3.{i}, 198.51.100.7").status_code
        for i in range(3)
    ]
    assert spoofed == [200, 200, 429]
    other = proxy.get("/api/v1/tracks/", HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert other.status_code == 200  # another client behind the same proxy


def test_seventy_wrong_passwords_with_new_forwarded_addresses_are_refused(clock):
    """As the issue found it, at the deployed rates: the token endpoint stops answering 400
    and the right password is refused too while the client is throttled."""
    UserFactory(username="carol")
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    statuses = [
        client.post(
            "/api/v1/auth/token/",
            {"username": "carol", "password": f"guess-{i}"},
            HTTP_X_FORWARDED_FOR=f"10.2.{i}.1",
        ).status_code
        for i in range(70)
    ]
    assert 429 in statuses
    right = client.post(
        "/api/v1/auth/token/",
        {"username": "carol", "password": "correct-horse-battery"},
        HTTP_X_FORWARDED_FOR="10.3.0.1",
    )
    assert right.status_code == 429 and int(right["Retry-After"]) >= 1
