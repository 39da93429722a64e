"""REST API of the listening log, for the player and mobile clients (mounted under /api/v1/).

``POST /api/v1/listens/`` takes one listen report, a list, or ``{"events": [...]}`` (at most
500 per request). Its fields, and their checks, are ``recommender.listening.reports``'s
``REPORT_FIELDS``: the fast parser checks requests against them and ``ReportSerializer``, which
documents them, is built from them. It is **all or nothing**: if any report is malformed or
names a track the listener can't see, the answer is 400 in the API's error format with
``fields`` naming each bad value by its place in the body, as the API's other validation errors
do (``musicsite.api``): ``events.3.track`` in ``{"events": [...]}`` (and in the beacon's
``events`` form field), ``3.track`` in a list, ``track`` for one report, and
``events.3.non_field_errors`` for an item that is not an object::

    {"error": {"code": "invalid_events", "message": "1 of 4 events are invalid; ...",
               "fields": {"events.3.track": ["track 999 does not exist or ..."]},
               "events": [{"index": 3, "field": "track", "code": "unknown_track",
                           "message": "track 999 does not exist or ..."}]}}

``error.events`` (one entry per problem: the report's ``index``, the ``field``, a ``code`` and a
``message``) is **deprecated**: it stays for the clients that read it; new clients read
``fields``. Nothing is stored; more than 500 reports is 413 (``batch_too_large``); while the
listener's history is paused it is 409 (``history_paused``: drop those events, don't retry).
Otherwise every report is written before the 200 answer, with one result per report:
``created``, ``updated`` or ``duplicate`` (a retry: acknowledged again, never stored twice).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.http import require_POST
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api import TrackListOutputSerializer
from catalog.models import Track
from musicsite.api import InputBooleanField, error_payload
from musicsite.pagination import CURSOR_PARAMS, CursorPageSerializer, keyset_page
from musicsite.parsers import MAX_JSON_DEPTH, JSONParser, json_depth_exceeds
from recommender.listening import selectors, services
from recommender.listening.reports import (
    CLOCK_SKEW,
    MAX_AGE,
    MAX_BATCH,
    POSITION_SLACK_MS,
    REPORT_FIELDS,
    BatchRejected,
    FieldInvalid,
    ReportError,
    ReportField,
    field_value,
    parse_listen_payload,
    played_error,
)
from recommender.models import ListenEvent
from recommender.models.listening import OUTCOMES

RESULT_STATUSES = ("created", "updated", "duplicate")  # what became of a report


def _error_fields(errors: list[ReportError], payload: Any, *, outer: str = "") -> dict:
    """The errors as the API's ``error.fields``, each bad value named by its place in the body
    as ``musicsite.api`` names nested errors: ``events.3.track`` in ``{"events": [...]}``,
    ``3.track`` in a list, ``track`` for one report; ``outer`` is the form field holding the
    JSON (the beacon's ``events``)."""
    path = [outer] if outer else []
    indexed = isinstance(payload, list)
    if isinstance(payload, dict) and "events" in payload:
        path, indexed = [*path, "events"], True
    fields: dict[str, list[str]] = {}
    for error in errors:
        name = error.field or "non_field_errors"  # not an object, as DRF says of such items
        key = ".".join([*path, str(error.index), name] if indexed else [*path, name])
        fields.setdefault(key, []).append(error.message)
    return fields


def _record(user, payload, *, outer: str = "") -> tuple[dict, int]:
    """Check and store a listen payload; return the JSON answer and its HTTP status. ``outer``
    is the form field that held the payload, if any (for the names in ``error.fields``)."""
    try:
        reports = parse_listen_payload(payload, now=timezone.now())
        results = services.listens_record(user=user, reports=reports)
    except BatchRejected as rejected:
        fields = _error_fields(rejected.errors, payload, outer=outer)
        body = error_payload(rejected.code, rejected.message, fields)
        if rejected.errors:
            body["error"]["events"] = [e.as_dict() for e in rejected.errors]  # deprecated
        return body, rejected.status
    except services.HistoryPaused as paused:
        return error_payload("history_paused", str(paused)), status.HTTP_409_CONFLICT
    counts = dict.fromkeys(RESULT_STATUSES, 0)
    for result in results:
        counts[result.status] += 1
    body = {
        "accepted": len(results),
        **counts,
        "results": [
            {
                "index": r.index,
                "client_event_id": r.client_event_id,
                "status": r.status,
                "counted": r.counted,
                "skipped": r.skipped,
                "completed": r.completed,
            }
            for r in results
        ],
    }
    return body, status.HTTP_200_OK


class _FromSpec(serializers.Field):
    """A report field checked by ``reports.field_value``, exactly as the fast parser checks it."""

    def __init__(self, spec: ReportField, **kwargs):
        self.spec = spec
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return field_value(self.spec, data, self.context.get("now") or timezone.now())
        except FieldInvalid as invalid:
            raise serializers.ValidationError(invalid.message, code=invalid.code) from None


class _UUIDFromSpec(_FromSpec, serializers.UUIDField):
    pass


class _IntegerFromSpec(_FromSpec, serializers.IntegerField):
    pass


class _ChoiceFromSpec(_FromSpec, serializers.ChoiceField):
    pass


class _DateTimeFromSpec(_FromSpec, serializers.DateTimeField):
    pass


def _report_field(spec: ReportField) -> serializers.Field:
    """The serializer field that documents ``spec`` (its type, range, choices, whether it is
    required) and checks a value as the parser does."""
    common: dict[str, Any] = {"required": spec.required, "allow_null": not spec.required}
    if spec.help_text:
        common["help_text"] = spec.help_text
    if spec.kind == "integer":
        return _IntegerFromSpec(spec, min_value=spec.minimum, max_value=spec.maximum, **common)
    if spec.kind == "choice":
        return _ChoiceFromSpec(spec, choices=list(spec.choices), **common)
    if spec.kind == "uuid":
        return _UUIDFromSpec(spec, **common)
    return _DateTimeFromSpec(spec, **common)


class ListenResultSerializer(serializers.Serializer):
    """What became of one report."""

    index = serializers.IntegerField(help_text="The report's place in the request, from 0")
    client_event_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=RESULT_STATUSES)
    counted = serializers.BooleanField(help_text="Heard 30 s or half the piece: a play")
    skipped = serializers.BooleanField()
    completed = serializers.BooleanField()


class ListenReportErrorSerializer(serializers.Serializer):
    """One problem with one report (the deprecated ``error.events``)."""

    index = serializers.IntegerField(help_text="The report's place in the request, from 0")
    field = serializers.CharField(help_text='The field; "" when the report is not an object')
    code = serializers.CharField()
    message = serializers.CharField()


@extend_schema_serializer(deprecate_fields=["events"])
class ListenRejectionSerializer(serializers.Serializer):
    """Why the reports were refused: the API's error, with the deprecated ``events``."""

    code = serializers.CharField(
        help_text="invalid_events (fields names each bad value), malformed, empty_batch or "
        "parse_error (the body is not JSON)"
    )
    message = serializers.CharField()
    # DRF's metaclass takes declared fields off the class: this is error.fields, and
    # Serializer.fields stays as it is.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Each bad value, named by its place in the body (events.3.track in "
        '{"events": [...]}, 3.track in a list, track for one report), to its messages',
    )
    events = serializers.ListField(
        child=ListenReportErrorSerializer(),
        required=False,
        help_text="Deprecated (read fields): one entry per problem",
    )


class ListenReportsRejectedSerializer(serializers.Serializer):
    error = ListenRejectionSerializer()


class ListensApi(APIView):
    """Record listen reports (start, progress, complete, skip); idempotent by client_event_id.

    Send one report, a list, or ``{"events": [...]}`` (at most 500). All or nothing: any invalid
    report refuses the whole request (400, ``error.fields`` names each bad value by its place in
    the body, such as ``events.3.track``; ``error.events``, one entry per problem, is deprecated).
    """

    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]  # the browser's beacon posts a form to listens/beacon/

    class ReportSerializer(serializers.Serializer):
        # Built from reports.REPORT_FIELDS, checking each value as the fast parser does (which
        # checks the requests: several times cheaper per event); a test holds the two to the
        # same answers. The docstring is the schema's description of a report.
        __doc__ = (
            f"One listen report. Besides each field's type and range: started_at at most "
            f"{CLOCK_SKEW.seconds // 60} minutes ahead of the server's clock and at most "
            f"{MAX_AGE.days} days ago; played_ms no longer than the time since started_at; "
            f"track a piece you can see; position_ms at most the piece's duration plus "
            f"{POSITION_SLACK_MS // 1000} s."
        )

        def get_fields(self) -> dict[str, serializers.Field]:
            return {spec.name: _report_field(spec) for spec in REPORT_FIELDS}

        def validate(self, attrs: dict) -> dict:
            played_ms, started_at = attrs.get("played_ms"), attrs.get("started_at")
            if played_ms is not None and started_at is not None:
                now = self.context.get("now") or timezone.now()
                wrong = played_error(played_ms, started_at, now)
                if wrong is not None:
                    detail = {"played_ms": [wrong.message]}
                    raise serializers.ValidationError(detail, code=wrong.code)
            return attrs

    class BatchSerializer(serializers.Serializer):
        # Built when used: a nested class can't name its sibling ReportSerializer when created.
        def get_fields(self) -> dict[str, serializers.Field]:
            reports = ListensApi.ReportSerializer()
            events = serializers.ListField(child=reports, min_length=1, max_length=MAX_BATCH)
            return {"events": events}

    class OutputSerializer(serializers.Serializer):
        accepted = serializers.IntegerField()
        created = serializers.IntegerField()
        updated = serializers.IntegerField()
        duplicate = serializers.IntegerField()
        results = serializers.ListField(child=ListenResultSerializer(), help_text="One per report")

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="ListenReports",
            serializers=[ReportSerializer, ReportSerializer(many=True), BatchSerializer],
            resource_type_field_name=None,
            many=False,  # the request is one of these, and one of them is a list
        ),
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(
                ListenReportsRejectedSerializer,
                description="Malformed or invalid reports: nothing was recorded",
            ),
            409: OpenApiResponse(
                description="The listener's history is paused (code history_paused): nothing "
                "was recorded; drop these reports, don't retry."
            ),
            413: OpenApiResponse(
                description=f"More than {MAX_BATCH} reports (code batch_too_large), or a body "
                "over the size limit: nothing was recorded."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body, code = _record(request.user, request.data)
        return Response(body, status=code)


@require_POST
def listens_beacon(request: HttpRequest) -> JsonResponse:
    """The same as ``POST /listens/`` for ``navigator.sendBeacon`` (which can't set headers).

    The browser posts ``application/x-www-form-urlencoded`` with ``csrfmiddlewaretoken`` and
    ``events`` (the JSON list), so Django's CSRF middleware checks it like any form, and the
    session cookie authenticates it. Never exempt from CSRF. Errors are those of
    ``POST /listens/``, with ``error.fields`` keyed ``events.<index>.<field>`` (the form field).
    """
    if not request.user.is_authenticated:
        return JsonResponse(
            error_payload("not_authenticated", "log in to record listens"), status=403
        )
    try:
        payload = json.loads(request.POST.get("events", ""))
    except (json.JSONDecodeError, RecursionError):
        payload = None
    if payload is None or json_depth_exceeds(payload, MAX_JSON_DEPTH):
        return JsonResponse(error_payload("malformed", "events must be a JSON list"), status=400)
    body, code = _record(request.user, payload, outer="events")
    return JsonResponse(body, status=code)


class RatingApi(APIView):
    """``GET``/``PUT``/``DELETE`` the caller's rating, like and "not interested" of one piece.

    ``PUT`` sets the fields it names and keeps the others (``{"stars": null}`` removes stars).
    """

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        stars = serializers.IntegerField(min_value=1, max_value=5, allow_null=True, required=False)
        liked = InputBooleanField(required=False)
        not_interested = InputBooleanField(required=False)

        def validate(self, attrs: dict) -> dict:
            if not attrs:
                raise serializers.ValidationError(
                    "send at least one of stars, liked, not_interested"
                )
            return attrs

    class OutputSerializer(serializers.Serializer):
        track = serializers.IntegerField()
        stars = serializers.IntegerField(allow_null=True)
        liked = serializers.BooleanField()
        not_interested = serializers.BooleanField()

    def _track(self, request: Request, track_id: int) -> Track:
        return get_object_or_404(Track.objects.visible_to(request.user), pk=track_id)

    def _answer(self, track: Track, rating) -> Response:
        data = {
            "track": track.pk,
            "stars": rating.stars if rating else None,
            "liked": bool(rating and rating.liked),
            "not_interested": bool(rating and rating.not_interested),
        }
        return Response(self.OutputSerializer(data).data)

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, track_id: int) -> Response:
        track = self._track(request, track_id)
        return self._answer(track, selectors.rating_for(request.user, track))

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def put(self, request: Request, track_id: int) -> Response:
        track = self._track(request, track_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rating = services.rating_set(user=request.user, track=track, **serializer.validated_data)
        return self._answer(track, rating)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, track_id: int) -> Response:
        services.rating_clear(user=request.user, track=self._track(request, track_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class HistoryItemSerializer(serializers.ModelSerializer):
    track_title = serializers.CharField(source="track.title")
    piece = TrackListOutputSerializer(source="track", help_text="What a player needs")
    outcome = serializers.ChoiceField(choices=OUTCOMES)
    # Declared, not derived from the model: a derived field's maximum is the database
    # backend's integer range, so the schema would differ between SQLite and PostgreSQL.
    position_ms = serializers.IntegerField(min_value=0, help_text="Last known playhead")
    played_ms = serializers.IntegerField(min_value=0, help_text="Time actually heard")
    duration_ms = serializers.IntegerField(min_value=0, help_text="The piece's duration")

    class Meta:
        model = ListenEvent
        fields = [
            "id",
            "client_event_id",
            "track",
            "track_title",
            "context",
            "started_at",
            "position_ms",
            "played_ms",
            "duration_ms",
            "counted",
            "completed",
            "skipped",
            "outcome",
            "piece",
        ]


class HistoryPageSerializer(CursorPageSerializer):
    results = HistoryItemSerializer(many=True)


class HistoryApi(APIView):
    """The caller's listens, most recent first, in cursor pages; each with its playable piece."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=CURSOR_PARAMS,
        responses=HistoryPageSerializer,
        operation_id="me_history_list",
    )
    def get(self, request: Request) -> Response:
        listens = selectors.listens_for(request.user).prefetch_related("track__tags")
        page = keyset_page(listens, request, "started_at")
        results = HistoryItemSerializer(page.items, many=True, context={"request": request}).data
        return Response({"results": results, "next_cursor": page.next_cursor, "next": page.next})


class HistoryEventApi(APIView):
    """``DELETE`` one of the caller's listens."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, listen_id: int) -> Response:
        try:
            services.listen_delete(user=request.user, listen_id=listen_id)
        except ListenEvent.DoesNotExist:
            return Response(
                error_payload("not_found", "no such listen in your history"), status=404
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class HistorySettingsApi(APIView):
    """``GET``/``PUT`` ``{"paused": bool}``: pause or resume recording the caller's history."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        paused = InputBooleanField()

    @extend_schema(responses=InputSerializer)
    def get(self, request: Request) -> Response:
        return Response({"paused": selectors.history_paused_for(request.user)})

    @extend_schema(request=InputSerializer, responses=InputSerializer)
    def put(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = services.history_pause_set(
            user=request.user, paused=serializer.validated_data["paused"]
        )
        return Response({"paused": row.history_paused})
