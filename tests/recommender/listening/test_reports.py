"""One spec, two checkers: the fast parser (reports.parse_listen_payload), which checks every
request, and ListensApi.ReportSerializer, which documents a report in the schema, are both
built from reports.REPORT_FIELDS. Fed the same reports, they must accept the same ones and name
the same bad fields, so neither can drift from the other (or from the schema)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from recommender.listening.api import ListensApi
from recommender.listening.reports import (
    MAX_INT,
    REPORT_FIELDS,
    REPORT_TYPES,
    BatchRejected,
    parse_listen_payload,
)
from recommender.models import ListenContext

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ID = "6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
MISSING = object()


def report(**overrides) -> object:
    """A valid report, with ``overrides`` (``MISSING`` drops the field)."""
    body = {
        "client_event_id": ID,
        "track": 42,
        "type": "progress",
        "started_at": (NOW - timedelta(minutes=3)).isoformat(),
        "position_ms": 35_000,
        "played_ms": 35_000,
        "context": "feed",
        "session_id": str(uuid.uuid4()),
        "duration_ms": 90_000,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not MISSING}


def ago(**delta) -> str:
    return (NOW - timedelta(**delta)).isoformat()


GOOD = {
    "full": report(),
    "required fields only": report(played_ms=MISSING, session_id=MISSING, duration_ms=MISSING),
    "optional fields null": report(played_ms=None, session_id=None, duration_ms=None),
    "session_id empty": report(session_id=""),
    "smallest values": report(track=1, position_ms=0, played_ms=0, duration_ms=0),
    "largest values": report(track=MAX_INT, position_ms=MAX_INT, duration_ms=MAX_INT),
    "a whole float": report(track=42.0, position_ms=1_000.0),
    "uuid in capitals": report(client_event_id=ID.upper()),
    "uuid without hyphens": report(client_event_id=ID.replace("-", "")),
    "uuid in braces": report(client_event_id="{" + ID + "}"),
    "started_at in Z": report(started_at="2026-11-24T11:57:00Z"),
    "started_at with an offset": report(started_at="2026-11-24T13:57:00+02:00"),
    "started_at with a space": report(started_at="2026-11-24 11:57:00+00:00"),
    "started_at a minute ahead": report(started_at=ago(minutes=-1), played_ms=0),
    "started_at 29 days ago": report(started_at=ago(days=29)),
    "unknown extra field": report(volume=11),
    **{f"type {kind}": report(type=kind) for kind in REPORT_TYPES},
    **{f"context {value}": report(context=value) for value in ListenContext.values},
}

BAD = {
    # missing or null required fields
    **{
        f"{f.name} missing": (report(**{f.name: MISSING}), {f.name})
        for f in REPORT_FIELDS
        if f.required
    },
    **{f"{f.name} null": (report(**{f.name: None}), {f.name}) for f in REPORT_FIELDS if f.required},
    "client_event_id empty": (report(client_event_id=""), {"client_event_id"}),
    "started_at empty": (report(started_at=""), {"started_at"}),
    # wrong types
    "track as a string": (report(track="42"), {"track"}),
    "track as a fraction": (report(track=4.5), {"track"}),
    "track as a list": (report(track=[42]), {"track"}),
    "position_ms as a string": (report(position_ms="12"), {"position_ms"}),
    "position_ms a fraction": (report(position_ms=1_000.5), {"position_ms"}),
    "position_ms NaN": (report(position_ms=float("nan")), {"position_ms"}),
    "played_ms infinite": (report(played_ms=float("inf")), {"played_ms"}),
    "duration_ms as a string": (report(duration_ms="90000"), {"duration_ms"}),
    "played_ms empty": (report(played_ms=""), {"played_ms"}),
    # booleans are not numbers
    "track true": (report(track=True), {"track"}),
    "position_ms false": (report(position_ms=False), {"position_ms"}),
    "played_ms true": (report(played_ms=True), {"played_ms"}),
    # out of range
    "track 0": (report(track=0), {"track"}),
    "track negative": (report(track=-1), {"track"}),
    "position_ms negative": (report(position_ms=-1), {"position_ms"}),
    "played_ms negative": (report(played_ms=-5), {"played_ms"}),
    "duration_ms negative": (report(duration_ms=-1), {"duration_ms"}),
    "track past the integer range": (report(track=MAX_INT + 1), {"track"}),
    "position_ms huge": (report(position_ms=10**30), {"position_ms"}),
    "duration_ms huge": (report(duration_ms=2**63), {"duration_ms"}),
    # closed sets
    "unknown type": (report(type="rewind"), {"type"}),
    "type in capitals": (report(type="START"), {"type"}),
    "type empty": (report(type=""), {"type"}),
    "type a number": (report(type=1), {"type"}),
    "type a list": (report(type=["start"]), {"type"}),
    "unknown context": (report(context="tv"), {"context"}),
    "context an object": (report(context={}), {"context"}),
    "context a list": (report(context=[]), {"context"}),
    # UUIDs
    "bad client_event_id": (report(client_event_id="not-a-uuid"), {"client_event_id"}),
    "client_event_id too long": (report(client_event_id=ID + "0"), {"client_event_id"}),
    "client_event_id a number": (report(client_event_id=123), {"client_event_id"}),
    "client_event_id 32 digits": (report(client_event_id=10**31), {"client_event_id"}),
    "bad session_id": (report(session_id="nope"), {"session_id"}),
    "session_id a number": (report(session_id=5), {"session_id"}),
    # times
    "naive started_at": (report(started_at="2026-11-24T11:57:00"), {"started_at"}),
    "started_at words": (report(started_at="yesterday"), {"started_at"}),
    "started_at no such day": (report(started_at="2026-13-45T10:00:00Z"), {"started_at"}),
    "started_at a number": (report(started_at=1_764_000_000), {"started_at"}),
    "started_at in the future": (report(started_at=ago(minutes=-10)), {"started_at"}),
    "started_at 31 days ago": (report(started_at=ago(days=31)), {"started_at"}),
    "played longer than since start": (report(played_ms=3_600_000), {"played_ms"}),
    # several at once
    "two bad fields": (report(track=0, context="tv"), {"track", "context"}),
    # not an object
    "a string": ("start", {"non_field_errors"}),
    "a number": (5, {"non_field_errors"}),
    "a list": ([report()], {"non_field_errors"}),
}


def parser_verdict(raw) -> set[str]:
    """The fields the fast parser refuses (empty: accepted)."""
    try:
        parse_listen_payload([raw], now=NOW)
    except BatchRejected as rejected:
        return {error.field or "non_field_errors" for error in rejected.errors}
    return set()


def serializer_verdict(raw) -> set[str]:
    """The fields the documented serializer refuses (empty: accepted)."""
    serializer = ListensApi.ReportSerializer(data=[raw], many=True, context={"now": NOW})
    if serializer.is_valid():
        return set()
    return set(serializer.errors[0])


@pytest.mark.parametrize("raw", GOOD.values(), ids=GOOD.keys())
def test_both_accept_a_good_report(raw):
    assert parser_verdict(raw) == set()
    assert serializer_verdict(raw) == set()


@pytest.mark.parametrize(("raw", "fields"), BAD.values(), ids=BAD.keys())
def test_both_refuse_a_bad_report_naming_the_same_fields(raw, fields):
    assert parser_verdict(raw) == fields
    assert serializer_verdict(raw) == fields


def test_the_parser_returns_the_values_the_serializer_validates():
    [parsed] = parse_listen_payload([GOOD["full"]], now=NOW)
    serializer = ListensApi.ReportSerializer(data=GOOD["full"], context={"now": NOW})
    assert serializer.is_valid(), serializer.errors
    data = serializer.validated_data
    assert (parsed.client_event_id, parsed.track_id, parsed.type, parsed.context) == (
        data["client_event_id"],
        data["track"],
        data["type"],
        data["context"],
    )
    assert (parsed.started_at, parsed.position_ms, parsed.played_ms, parsed.session_id) == (
        data["started_at"],
        data["position_ms"],
        data["played_ms"],
        data["session_id"],
    )


def test_the_serializer_has_exactly_the_specs_fields():
    fields = ListensApi.ReportSerializer().fields
    assert list(fields) == [spec.name for spec in REPORT_FIELDS]
    for spec in REPORT_FIELDS:
        assert fields[spec.name].required is spec.required, spec.name
