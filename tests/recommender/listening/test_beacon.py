"""The sendBeacon variant: a form post authenticated by session, checked by Django's CSRF."""

import json

import pytest
from django.test import Client

from recommender.models import ListenEvent

URL = "/api/v1/listens/beacon/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(listener):
    client = Client(enforce_csrf_checks=True)
    client.force_login(listener)
    client.get("/history/")  # sets the CSRF cookie, as any page does
    return client


def test_beacon_with_the_csrf_token_records_the_events(browser, track, make_report):
    token = browser.cookies["csrftoken"].value
    events = json.dumps([make_report(track, type="skip", played_ms=2_000)])
    response = browser.post(URL, {"csrfmiddlewaretoken": token, "events": events})
    assert response.status_code == 200
    assert ListenEvent.objects.get().skipped


def test_beacon_without_the_csrf_token_is_refused(browser, track, make_report):
    events = json.dumps([make_report(track)])
    assert browser.post(URL, {"events": events}).status_code == 403
    assert not ListenEvent.objects.exists()


def test_beacon_for_visitors_is_refused(track, make_report):
    client = Client()
    response = client.post(URL, {"events": json.dumps([make_report(track)])})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_authenticated"


def test_beacon_with_bad_json_says_so(browser):
    token = browser.cookies["csrftoken"].value
    response = browser.post(URL, {"csrfmiddlewaretoken": token, "events": "{oops"})
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]["message"]


def test_beacon_errors_name_the_bad_values_as_the_api_does(browser, track, make_report):
    token = browser.cookies["csrftoken"].value
    events = json.dumps([make_report(track), make_report(track, track=999_999, type="rewind")])
    response = browser.post(URL, {"csrfmiddlewaretoken": token, "events": events})
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid_events"
    assert list(body["fields"]) == ["events.1.type"]  # the form field's JSON, then the report
    assert [(e["index"], e["field"]) for e in body["events"]] == [(1, "type")]
    assert not ListenEvent.objects.exists()
