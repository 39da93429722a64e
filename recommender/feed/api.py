"""REST API of the feed and discovery: the feed (cursor pages with reasons), similar pieces, radio.

``GET /api/v1/feed/?cursor=...`` pages through the signed-in listener's feed; each item says
why it is there. ``next_cursor`` is opaque; after the listener rates or skips something the feed
is rebuilt and an older cursor simply continues in the new feed without repeating what this
session already showed. Every page is logged as impressions.
"""

from __future__ import annotations

import threading
import time
from typing import cast

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api import TrackListOutputSerializer
from catalog.models import Track
from catalog.selectors import track_get
from musicsite.pagination import (
    CURSOR_PARAMS,
    CursorPageSerializer,
    cursor_and_size,
    ids_cursor,
    ids_of,
    next_url,
    offset_page,
    offset_params,
)
from recommender.feed.cursor import FeedCursor, InvalidCursor
from recommender.feed.radio import MAX_AFTER, radio_next
from recommender.feed.selectors import similar_tracks, tracks_by_id
from recommender.feed.services import feed_page_serve
from recommender.feed.sources import REASON_CODES, SOURCES

SIMILAR_MOST = 100  # similar pieces past these are hardly similar


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


class FeedPageSerializer(CursorPageSerializer):
    results = FeedItemSerializer(many=True)


class TrackPageSerializer(CursorPageSerializer):
    results = TrackListOutputSerializer(many=True)


class RadioSerializer(TrackPageSerializer):
    seed = serializers.IntegerField()


def _feed_cursor(query) -> FeedCursor | None:
    """The feed request's decoded ``cursor`` (None without one), or a 400 naming it."""
    if "cursor" not in query:
        return None
    try:
        return FeedCursor.decode(query["cursor"])
    except InvalidCursor as exc:
        raise ValidationError({"cursor": [str(exc)]}) from exc


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

    @extend_schema(parameters=CURSOR_PARAMS, responses=FeedPageSerializer)
    def get(self, request: Request) -> Response:
        query = request.query_params
        cursor, size = cursor_and_size(query, lambda: _feed_cursor(query))
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
        url = next_url(request, next_cursor, size)
        return Response({"results": results, "next_cursor": next_cursor, "next": url})


class SimilarTracksApi(APIView):
    """Pieces like this one (MIDI features and tags), most alike first, in cursor pages (at
    most ``SIMILAR_MOST`` in all); 404 if the piece is not visible."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=CURSOR_PARAMS, responses=TrackPageSerializer)
    def get(self, request: Request, pk: int) -> Response:
        start, size = offset_params(request.query_params)
        track = track_get(user=request.user, pk=pk)
        found = similar_tracks(
            user=request.user, track=track, k=min(start + size + 1, SIMILAR_MOST)
        )
        page = offset_page(found, request, start, size)
        return Response(
            {
                "results": _track_data(page.items, request),
                "next_cursor": page.next_cursor,
                "next": page.next,
            }
        )


class RadioApi(APIView):
    """The next pieces of the radio seeded by a piece: endless, so ``next_cursor`` is never
    null; the cursor remembers the last ``MAX_AFTER`` pieces queued, none of which comes back."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=CURSOR_PARAMS, responses=RadioSerializer)
    def get(self, request: Request, track_id: int) -> Response:
        query = request.query_params
        after, size = cursor_and_size(query, lambda: ids_of(query, most=MAX_AFTER))
        seed = track_get(user=request.user, pk=track_id)
        found = radio_next(user=request.user, seed=seed, after=after, k=size)
        cursor = ids_cursor((after + [t.pk for t in found])[-MAX_AFTER:])
        return Response(
            {
                "seed": seed.pk,
                "results": _track_data(found, request),
                "next_cursor": cursor,
                "next": next_url(request, cursor, size),
            }
        )
