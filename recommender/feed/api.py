"""REST API of the feed and discovery: the feed (cursor pages with reasons), similar pieces, radio.

``GET /api/v1/feed/?cursor=...`` pages through the signed-in listener's feed; each item says
why it is there. ``next_cursor`` is opaque; after the listener rates or skips something the feed
is rebuilt and an older cursor simply continues in the new feed without repeating what this
session already showed. Every page is logged as impressions.
"""

from __future__ import annotations

import threading
import time
from typing import Any, cast
from urllib.parse import urlencode

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api import TrackListOutputSerializer
from catalog.models import Track
from catalog.selectors import track_get
from recommender.feed.cursor import FeedCursor, InvalidCursor
from recommender.feed.radio import MAX_AFTER, parse_after, radio_next
from recommender.feed.selectors import MAX_PAGE_SIZE, similar_tracks, tracks_by_id
from recommender.feed.services import feed_page_serve
from recommender.feed.sources import REASON_CODES, SOURCES

DEFAULT_PAGE_SIZE = 20


class ReasonSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=REASON_CODES)
    text = serializers.CharField(help_text='e.g. "Because you played Wachet auf"')


class FeedItemSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a field, not Field.source
        choices=SOURCES, help_text="Which part of the feed chose the piece"
    )
    reason = ReasonSerializer()
    track = TrackListOutputSerializer()


class FeedPageSerializer(serializers.Serializer):
    results = FeedItemSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    next = serializers.CharField(allow_null=True, help_text="URL of the next page")


class TrackListSerializer(serializers.Serializer):
    results = TrackListOutputSerializer(many=True)


class RadioSerializer(serializers.Serializer):
    seed = serializers.IntegerField()
    results = TrackListOutputSerializer(many=True)
    next = serializers.CharField(help_text="URL of the batch after these")


class LimitParams(serializers.Serializer):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=50, default=10)


class RadioParams(serializers.Serializer):
    after = serializers.CharField(required=False, allow_blank=True, max_length=2400, default="")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=50, default=20)


def _params(serializer_class, request: Request) -> dict:
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data


_PAGE_SIZE = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE)


def _page_params(request: Request) -> tuple[FeedCursor | None, int]:
    """``cursor`` and ``page_size`` of a feed request, or a 400 naming each bad one.

    One field validates ``page_size`` (DRF's rules and error codes): on the feed, the busiest
    endpoint, a whole serializer cost more than the page.
    """
    query, errors = request.query_params, cast(dict[str, Any], {})
    cursor, size = None, DEFAULT_PAGE_SIZE
    if "page_size" in query:
        try:
            size = _PAGE_SIZE.run_validation(query["page_size"])
        except ValidationError as exc:
            errors["page_size"] = exc.detail
    if "cursor" in query:
        try:
            cursor = FeedCursor.decode(query["cursor"])
        except InvalidCursor as exc:
            errors["cursor"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return cursor, size


def _track_data(tracks, request: Request) -> list[dict]:
    data = TrackListOutputSerializer(tracks, many=True, context={"request": request}).data
    return cast(list[dict], data)  # many=True: a list


PAYLOAD_TTL_SECONDS = 60.0
_PAYLOAD_MAX = 50_000
_payloads: dict[tuple[int, str], tuple[float, int | None, str, dict]] = {}
_payloads_lock = threading.Lock()


def track_payloads(request: Request):
    """A resolver for ``feed_page``: each piece's API JSON, cached per process for a minute.

    A feed page then needs no catalog query at all. A fast path kept (see
    ``recommender.feed.fast_paths``): without a cache a page's CPU triples; behind Django's cache
    on Redis it cost 1.4 ms of web CPU a page (5.99 against 4.55 ms, 16 clients over gunicorn).
    Visibility is checked against the cached status and owner, so another listener's private
    piece can never be served; a piece an admin hid drops out of cached pages within
    ``PAYLOAD_TTL_SECONDS``.
    """
    host = request.get_host() + ("|s" if request.is_secure() else "")

    def resolve(*, user, track_ids: list[int]) -> dict[int, dict]:
        now = time.monotonic()
        found: dict[int, dict] = {}
        missing: list[int] = []
        for tid in track_ids:
            hit = _payloads.get((tid, host))
            if hit is None or hit[0] < now:
                missing.append(tid)
            elif hit[2] == Track.Status.PUBLISHED and hit[1] in (None, user.pk):
                found[tid] = hit[3]
        if missing:
            tracks = tracks_by_id(user=user, track_ids=missing)
            data = _track_data(list(tracks.values()), request)
            with _payloads_lock:
                if len(_payloads) > _PAYLOAD_MAX:
                    _payloads.clear()
                for track, payload in zip(tracks.values(), data, strict=True):
                    entry = (now + PAYLOAD_TTL_SECONDS, track.owner_id, track.status, payload)
                    _payloads[(track.pk, host)] = entry
                    found[track.pk] = payload
        return found

    return resolve


def reset_payload_cache() -> None:
    """Forget cached track JSON (tests reuse ids across cases)."""
    with _payloads_lock:
        _payloads.clear()


class FeedApi(APIView):
    """The signed-in listener's feed, ``page_size`` items at a time, with reasons."""

    permission_classes = [IsAuthenticated]
    throttle_scope = "feed"

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", OpenApiTypes.STR, description="From next_cursor"),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="1-50, default 20"),
        ],
        responses=FeedPageSerializer,
    )
    def get(self, request: Request) -> Response:
        cursor, size = _page_params(request)
        page = feed_page_serve(
            user=request.user,
            cursor=cursor,
            size=size,
            resolve=track_payloads(request),
        )
        results = [
            {
                "position": item.position,
                "source": item.source,
                "reason": {"code": item.reason_code, "text": item.reason_text},
                "track": item.track,
            }
            for item in page.items
        ]
        next_cursor = page.next_cursor.encode() if page.next_cursor else None
        next_url = None
        if next_cursor:  # URL-safe base64 and a number: nothing to escape
            path = reverse("api-feed")
            next_url = request.build_absolute_uri(f"{path}?cursor={next_cursor}&page_size={size}")
        return Response({"results": results, "next_cursor": next_cursor, "next": next_url})


class SimilarTracksApi(APIView):
    """Pieces like this one (MIDI features and tags); 404 if the piece is not visible."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("limit", OpenApiTypes.INT, description="1-50, default 10")],
        responses=TrackListSerializer,
    )
    def get(self, request: Request, pk: int) -> Response:
        params = _params(LimitParams, request)
        track = track_get(user=request.user, pk=pk)
        found = similar_tracks(user=request.user, track=track, k=params["limit"])
        return Response({"results": _track_data(found, request)})


class RadioApi(APIView):
    """The next pieces of the radio seeded by a piece, after the ids already queued."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "after",
                OpenApiTypes.STR,
                description=f"Comma-separated ids already queued, oldest first (≤{MAX_AFTER})",
            ),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1-50, default 20"),
        ],
        responses=RadioSerializer,
    )
    def get(self, request: Request, track_id: int) -> Response:
        params = _params(RadioParams, request)
        try:
            after = parse_after(params["after"])
        except ValueError as exc:
            raise ValidationError(
                {"after": [f"Expected comma-separated piece ids: {exc}."]}
            ) from exc
        seed = track_get(user=request.user, pk=track_id)
        found = radio_next(user=request.user, seed=seed, after=after, k=params["limit"])
        queued = (after + [t.pk for t in found])[-MAX_AFTER:]
        query = urlencode({"after": ",".join(map(str, queued)), "limit": params["limit"]})
        next_url = request.build_absolute_uri(f"{reverse('api-radio', args=[seed.pk])}?{query}")
        return Response({"seed": seed.pk, "results": _track_data(found, request), "next": next_url})
