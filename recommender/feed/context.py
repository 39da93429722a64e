"""Everything the feed sources need to know about one listener, read in a handful of queries."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import TEMPO_BOUNDS, Profile
from catalog.models import Track
from recommender.feed.content import CatalogIndex, catalog_index
from recommender.feed.weights import source_multipliers
from recommender.models import FeedImpression, ListenEvent, Rating

HISTORY_WINDOW = 300  # most recent listens read per build
POPULARITY_TTL_SECONDS = 300.0
RECENT_DAYS = 14


@dataclass
class Picks:
    """The listener's onboarding choices."""

    collections: list[int] = field(default_factory=list)
    artists: list[int] = field(default_factory=list)
    tags: list[int] = field(default_factory=list)
    tempo_ranges: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.collections or self.artists or self.tags or self.tempo_ranges)

    def specific(self) -> list[tuple[str, int]]:
        """The specific picks, as ``CatalogIndex.members`` names them: every pick but the tempo
        bands, which match a third of the catalog each."""
        return [
            *(("collection", c) for c in self.collections),
            *(("composer", a) for a in self.artists),
            *(("tag", t) for t in self.tags),
        ]

    def tempo_match(self, bpm: float) -> str | None:
        for band in self.tempo_ranges:
            low, high = TEMPO_BOUNDS.get(band, (0.0, 0.0))
            if low <= bpm < high:
                return band
        return None


@dataclass
class FeedContext:
    """One listener's signals, as the sources see them."""

    user_id: int
    index: CatalogIndex
    recent_plays: list[int]  # counted plays, most recent first, distinct
    recent_skips: list[int]
    ratings: dict[int, tuple[int | None, bool]]  # track -> (stars, liked)
    hidden: set[int]  # not interested, or rated 1-2 stars
    disliked: list[int]
    picks: Picks
    shown: dict[int, int]  # track -> times shown and not played since
    generated: list[tuple[int, str]]  # the listener's own generated pieces (id, title)
    popularity: dict[int, float]
    generated_reasons: dict[int, str] = field(default_factory=dict)  # id -> its song's reason
    source_multipliers: dict[str, float] = field(default_factory=dict)  # fitted; missing: 1

    @property
    def listened(self) -> set[int]:
        return set(self.recent_plays) | set(self.recent_skips)

    def taste_weights(self) -> dict[int, float]:
        """How much each known piece says about the listener's taste (negative: dislike)."""
        weights: dict[int, float] = {}
        for rank, tid in enumerate(self.recent_plays):
            weights[tid] = weights.get(tid, 0.0) + 0.985**rank
        for tid in self.recent_skips[:50]:
            weights[tid] = weights.get(tid, 0.0) - 0.3
        for tid, (stars, liked) in self.ratings.items():
            if liked:
                weights[tid] = weights.get(tid, 0.0) + 2.0
            if stars is not None:
                weights[tid] = weights.get(tid, 0.0) + (stars - 3) * 1.2
        return weights

    def title(self, track_id: int) -> str:
        info = self.index.info(track_id)
        if info is not None:
            return info.title
        return dict(self.generated).get(track_id, "a piece")


_pop_lock = threading.Lock()
_pop_cache: tuple[float, dict[int, float]] | None = None


def popularity_scores() -> dict[int, float]:
    """Plays per piece (all time, plus recent plays counted three times), cached per process."""
    global _pop_cache
    now = time.monotonic()
    cached = _pop_cache
    if cached is not None and now - cached[0] < POPULARITY_TTL_SECONDS:
        return cached[1]
    with _pop_lock:
        since = timezone.now() - timedelta(days=RECENT_DAYS)
        rows = (
            ListenEvent.objects.filter(counted=True)
            .values("track_id")
            .annotate(total=Count("id"), recent=Count("id", filter=Q(started_at__gte=since)))
            .values_list("track_id", "total", "recent")
        )
        scores = {tid: float(total + 2 * recent) for tid, total, recent in rows}
        _pop_cache = (time.monotonic(), scores)
        _ranked_cache.clear()
        return scores


_ranked_cache: dict[int, list[tuple[int, float]]] = {}


def popularity_ranked() -> list[tuple[int, float]]:
    """``popularity_scores`` as ``[(track_id, score), ...]``, most played first (cached)."""
    scores = popularity_scores()
    key = id(scores)
    ranked = _ranked_cache.get(key)
    if ranked is None:
        ranked = sorted(scores.items(), key=lambda x: -x[1])
        _ranked_cache.clear()
        _ranked_cache[key] = ranked
    return ranked


def reset_popularity() -> None:
    global _pop_cache
    _pop_cache = None
    _ranked_cache.clear()


def picks_for(user_id: int) -> Picks:
    """The onboarding choices of a listener (empty without a profile)."""
    profile = Profile.objects.filter(user_id=user_id).values("tempo_ranges").first()
    if profile is None:
        return Picks()
    through_c = Profile.collections.through
    through_a = Profile.artists.through
    through_t = Profile.tags.through
    picks = Picks(tempo_ranges=list(profile["tempo_ranges"] or []))
    picks.collections = list(
        through_c.objects.filter(profile_id=user_id).values_list("collection_id", flat=True)
    )
    picks.artists = list(
        through_a.objects.filter(profile_id=user_id).values_list("artist_id", flat=True)
    )
    picks.tags = list(through_t.objects.filter(profile_id=user_id).values_list("tag_id", flat=True))
    return picks


def build_context(user) -> FeedContext:
    """Read one listener's signals (about eight small indexed queries)."""
    index = catalog_index()
    listens = list(
        ListenEvent.objects.filter(user=user)
        .order_by("-started_at", "-id")
        .values_list("track_id", "counted", "skipped")[:HISTORY_WINDOW]
    )
    plays: list[int] = []
    skips: list[int] = []
    seen_p: set[int] = set()
    seen_s: set[int] = set()
    for tid, counted, skipped in listens:
        if counted and tid not in seen_p:
            plays.append(tid)
            seen_p.add(tid)
        elif skipped and tid not in seen_s:
            skips.append(tid)
            seen_s.add(tid)
    ratings: dict[int, tuple[int | None, bool]] = {}
    hidden: set[int] = set()
    disliked: list[int] = []
    for tid, stars, liked, is_disliked in (
        Rating.objects.filter(user=user)
        .with_verdict()
        .values_list("track_id", "stars", "liked", "is_disliked")
    ):
        ratings[tid] = (stars, liked)
        if is_disliked:
            hidden.add(tid)
            disliked.append(tid)
    shown = {
        tid: count
        for tid, count in FeedImpression.objects.filter(user=user, shown_count__gte=2).values_list(
            "track_id", "shown_count"
        )
        if tid not in seen_p
    }
    songs = list(
        Track.objects.filter(
            owner=user, origin=Track.Origin.GENERATED, status=Track.Status.PUBLISHED
        )
        .order_by("-created_at")
        .values_list("id", "title", "generation_job__settings")[:50]
    )
    generated = [(tid, title) for tid, title, _ in songs]
    reasons = {tid: (cond or {}).get("reason") for tid, _, cond in songs}
    return FeedContext(
        user_id=user.pk,
        index=index,
        recent_plays=plays,
        recent_skips=skips,
        ratings=ratings,
        hidden=hidden,
        disliked=disliked,
        picks=picks_for(user.pk),
        shown=shown,
        generated=generated,
        popularity=popularity_scores(),
        generated_reasons={tid: r for tid, r in reasons.items() if r},
        source_multipliers=source_multipliers(),
    )
