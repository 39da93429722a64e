"""Parsing and checking listen reports sent by players and mobile clients.

A *report* says what happened to one listen (see ``recommender.models.listening``)::

    {"client_event_id": "<uuid, the listen's id>", "track": 42, "type": "progress",
     "started_at": "2026-11-24T01:00:00Z", "position_ms": 35000, "played_ms": 35000,
     "context": "feed", "session_id": "<uuid, optional>", "duration_ms": 90000}

``type`` is ``start``, ``progress``, ``complete`` or ``skip``. The API takes one report, a list
of them, or ``{"events": [...]}``, at most :data:`MAX_BATCH` per request.

This module checks everything that needs no database (types, ranges, clocks) and collects one
error per bad report, naming its index, the field and the reason. It is plain Python on purpose:
a DRF serializer costs ~10 µs per field, which is most of the budget of a 500-event batch.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils.dateparse import parse_datetime

from recommender.models import ListenContext

MAX_BATCH = 500  # reports per request; larger batches are refused whole (HTTP 413)
CLOCK_SKEW = timedelta(minutes=2)  # how far in the future a client clock may run
MAX_AGE = timedelta(days=30)  # older listens are refused (an offline queue drains sooner)
POSITION_SLACK_MS = 5_000  # a playhead may run this far past the catalog's duration
REPORT_TYPES = ("start", "progress", "complete", "skip")
CONTEXTS = frozenset(ListenContext.values)


@dataclass(slots=True)
class ListenReport:
    """One checked report. ``index`` is its position in the request."""

    index: int
    client_event_id: uuid.UUID
    track_id: int
    type: str
    started_at: datetime
    position_ms: int
    played_ms: int
    context: str
    session_id: uuid.UUID | None = None


@dataclass(slots=True)
class ReportError:
    """Why the report at ``index`` was refused."""

    index: int
    field: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {
            "index": self.index,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }


class BatchRejected(Exception):
    """The whole request was refused; nothing was stored. ``status`` is the HTTP status."""

    def __init__(
        self,
        message: str,
        *,
        errors: list[ReportError] | None = None,
        status: int = 400,
        code: str = "malformed",
    ):
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        self.status = status
        self.code = "invalid_events" if errors else code


@dataclass
class _Checker:
    index: int
    raw: dict
    now: datetime
    errors: list[ReportError] = field(default_factory=list)

    def fail(self, name: str, code: str, message: str) -> None:
        self.errors.append(ReportError(self.index, name, code, message))

    def uuid(self, name: str, *, required: bool) -> uuid.UUID | None:
        value = self.raw.get(name)
        if value in (None, ""):
            if required:
                self.fail(name, "required", f"{name} is required")
            return None
        try:
            return uuid.UUID(str(value))
        except (ValueError, AttributeError):
            self.fail(name, "invalid", f"{name} must be a UUID, got {str(value)[:40]!r}")
            return None

    def integer(self, name: str, *, required: bool, minimum: int = 0) -> int | None:
        value = self.raw.get(name)
        if value is None:
            if required:
                self.fail(name, "required", f"{name} is required")
            return None
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value):
            self.fail(name, "invalid", f"{name} must be a number, got {str(value)[:40]!r}")
            return None
        if value < minimum:
            self.fail(name, "out_of_range", f"{name} must be at least {minimum}, got {value}")
            return None
        if value > 2**31 - 1:
            self.fail(name, "out_of_range", f"{name} is absurdly large ({value})")
            return None
        return round(value)

    def choice(self, name: str, choices, *, default: str | None = None) -> str | None:
        value = self.raw.get(name, default)
        if value is None:
            self.fail(name, "required", f"{name} is required")
            return None
        if not isinstance(value, str) or value not in choices:  # {} is unhashable
            allowed = ", ".join(sorted(choices))
            self.fail(name, "invalid", f"{name} must be one of {allowed}, got {str(value)[:40]!r}")
            return None
        return value

    def timestamp(self, name: str) -> datetime | None:
        value = self.raw.get(name)
        if value in (None, ""):
            self.fail(name, "required", f"{name} is required")
            return None
        try:
            parsed = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            self.fail(name, "invalid", f"{name} must be an ISO 8601 time with a time zone")
            return None
        if parsed > self.now + CLOCK_SKEW:
            ahead = int((parsed - self.now).total_seconds())
            self.fail(name, "in_future", f"{name} is {ahead} s in the future")
            return None
        if parsed < self.now - MAX_AGE:
            self.fail(name, "too_old", f"{name} is older than {MAX_AGE.days} days")
            return None
        return parsed


def _check_one(index: int, raw, now: datetime) -> tuple[ListenReport | None, list[ReportError]]:
    if not isinstance(raw, dict):
        return None, [ReportError(index, "", "invalid", "each event must be a JSON object")]
    c = _Checker(index, raw, now)
    client_event_id = c.uuid("client_event_id", required=True)
    track_id = c.integer("track", required=True, minimum=1)
    kind = c.choice("type", REPORT_TYPES)
    started_at = c.timestamp("started_at")
    position_ms = c.integer("position_ms", required=True)
    played_ms = c.integer("played_ms", required=False)
    context = c.choice("context", CONTEXTS)
    session_id = c.uuid("session_id", required=False)
    c.integer("duration_ms", required=False)  # the catalog's duration is what we store
    if played_ms is not None and started_at is not None:
        elapsed_ms = (now - started_at + CLOCK_SKEW).total_seconds() * 1000
        if played_ms > elapsed_ms:
            c.fail(
                "played_ms",
                "out_of_range",
                f"played_ms {played_ms} is longer than the time since started_at",
            )
    if c.errors:
        return None, c.errors
    # No error: every required value is there (for type checkers).
    assert client_event_id is not None and track_id is not None and kind is not None
    assert started_at is not None and position_ms is not None and context is not None
    return (
        ListenReport(
            index=index,
            client_event_id=client_event_id,
            track_id=track_id,
            type=kind,
            started_at=started_at,
            position_ms=position_ms,
            played_ms=played_ms or 0,
            context=context,
            session_id=session_id,
        ),
        [],
    )


def parse_listen_payload(payload, *, now: datetime) -> list[ListenReport]:
    """Check a request body; return its reports or raise :class:`BatchRejected` with all errors."""
    if isinstance(payload, dict) and "events" in payload:
        items = payload["events"]
        if not isinstance(items, list):
            raise BatchRejected("events must be a list of event objects")
    elif isinstance(payload, list):
        items = payload
    elif isinstance(payload, dict):
        items = [payload]
    else:
        raise BatchRejected('the body must be an event object, a list, or {"events": [...]}')
    if not items:
        raise BatchRejected("the batch is empty", code="empty_batch")
    if len(items) > MAX_BATCH:
        raise BatchRejected(
            f"the batch holds {len(items)} events; the limit is {MAX_BATCH} per request",
            status=413,
            code="batch_too_large",
        )
    reports: list[ListenReport] = []
    errors: list[ReportError] = []
    for index, raw in enumerate(items):
        report, report_errors = _check_one(index, raw, now)
        if report is not None:
            reports.append(report)
        errors += report_errors
    if errors:
        raise BatchRejected(_summary(errors, len(items)), errors=errors)
    return reports


def _summary(errors: list[ReportError], total: int) -> str:
    bad = len({error.index for error in errors})
    return f"{bad} of {total} events are invalid; nothing was recorded"
