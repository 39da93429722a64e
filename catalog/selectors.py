"""Reads of the catalog, shared by the HTML pages and the REST API."""

from __future__ import annotations

import re
from datetime import date

from django.db import connections
from django.db.models import (
    Case,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404
from django.utils import timezone

from catalog.filters import TrackFilters
from catalog.models import MAX_ID, Artist, Collection, Tag, Track

QUEUE_MAX_LENGTH = 100
_CONTEXT_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def _visible(user) -> QuerySet[Track]:
    return Track.objects.visible_to(user)


def track_list(*, user, filters: TrackFilters | None = None) -> QuerySet[Track]:
    """The tracks ``user`` may see, filtered, with composer, collection and tags prefetched."""
    filters = filters or TrackFilters()
    tracks = _visible(user).select_related("artist", "collection").prefetch_related("tags")
    if filters.q:
        tracks = tracks.filter(search_matches(filters.q))
    if filters.collection is not None:
        tracks = tracks.filter(collection=filters.collection)
    if filters.composer is not None:
        tracks = tracks.filter(artist=filters.composer)
    if filters.tag is not None:
        tracks = tracks.filter(tags=filters.tag)
    if filters.key:
        tracks = tracks.filter(key__iexact=filters.key)
    if filters.tempo_min is not None:
        tracks = tracks.filter(tempo_bpm__gte=filters.tempo_min)
    if filters.tempo_max is not None:
        # An upper bound of 120 includes 120.4 bpm: tempos are shown rounded.
        tracks = tracks.filter(tempo_bpm__lt=filters.tempo_max + 0.5)
    if filters.q:
        return search_ranked(tracks, filters.q)
    return tracks.order_by("title", "id")


# Where a word is found, from most to least telling: the ranking of both databases.
SEARCH_WEIGHTS = {"title": 8.0, "composer": 4.0, "collection": 2.0, "tag": 1.0}
PART_OF_A_WORD = 0.1  # "bach" in "Bachelor" counts a tenth of "bach" in "J. S. Bach"
PREFIX_SHARE = 0.1  # PostgreSQL: a word's prefix ("mozar") against the whole word
_SEARCH_COLUMNS = {"title": "title", "composer": "artist__name", "collection": "collection__name"}


def _field_has(field: str, lookup: str, value: str) -> Q | Exists:
    """Whether a piece's ``field`` (a ``SEARCH_WEIGHTS`` key; "tag": any of its tags) matches
    ``value`` by ``lookup`` ("icontains", "iregex")."""
    if field == "tag":
        return Exists(Tag.objects.filter(tracks=OuterRef("pk"), **{f"name__{lookup}": value}))
    return Q(**{f"{_SEARCH_COLUMNS[field]}__{lookup}": value})


def search_matches(query: str) -> Q:
    """Pieces where every word of ``query`` is in the title, the composer, the collection or a
    tag ("bach chorale" finds Bach's chorales), ignoring case."""
    matches = Q()
    for word in query.split():
        found = (_field_has(field, "icontains", word) for field in SEARCH_WEIGHTS)
        matches &= Q(*found, _connector=Q.OR)
    return matches


def search_ranked(tracks: QuerySet[Track], query: str) -> QuerySet[Track]:
    """``tracks`` (already matched by ``search_matches``) best match first, as ``search_rank``:
    a whole word counts more than part of one, and a word in the title more than in the composer,
    the collection or a tag, in that order. PostgreSQL ranks by full-text search (weighted
    ``SearchVector``, ``SearchRank``); other databases by the same weights, word by word."""
    words = _search_words(query)
    if not words:
        return tracks.order_by("title", "id")
    if connections[tracks.db].vendor == "postgresql":
        rank = _fulltext_rank(query, words)
    else:
        rank = _word_rank(words)
    return tracks.annotate(search_rank=rank).order_by("-search_rank", "title", "id")


def _search_words(query: str) -> list[str]:
    """The query's words as full-text search splits them (letters and digits), lower case."""
    return [w for w in re.split(r"[\W_]+", query.casefold()) if w][:20]


def _fulltext_rank(query: str, words: list[str]):
    from django.contrib.postgres.aggregates import StringAgg
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    tag_names = Subquery(
        Track.tags.through.objects.filter(track_id=OuterRef("pk"))
        .values("track_id")
        .annotate(names=StringAgg("tag__name", delimiter=" "))
        .values("names")  # type: ignore[misc]  # the stubs miss names annotated just above
    )
    vector = (
        SearchVector("title", weight="A", config="simple")
        + SearchVector("artist__name", weight="B", config="simple")
        + SearchVector("collection__name", weight="C", config="simple")
        + SearchVector(tag_names, weight="D", config="simple")
    )
    exact = SearchQuery(query, search_type="plain", config="simple")  # parsed as the titles
    prefix = SearchQuery(" & ".join(f"{w}:*" for w in words), search_type="raw", config="simple")
    weights = [SEARCH_WEIGHTS[f] / SEARCH_WEIGHTS["title"] for f in reversed(SEARCH_WEIGHTS)]
    return ExpressionWrapper(
        SearchRank(vector, exact, weights=weights)
        + PREFIX_SHARE * SearchRank(vector, prefix, weights=weights),
        output_field=FloatField(),
    )


def _word_rank(words: list[str]):
    """The sum, over the query's words and the fields that hold them, of the field's weight
    (a tenth of it where the word is only part of one of the field's words)."""
    total: Combinable = Value(0.0, output_field=FloatField())
    for word in words:
        whole = rf"(^|[^\w]){re.escape(word)}($|[^\w])"
        for field, weight in SEARCH_WEIGHTS.items():
            total = total + Case(
                When(_field_has(field, "iregex", whole), then=Value(weight)),
                When(_field_has(field, "icontains", word), then=Value(weight * PART_OF_A_WORD)),
                default=Value(0.0),
                output_field=FloatField(),
            )
    return total


def public_pieces_playable() -> tuple[int, int]:
    """(playable, all): the catalog's public pieces whose audio is ready, and all of them."""
    public = Track.objects.filter(owner__isnull=True)
    return public.filter(render_status=Track.RenderStatus.READY).count(), public.count()


def track_get(*, user, pk: int) -> Track:
    """One track ``user`` may see, or 404 (hidden, draft or another listener's private piece)."""
    tracks = _visible(user).select_related("artist", "collection").prefetch_related("tags")
    return get_object_or_404(tracks, pk=pk)


def collections_visible_to(user) -> QuerySet[Collection]:
    """Collections holding at least one piece ``user`` may see (the browse filter's choices)."""
    return Collection.objects.filter(Exists(_visible(user).filter(collection=OuterRef("pk"))))


def composers_visible_to(user) -> QuerySet[Artist]:
    """Composers of at least one piece ``user`` may see."""
    return Artist.objects.filter(Exists(_visible(user).filter(artist=OuterRef("pk"))))


def tags_visible_to(user) -> QuerySet[Tag]:
    """Tags of at least one piece ``user`` may see."""
    return Tag.objects.filter(Exists(_visible(user).filter(tags=OuterRef("pk"))))


def track_key_choices(*, user) -> list[str]:
    """The distinct keys of the tracks ``user`` may see, for the browse filter."""
    # order_by("key") replaces the model's default ordering, which DISTINCT would include.
    keys = _visible(user).exclude(key="").order_by("key").values_list("key", flat=True)
    return list(keys.distinct())


_SHUFFLE_PRIME = 9973  # a day's shuffle: (id mod p) * m + day, mod p; fits 32-bit integers


def _shuffled(field: str, day: int, salt: int) -> ExpressionWrapper:
    """A pseudo-random order of the day over an integer column, the same in every database."""
    p = _SHUFFLE_PRIME
    multiplier = 1 + (day * 7919 + salt) % (p - 1)
    return ExpressionWrapper(
        (F(field) % p * multiplier + (day + salt) % p) % p, output_field=IntegerField()
    )


def track_featured(*, user, limit: int = 8, day: date | None = None) -> list[Track]:
    """A spread of the catalog for the landing page: a piece of each collection in turn, then a
    second of each, and so on, the collections and their pieces shuffled anew each day (the same
    all ``day``, by default today); within a collection, pieces ready to play come first (one
    query)."""
    seed = (day or timezone.localdate()).toordinal()
    not_ready = Case(
        When(render_status=Track.RenderStatus.READY, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    in_collection = Window(
        RowNumber(),
        partition_by=F("collection_id"),
        order_by=(not_ready.asc(), _shuffled("id", seed, 1).asc(), F("id").asc()),
    )
    tracks = (
        _visible(user)
        .annotate(turn=in_collection, collection_turn=_shuffled("collection_id", seed, 2))
        .filter(turn__lte=limit)
        .select_related("artist", "collection")
        .order_by("turn", "collection_turn", "collection_id", "id")
    )
    return list(tracks[:limit])


def parse_queue(raw: str) -> list[int]:
    """Parse a ``?queue=`` value ("3,5,8") into distinct positive ids; junk (not ASCII digits,
    or an id no row can have) is dropped."""
    ids: list[int] = []
    for part in raw.split(",")[: QUEUE_MAX_LENGTH * 2]:
        part = part.strip()
        if part.isascii() and part.isdigit() and 0 < int(part) <= MAX_ID and int(part) not in ids:
            ids.append(int(part))
    return ids[:QUEUE_MAX_LENGTH]


def track_queue(*, user, track: Track, requested: list[int]) -> list[int]:
    """The play queue around ``track``: the requested ids the user may see, in their order.

    Without a requested queue (or when ``track`` is not in it) the queue is the track's
    collection in title order, a window of at most ``QUEUE_MAX_LENGTH`` ids around it.
    """
    if track.pk in requested:
        visible = set(_visible(user).filter(pk__in=requested).values_list("pk", flat=True))
        return [pk for pk in requested if pk in visible]
    if track.collection_id is None:
        return [track.pk]
    ids = list(
        _visible(user)
        .filter(collection_id=track.collection_id)
        .order_by("title", "id")
        .values_list("pk", flat=True)
    )
    try:
        index = ids.index(track.pk)
    except ValueError:
        return [track.pk]
    start = max(0, index - QUEUE_MAX_LENGTH // 2)
    return ids[start : start + QUEUE_MAX_LENGTH]


def queue_neighbours(queue: list[int], pk: int) -> tuple[int | None, int | None]:
    """The ids before and after ``pk`` in ``queue`` (None at either end)."""
    if pk not in queue:
        return None, None
    index = queue.index(pk)
    previous = queue[index - 1] if index > 0 else None
    following = queue[index + 1] if index + 1 < len(queue) else None
    return previous, following


def clean_context(raw: str, default: str = "track_page") -> str:
    """A listening context label (``browse``, ``home``...) from a query parameter."""
    return raw if _CONTEXT_RE.match(raw or "") else default
