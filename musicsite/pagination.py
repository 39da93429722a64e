"""The API's one way to page each kind of list (README "Pagination").

Streams (the feed, history, radio, a listener's songs) and short ranked or ordered lists
(similar pieces, playlists, the liked pieces) page with an opaque
``cursor`` (from the last page's ``next_cursor``; ``next`` is the whole URL). The catalog,
``/tracks/``, pages by ``page`` number. Everywhere ``page_size`` is 1-50, default 20; a value
out of range, a page past the last or a cursor this API did not issue is a 400 naming the
parameter, never a silent cap.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar, cast
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 50
MAX_CURSOR_LENGTH = 64
_SIZE_HELP = f"1-{MAX_PAGE_SIZE}, default {DEFAULT_PAGE_SIZE}"


class CursorParams(serializers.Serializer):
    """The query parameters of a cursor page, for the schema (``page_size`` reads them)."""

    cursor = serializers.CharField(required=False, help_text="From next_cursor")
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_SIZE, help_text=_SIZE_HELP
    )


CURSOR_PARAMS = [CursorParams]

_PAGE_SIZE = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
Value = TypeVar("Value")


class CursorPageSerializer(serializers.Serializer):
    """The paging fields of a cursor page (``results`` are the list's own)."""

    next_cursor = serializers.CharField(allow_null=True, help_text="null on the last page")
    next = serializers.CharField(allow_null=True, help_text="URL of the next page")


class CursorPage(NamedTuple):
    """A page of a cursor list: its items, the cursor of the next page and its whole URL (both
    None on the last page)."""

    items: list
    next_cursor: str | None
    next: str | None


def page_size(query: Mapping[str, Any], name: str = "page_size") -> int:
    """``page_size`` of a request (default 20), or a 400 naming it when out of 1-50.

    One field validates it (DRF's rules and codes): on the feed, the busiest endpoint, a
    whole serializer cost more than the page."""
    if name not in query:
        return DEFAULT_PAGE_SIZE
    try:
        return _PAGE_SIZE.run_validation(query[name])
    except ValidationError as exc:
        raise ValidationError({name: exc.detail}) from exc


def _encode(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, max_length: int = MAX_CURSOR_LENGTH) -> str:
    """The text inside a cursor; ``ValueError`` when it is not one this API issued."""
    if not cursor or len(cursor) > max_length:
        raise ValueError(cursor)
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(cursor) from exc


def _bad_cursor() -> ValidationError:
    return ValidationError({"cursor": ["The cursor is malformed: use a next_cursor as given."]})


def offset_cursor(offset: int) -> str:
    """An opaque cursor for the items of a list from ``offset`` on."""
    return _encode(f"o:{offset}")


def offset_of(query: Mapping[str, Any]) -> int:
    """Where a request's ``cursor`` starts (0 without one); a 400 naming a bad one."""
    if "cursor" not in query:
        return 0
    try:
        kind, number = _decode(query["cursor"]).split(":")
        offset = int(number)
    except ValueError as exc:
        raise _bad_cursor() from exc
    if kind != "o" or offset < 0 or offset > 10**6:
        raise _bad_cursor()
    return offset


def ids_cursor(ids: Sequence[int]) -> str:
    """An opaque cursor holding ids (a radio's queue, so it does not repeat them soon)."""
    return _encode("i:" + ",".join(map(str, ids)))


def ids_of(query: Mapping[str, Any], most: int) -> list[int]:
    """The ids in a request's ``cursor`` (none without one); a 400 naming a bad one."""
    if "cursor" not in query:
        return []
    try:
        kind, listed = _decode(query["cursor"], max_length=most * 16).split(":")
        ids = [int(part) for part in listed.split(",")] if listed else []
    except ValueError as exc:
        raise _bad_cursor() from exc
    if kind != "i" or len(ids) > most or any(not 0 < i < 2**31 for i in ids):
        raise _bad_cursor()
    return ids


def next_url(request: Request, cursor: str | None, size: int) -> str | None:
    """The URL of the page ``cursor`` starts, ``size`` items long (None without a cursor)."""
    if cursor is None:
        return None
    query = urlencode({"cursor": cursor, "page_size": size})
    return request.build_absolute_uri(f"{request.path}?{query}")


def cursor_and_size(query: Mapping[str, Any], read: Callable[[], Value]) -> tuple[Value, int]:
    """``read()`` (the request's cursor, decoded) and its ``page_size``, or one 400 naming
    every bad one of the two."""
    errors: dict[str, Any] = {}
    value: Any = None
    size = DEFAULT_PAGE_SIZE
    try:
        value = read()
    except ValidationError as exc:
        errors.update(cast(dict, exc.detail))
    try:
        size = page_size(query)
    except ValidationError as exc:
        errors.update(cast(dict, exc.detail))
    if errors:
        raise ValidationError(errors)
    return value, size


def offset_params(query: Mapping[str, Any]) -> tuple[int, int]:
    """Where an offset-cursor page starts and how long it is, or one 400 naming each bad one."""
    return cursor_and_size(query, lambda: offset_of(query))


def offset_page(
    items: Sequence[Any] | QuerySet, request: Request, start: int, size: int
) -> CursorPage:
    """The ``size`` items of ``items`` from ``start`` (``offset_params``), and the next page's."""
    page = list(items[start : start + size + 1])
    cursor = offset_cursor(start + size) if len(page) > size else None
    return CursorPage(page[:size], cursor, next_url(request, cursor, size))


def keyset_cursor(at: datetime, pk: int) -> str:
    """An opaque cursor just past the row at (``at``, ``pk``) in newest-first order."""
    return _encode(f"{(at - _EPOCH) // _MICROSECOND}:{pk}")


def after_keyset(rows: QuerySet, query: Mapping[str, Any], field: str) -> QuerySet:
    """``rows`` (newest first by ``field``, then id) after the request's cursor, if any."""
    if "cursor" not in query:
        return rows
    try:
        micros, pk = (int(part) for part in _decode(query["cursor"]).split(":"))
        at = _EPOCH + micros * _MICROSECOND
    except (ValueError, OverflowError) as exc:
        raise _bad_cursor() from exc
    if micros < 0 or pk < 0:
        raise _bad_cursor()
    return rows.filter(Q(**{f"{field}__lt": at}) | Q(**{field: at, "pk__lt": pk}))


def keyset_page(rows: QuerySet, request: Request, field: str) -> CursorPage:
    """The request's newest-first page of ``rows`` by ``field``, and the next page's."""
    query, rows = request.query_params, rows.order_by(f"-{field}", "-pk")
    rows, size = cursor_and_size(query, lambda: after_keyset(rows, query, field))
    page = list(rows[: size + 1])
    cursor = None
    if len(page) > size:
        last = page[size - 1]
        cursor = keyset_cursor(getattr(last, field), last.pk)
    return CursorPage(page[:size], cursor, next_url(request, cursor, size))


class NumberedPages(PageNumberPagination):
    """Page numbers for the catalog: ``page`` and ``page_size`` (1-50, default 20); a size out
    of range or a page past the last is a 400 naming it."""

    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        return page_size(request.query_params)

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            raise ValidationError({self.page_query_param: [str(exc.detail)]}) from exc

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = _SIZE_HELP
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}
            elif parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters
