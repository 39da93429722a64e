"""POST /api/v1/listens/: one event or a batch, idempotent, all-or-nothing, with clear reasons."""

import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Track
from recommender.listening.reports import MAX_BATCH
from recommender.listening.services import history_pause_set
from recommender.models import ListenContext, ListenEvent
from tests.factories import ListenEventFactory, TrackFactory, UserFactory

URL = "/api/v1/listens/"
ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.django_db


def _contexts_the_pages_link_with() -> set[str]:
    """Every ``context=`` label the site's pages and views put in a track link."""
    found: set[str] = set()
    for folder in ("templates", "catalog", "accounts", "recommender", "generator"):
        for path in (ROOT / folder).rglob("*.*"):
            if path.suffix in {".html", ".py"} and "migrations" not in path.parts:
                text = path.read_text()
                found |= set(re.findall(r'context=(\w+)"', text))
                found |= set(re.findall(r'urlencode\(\{[^}]*"context": "(\w+)"', text))
    return found


def test_every_context_a_page_links_with_is_recorded_as_itself(api, track, make_report):
    """The listening reporter (static/js/listening.js) sends the page's context when it knows it
    and "track_page" otherwise; the API must accept each one."""
    script = (ROOT / "static" / "js" / "listening.js").read_text()
    reporter = set(re.findall(r'"(\w+)"', re.search(r"CONTEXTS = \[(.*?)\]", script).group(1)))
    linked = _contexts_the_pages_link_with()
    assert {"feed", "browse", "radio", "playlist", "home"} <= linked
    assert linked <= reporter == set(ListenContext.values)
    for context in sorted(reporter):
        response = api.post(URL, make_report(track, context=context), format="json")
        assert response.status_code == 200, (context, response.json())
    assert sorted(ListenEvent.objects.values_list("context", flat=True)) == sorted(reporter)


def test_single_event_is_stored_before_the_answer(api, listener, track, make_report):
    body = make_report(track, context="feed")
    response = api.post(URL, body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["results"][0]["status"] == "created"
    listen = ListenEvent.objects.get()
    assert (listen.user, listen.track, listen.context) == (listener, track, "feed")
    assert str(listen.client_event_id) == body["client_event_id"]
    assert listen.duration_ms == 120_000


def test_reports_of_one_listen_merge_into_one_row(api, track, make_report):
    start = make_report(track)
    cid = start["client_event_id"]
    progress = {**start, "type": "progress", "position_ms": 20_000, "played_ms": 20_000}
    done = {**start, "type": "complete", "position_ms": 120_000, "played_ms": 119_000}
    for body in (start, progress, done):
        assert api.post(URL, body, format="json").status_code == 200
    listen = ListenEvent.objects.get()
    assert str(listen.client_event_id) == cid
    assert (listen.played_ms, listen.counted, listen.completed, listen.skipped) == (
        119_000,
        True,
        True,
        False,
    )


def test_duplicates_are_acknowledged_without_a_second_row(api, track, make_report):
    batch = [make_report(track), make_report(track, type="skip", played_ms=5_000)]
    first = api.post(URL, {"events": batch}, format="json").json()
    again = api.post(URL, {"events": batch}, format="json")
    assert again.status_code == 200
    assert [r["status"] for r in first["results"]] == ["created", "created"]
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "duplicate"]
    assert again.json()["accepted"] == 2
    assert ListenEvent.objects.count() == 2


def test_the_same_listen_twice_in_one_batch_is_merged(api, track, make_report):
    start = make_report(track)
    skip = {**start, "type": "skip", "played_ms": 3_000, "position_ms": 3_000}
    response = api.post(URL, [start, skip, skip], format="json")
    assert [r["status"] for r in response.json()["results"]] == ["created", "updated", "duplicate"]
    listen = ListenEvent.objects.get()
    assert listen.skipped and not listen.counted


def test_a_late_retry_never_undoes_acknowledged_progress(api, track, make_report):
    start = make_report(track)
    later = {**start, "type": "progress", "position_ms": 45_000, "played_ms": 45_000}
    api.post(URL, later, format="json")
    response = api.post(URL, start, format="json")  # the start report, retried late
    assert response.json()["results"][0]["status"] == "duplicate"
    listen = ListenEvent.objects.get()
    assert (listen.played_ms, listen.position_ms, listen.counted) == (45_000, 45_000, True)


@pytest.mark.parametrize(
    ("duration_s", "played_ms", "counted"),
    [(8.0, 4_000, True), (8.0, 3_999, False), (300.0, 30_000, True), (300.0, 29_999, False)],
)
def test_a_play_counts_at_30_s_or_half_the_piece(api, duration_s, played_ms, counted, make_report):
    piece = TrackFactory(duration_seconds=duration_s)
    body = make_report(piece, type="skip", played_ms=played_ms, position_ms=played_ms)
    result = api.post(URL, body, format="json").json()["results"][0]
    assert result["counted"] is counted
    assert result["skipped"] is not counted  # moving on after the threshold is a play, not a skip


def assert_rejected(
    response, *, index: int, field: str, code: str, key: str, status: int = 400
) -> dict:
    """Refused whole: ``error.fields`` names the bad value ``key`` (its place in the body), and
    the deprecated ``error.events`` says the same with the index, the field and a code."""
    assert response.status_code == status, response.content
    body = response.json()["error"]
    assert body["code"] == "invalid_events"
    assert "nothing was recorded" in body["message"]
    assert {"index": index, "field": field, "code": code} in [
        {k: e[k] for k in ("index", "field", "code")} for e in body["events"]
    ]
    messages = [e["message"] for e in body["events"] if (e["index"], e["field"]) == (index, field)]
    assert body["fields"][key] == messages
    assert ListenEvent.objects.count() == 0
    return body


def test_unknown_track_rejects_the_whole_batch(api, track, make_report):
    batch = [make_report(track), make_report(track, track=999_999)]
    body = assert_rejected(
        api.post(URL, batch, format="json"),
        index=1,
        field="track",
        code="unknown_track",
        key="1.track",
    )
    assert "track 999999 does not exist or is not available to you" in body["events"][0]["message"]


@pytest.mark.parametrize("status", [Track.Status.HIDDEN, Track.Status.DRAFT])
def test_hidden_and_draft_tracks_are_refused(api, make_report, status):
    hidden = TrackFactory(status=status)
    assert_rejected(
        api.post(URL, make_report(hidden), format="json"),
        index=0,
        field="track",
        code="unknown_track",
        key="track",
    )


def test_another_listeners_private_piece_is_refused_but_ones_own_is_fine(
    api, listener, make_report
):
    theirs = TrackFactory(owner=UserFactory(username="bob"), origin="generated")
    assert_rejected(
        api.post(URL, make_report(theirs), format="json"),
        index=0,
        field="track",
        code="unknown_track",
        key="track",
    )
    mine = TrackFactory(owner=listener, origin="generated")
    assert api.post(URL, make_report(mine, context="generated"), format="json").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"position_ms": -1}, "position_ms", "out_of_range"),
        ({"played_ms": -5}, "played_ms", "out_of_range"),
        ({"position_ms": 10**9}, "position_ms", "out_of_range"),  # past the end of a 2-min piece
        ({"position_ms": 125_001}, "position_ms", "out_of_range"),  # beyond duration + 5 s slack
        ({"played_ms": 3_600_000}, "played_ms", "out_of_range"),  # longer than since it started
        ({"position_ms": "12"}, "position_ms", "invalid"),
        ({"position_ms": True}, "position_ms", "invalid"),
        ({"client_event_id": "not-a-uuid"}, "client_event_id", "invalid"),
        ({"client_event_id": None}, "client_event_id", "required"),
        ({"type": "rewind"}, "type", "invalid"),
        ({"context": "tv"}, "context", "invalid"),
        ({"context": {}}, "context", "invalid"),
        ({"context": []}, "context", "invalid"),
        ({"started_at": "yesterday"}, "started_at", "invalid"),
        ({"started_at": "2026-01-01T10:00:00"}, "started_at", "invalid"),  # no time zone
        ({"track": "abc"}, "track", "invalid"),
    ],
)
def test_bad_fields_name_the_event_and_the_reason(api, track, make_report, overrides, field, code):
    batch = [make_report(track), make_report(track, **overrides)]
    assert_rejected(
        api.post(URL, {"events": batch}, format="json"),
        index=1,
        field=field,
        code=code,
        key=f"events.1.{field}",
    )


def test_future_timestamps_are_refused_beyond_a_small_clock_skew(api, track, make_report):
    future = (timezone.now() + timedelta(minutes=10)).isoformat()
    assert_rejected(
        api.post(URL, make_report(track, started_at=future), format="json"),
        index=0,
        field="started_at",
        code="in_future",
        key="started_at",
    )
    slightly_ahead = (timezone.now() + timedelta(seconds=30)).isoformat()
    response = api.post(URL, make_report(track, started_at=slightly_ahead), format="json")
    assert response.status_code == 200


def test_every_bad_event_is_reported_not_just_the_first(api, track, make_report):
    batch = [make_report(track, position_ms=-1), make_report(track), make_report(track, track=0)]
    body = api.post(URL, batch, format="json").json()["error"]
    assert sorted({e["index"] for e in body["events"]}) == [0, 2]
    assert sorted(body["fields"]) == ["0.position_ms", "2.track"]
    assert body["message"].startswith("2 of 3 events are invalid")


def test_fields_name_each_bad_value_by_its_place_in_the_body(api, track, make_report):
    """As the API's other validation errors (musicsite.api): events.<index>.<field> in a batch,
    <index>.<field> in a list, the field alone for one report."""
    bad = make_report(track, track="7", position_ms=-1)
    batch = [make_report(track), bad, "not a report"]
    body = api.post(URL, {"events": batch}, format="json").json()["error"]
    assert body["fields"] == {
        "events.1.track": ["track must be a whole number, got '7'"],
        "events.1.position_ms": ["position_ms must be at least 0, got -1"],
        "events.2.non_field_errors": ["each event must be a JSON object"],
    }
    assert [(e["index"], e["field"]) for e in body["events"]] == [
        (1, "track"),
        (1, "position_ms"),
        (2, ""),
    ]
    listed = api.post(URL, batch, format="json").json()["error"]["fields"]
    assert sorted(listed) == ["1.position_ms", "1.track", "2.non_field_errors"]
    alone = api.post(URL, bad, format="json").json()["error"]["fields"]
    assert sorted(alone) == ["position_ms", "track"]


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ('{"events": "lots"}', None),  # no report to name
        ("[1, 2]", ["0.non_field_errors", "1.non_field_errors"]),
        ('"hello"', None),
        ("[]", None),
        ("{not json", None),
    ],
)
def test_malformed_bodies_get_a_400(api, payload, fields):
    response = api.post(URL, payload, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"]
    named = response.json()["error"].get("fields")
    assert (sorted(named) if named else None) == fields
    assert ListenEvent.objects.count() == 0


def test_oversized_batches_are_refused_whole(api, track, make_report):
    batch = [make_report(track) for _ in range(MAX_BATCH + 1)]
    response = api.post(URL, {"events": batch}, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "batch_too_large"
    assert f"the limit is {MAX_BATCH}" in response.json()["error"]["message"]
    assert ListenEvent.objects.count() == 0
    full = api.post(URL, {"events": batch[:MAX_BATCH]}, format="json")
    assert full.status_code == 200
    assert ListenEvent.objects.count() == MAX_BATCH


def test_a_listen_id_cannot_move_to_another_track(api, track, make_report):
    first = make_report(track)
    api.post(URL, first, format="json")
    other = TrackFactory()
    body = assert_rejected_keeping(api.post(URL, {**first, "track": other.pk}, format="json"))
    assert body["error"]["events"][0]["code"] == "conflict"
    assert list(body["error"]["fields"]) == ["client_event_id"]


def assert_rejected_keeping(response) -> dict:
    assert response.status_code == 400
    assert ListenEvent.objects.count() == 1
    return response.json()


def test_another_listeners_ids_do_not_collide(api, track, make_report):
    body = make_report(track)
    ListenEventFactory(
        user=UserFactory(username="bob"),
        track=track,
        client_event_id=uuid.UUID(body["client_event_id"]),
    )
    response = api.post(URL, body, format="json")
    assert response.json()["results"][0]["status"] == "created"
    assert ListenEvent.objects.count() == 2


def test_paused_history_records_nothing_and_says_so(api, listener, track, make_report):
    history_pause_set(user=listener, paused=True)
    response = api.post(URL, make_report(track), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "history_paused"
    assert ListenEvent.objects.count() == 0
    history_pause_set(user=listener, paused=False)
    assert api.post(URL, make_report(track), format="json").status_code == 200


def test_anonymous_clients_are_refused(track, make_report):
    response = APIClient().post(URL, make_report(track), format="json")
    assert response.status_code in (401, 403)
    assert ListenEvent.objects.count() == 0


def test_token_authentication_works_for_mobile_clients(listener, track, make_report):
    from tests.factories import api_token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(listener)}")
    assert client.post(URL, make_report(track), format="json").status_code == 200
    assert ListenEvent.objects.get().user == listener


def test_query_count_does_not_grow_with_the_batch(api, make_report):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    pieces = [TrackFactory() for _ in range(5)]
    counts = []
    for size in (1, 100):
        batch = [make_report(pieces[i % 5], type="skip", played_ms=1_000) for i in range(size)]
        with CaptureQueriesContext(connection) as queries:
            assert api.post(URL, {"events": batch}, format="json").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 8


def test_form_encoded_bodies_are_refused_with_415(api):
    response = api.post(URL, "events=x&events=y", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert ListenEvent.objects.count() == 0


def test_the_schema_types_each_report_result_and_rejection():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"][URL]["post"]
    components = schema["components"]["schemas"]
    report = {"$ref": "#/components/schemas/ListensApiReportRequest"}
    assert components["ListenReportsRequest"]["oneOf"] == [
        report,
        {"type": "array", "items": report},
        {"$ref": "#/components/schemas/ListensApiBatchRequest"},
    ]
    events = components["ListensApiBatchRequest"]["properties"]["events"]
    assert (events["items"], events["minItems"], events["maxItems"]) == (report, 1, MAX_BATCH)
    results = components["ListensApiOutput"]["properties"]["results"]
    assert results["items"] == {"$ref": "#/components/schemas/ListenResult"}
    rejected = operation["responses"]["400"]["content"]["application/json"]["schema"]
    assert rejected == {"$ref": "#/components/schemas/ListenReportsRejected"}
    error = components["ListenRejection"]["properties"]
    assert error["fields"]["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    assert error["events"]["deprecated"] is True
    assert {"409", "413"} <= set(operation["responses"])
