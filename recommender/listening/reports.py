"""Parsing and checking listen reports sent by players and mobile clients.

A *report* says what happened to one listen (see ``recommender.models.listening``)::

    {"client_event_id": "<uuid, the listen's id>", "track": 42, "type": "progress",
     "started_at": "2026-11-24T01:00:00Z", "position_ms": 35000, "played_ms": 35000,
     "context": "feed", "session_id": "<uuid, optional>", "duration_ms": 90000}

``type`` is ``start``, ``progress``, ``complete`` or ``skip``. The API takes one report, a list
of them, or ``{"events": [...]}``, at most :data:`MAX_BATCH` per request.

:data:`REPORT_FIELDS` is the one description of a report's fields (name, kind, required, range,
choices). This module's parser checks requests against it, and the API builds its documented
serializer from it (``recommender.listening.api``) with the same checks (:func:`field_value`,
:func:`played_error`), so the schema and the checks can't drift apart; a test feeds both the
same reports. The parser is plain Python on purpose: through DRF's serializer machinery the
same checks cost about six times as much per event (a quarter more on the whole ingest of a
500-event batch).

Everything that needs no database (types, ranges, clocks) is checked here, with one error per
bad field, naming the report's index, the field and the reason.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.utils.dateparse import parse_datetime

from recommender.models import ListenContext

MAX_BATCH = 500  # reports per request; larger batches are refused whole (HTTP 413)
MAX_INT = 2**31 - 1  # the largest number a report may carry (the database's integer)
CLOCK_SKEW = timedelta(minutes=2)  # how far in the future a client clock may run
MAX_AGE = timedelta(days=30)  # older listens are refused (an offline queue drains sooner)
POSITION_SLACK_MS = 5_000  # a playhead may run this far past the catalog's duration
REPORT_TYPES = ("start", "progress", "complete", "skip")


@dataclass(frozen=True, slots=True)
class ReportField:
    """One field of a listen report, as the parser checks it and the schema documents it.

    ``kind`` is ``uuid`` (a string), ``integer`` (a JSON integer, ``minimum``..``maximum``;
    never a boolean, a string or a fraction), ``choice`` (one of ``choices``, (value, label)
    pairs) or ``datetime`` (ISO 8601 with a time zone, within the clock limits). A missing
    optional field may also be ``null``; ``uuid`` and ``datetime`` count ``""`` as missing.
    """

    name: str
    kind: Literal["uuid", "integer", "choice", "datetime"]
    required: bool = True
    minimum: int = 0
    maximum: int = MAX_INT
    choices: Sequence[tuple[str, str]] = ()
    help_text: str = ""
    values: frozenset[str] = frozenset()  # the choices' values (derived)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", frozenset(value for value, _ in self.choices))


REPORT_FIELDS: tuple[ReportField, ...] = (
    ReportField("client_event_id", "uuid", help_text="Your id for this listen (one per play)"),
    ReportField("track", "integer", minimum=1),
    ReportField("type", "choice", choices=[(kind, kind) for kind in REPORT_TYPES]),
    ReportField("started_at", "datetime", help_text="When playback started, with time zone"),
    ReportField("position_ms", "integer", help_text="Playhead"),
    ReportField("played_ms", "integer", required=False, help_text="Heard"),
    ReportField("context", "choice", choices=ListenContext.choices),
    ReportField("session_id", "uuid", required=False),
    # Checked, not stored: the catalog's duration is what counts.
    ReportField("duration_ms", "integer", required=False),
)


class FieldInvalid(ValueError):
    """A report's value for one field is refused: ``code`` and ``message`` say why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def field_value(spec: ReportField, value: Any, now: datetime) -> Any:
    """``value`` (as decoded from JSON; ``None`` when missing) checked against ``spec``: the
    Python value, ``None`` for a missing optional field, or :class:`FieldInvalid`."""
    name = spec.name
    if value is None or (value == "" and spec.kind in ("uuid", "datetime")):
        if spec.required:
            raise FieldInvalid("required", f"{name} is required")
        return None
    if spec.kind == "integer":
        return _integer(spec, value)
    if spec.kind == "choice":
        if not isinstance(value, str) or value not in spec.values:  # {} is unhashable
            allowed = ", ".join(sorted(spec.values))
            got = str(value)[:40]
            raise FieldInvalid("invalid", f"{name} must be one of {allowed}, got {got!r}")
        return value
    if spec.kind == "uuid":
        try:
            if not isinstance(value, str):
                raise ValueError(value)
            return uuid.UUID(value)
        except ValueError:
            got = str(value)[:40]
            raise FieldInvalid("invalid", f"{name} must be a UUID, got {got!r}") from None
    return _timestamp(spec, value, now)


def _integer(spec: ReportField, value: Any) -> int:
    name = spec.name
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)  # 42.0 is a JSON integer
    if not isinstance(value, int) or isinstance(value, bool):
        got = str(value)[:40]
        raise FieldInvalid("invalid", f"{name} must be a whole number, got {got!r}")
    if value < spec.minimum:
        message = f"{name} must be at least {spec.minimum}, got {str(value)[:40]}"
        raise FieldInvalid("out_of_range", message)
    if value > spec.maximum:
        message = f"{name} must be at most {spec.maximum}, got {str(value)[:40]}"
        raise FieldInvalid("out_of_range", message)
    return value


def _timestamp(spec: ReportField, value: Any, now: datetime) -> datetime:
    name = spec.name
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise FieldInvalid("invalid", f"{name} must be an ISO 8601 time with a time zone")
    if parsed > now + CLOCK_SKEW:
        ahead = int((parsed - now).total_seconds())
        raise FieldInvalid("in_future", f"{name} is {ahead} s in the future")
    if parsed < now - MAX_AGE:
        raise FieldInvalid("too_old", f"{name} is older than {MAX_AGE.days} days")
    return parsed


def played_error(played_ms: int, started_at: datetime, now: datetime) -> FieldInvalid | None:
    """Why ``played_ms`` can't be true of a listen that started at ``started_at``, if it can't."""
    elapsed_ms = (now - started_at + CLOCK_SKEW).total_seconds() * 1000
    if played_ms > elapsed_ms:
        message = f"played_ms {played_ms} is longer than the time since started_at"
        return FieldInvalid("out_of_range", message)
    return None


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
    """Why the report at ``index`` was refused (``field`` is ``""`` when it isn't an object)."""

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


def _check_one(index: int, raw, now: datetime) -> tuple[ListenReport | None, list[ReportError]]:
    if not isinstance(raw, dict):
        return None, [ReportError(index, "", "invalid", "each event must be a JSON object")]
    values: dict[str, Any] = {}
    errors: list[ReportError] = []
    for spec in REPORT_FIELDS:
        try:
            values[spec.name] = field_value(spec, raw.get(spec.name), now)
        except FieldInvalid as invalid:
            errors.append(ReportError(index, spec.name, invalid.code, invalid.message))
    if errors:
        return None, errors
    played_ms, started_at = values["played_ms"], values["started_at"]
    # Across fields, once each is valid (as a serializer's validate()).
    wrong = played_error(played_ms, started_at, now) if played_ms is not None else None
    if wrong is not None:
        return None, [ReportError(index, "played_ms", wrong.code, wrong.message)]
    return (
        ListenReport(
            index=index,
            client_event_id=values["client_event_id"],
            track_id=values["track"],
            type=values["type"],
            started_at=values["started_at"],
            position_ms=values["position_ms"],
            played_ms=played_ms or 0,
            context=values["context"],
            session_id=values["session_id"],
        ),
        [],
    )


def report_items(payload) -> list:
    """The reports of a request body (one report, a list, or ``{"events": [...]}``), unchecked;
    :class:`BatchRejected` when the body is none of those, empty, or over :data:`MAX_BATCH`."""
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
    return items


def parse_listen_payload(payload, *, now: datetime) -> list[ListenReport]:
    """Check a request body; return its reports or raise :class:`BatchRejected` with all errors."""
    items = report_items(payload)
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
