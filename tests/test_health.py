"""/health/: whether the database, the cache (Redis in production) and the broker answer, and
a container's own probe passes whatever the production host names and HTTPS settings are."""

import json
from unittest import mock

import pytest
from kombu import Connection

from musicsite.celery import app as celery_app

pytestmark = pytest.mark.django_db

PRODUCTION = {
    "ALLOWED_HOSTS": ["example.org"],
    "SECURE_SSL_REDIRECT": True,
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
}


def test_health_lists_the_database_the_cache_and_the_broker(client):
    response = client.get("/health/?format=json")
    assert response.status_code == 200
    body = response.json()
    assert set(body.values()) == {"OK"}
    names = " ".join(body)
    for service in ("Database", "Cache", "Broker"):
        assert service in names
    page = client.get("/health/", HTTP_ACCEPT="text/html")  # a person's look at it
    assert page.status_code == 200 and b"Broker" in page.content


@pytest.fixture
def broker_down():
    """Celery's broker is a Redis URL where nothing listens."""
    down = Connection("redis://127.0.0.1:1/0")
    with mock.patch.object(celery_app, "connection_for_write", return_value=down):
        yield


def test_an_unreachable_broker_fails_the_health_check(client, broker_down):
    response = client.get("/health/?format=json")
    assert response.status_code == 503
    failing = {name: state for name, state in json.loads(response.content).items() if state != "OK"}
    assert list(failing) == ["Broker()"]
    assert "127.0.0.1:1" not in response.content.decode()  # no address or credential shown


def test_the_containers_own_probe_passes_with_production_hosts(client, settings):
    for name, value in PRODUCTION.items():
        setattr(settings, name, value)
    # As compose's probe sends it: plain HTTP to 127.0.0.1:8000 from inside the container.
    response = client.get(
        "/health/?format=json", HTTP_HOST="127.0.0.1:8000", REMOTE_ADDR="127.0.0.1"
    )
    assert response.status_code == 200
    assert set(response.json().values()) == {"OK"}


def test_only_the_probe_from_inside_skips_the_host_check(client, settings):
    for name, value in PRODUCTION.items():
        setattr(settings, name, value)
    outside = client.get(
        "/health/?format=json", HTTP_HOST="127.0.0.1:8000", REMOTE_ADDR="203.0.113.9"
    )
    assert outside.status_code == 400  # DisallowedHost, as any other page
    page = client.get("/", HTTP_HOST="127.0.0.1:8000", REMOTE_ADDR="127.0.0.1")
    assert page.status_code == 400  # loopback gets no pass for anything but the probe
    through_proxy = client.get(
        "/health/?format=json",
        HTTP_HOST="example.org",
        HTTP_X_FORWARDED_PROTO="https",
        REMOTE_ADDR="203.0.113.9",
    )
    assert through_proxy.status_code == 200
