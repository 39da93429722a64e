"""Assemble one listener's feed from the sources (pure given a ``FeedContext``)."""

from __future__ import annotations

from recommender.feed import sources
from recommender.feed.blend import (
    adjust,
    cover_picks,
    diversify,
    drop_copies,
    explain_anchors,
    interleave,
    place_made_for_you,
)
from recommender.feed.context import FeedContext

FEED_LENGTH = 300
PER_SOURCE = 120
RECENTLY_PLAYED = 30  # the last this-many plays are not recommended again
FIRST_PAGE = 12  # the feed page's size: a new listener's first page shows each specific pick
COLD_PLAYS = 3  # below this many plays the listener is new: onboarding picks lead


def stage_weights(plays: int) -> dict[str, float]:
    """Each source's default share, by how much we know about the listener."""
    if plays < COLD_PLAYS:  # cold start: onboarding choices lead, with popular and new pieces
        return {"picks": 4.0, "next": 1.5, "taste": 1.0, "popular": 1.5, "fresh": 1.0}
    if plays < 20:
        return {"next": 2.5, "taste": 2.0, "picks": 2.0, "popular": 1.0, "fresh": 1.0}
    return {"next": 3.0, "taste": 3.0, "picks": 0.7, "popular": 0.7, "fresh": 1.0}


def source_weights(ctx: FeedContext) -> dict[str, float]:
    """How much each source contributes: its stage weight times its multiplier fitted on the
    impression log (``recommender.feed.weights``; 1 where none is fitted)."""
    fitted = ctx.source_multipliers
    return {
        name: weight * fitted.get(name, 1.0)
        for name, weight in stage_weights(len(ctx.recent_plays)).items()
    }


SOURCES = {
    "next": sources.next_source,
    "taste": sources.taste_source,
    "picks": sources.picks_source,
    "fresh": sources.fresh_source,
    "popular": sources.popular_source,
}


def build_feed(ctx: FeedContext, length: int = FEED_LENGTH) -> list[sources.Candidate]:
    """The ranked, blended, varied feed with a reason per item."""
    # Just played, or already rated or liked: the listener knows it; the feed is for discovery.
    exclude = set(ctx.recent_plays[:RECENTLY_PLAYED]) | set(ctx.ratings)
    weights = source_weights(ctx)
    ranked = []
    for name, weight in weights.items():
        found = SOURCES[name](ctx, PER_SOURCE)
        ranked.append((adjust(ctx, found, exclude=exclude), weight))
    blended = drop_copies(ctx, interleave(ranked))
    varied = diversify(ctx, blended[: length + 40])[:length]
    mine = sources.made_for_you_source(ctx, 10)
    feed = place_made_for_you(varied, mine)[:length]
    if len(ctx.recent_plays) < COLD_PLAYS:
        feed = cover_picks(ctx, feed, FIRST_PAGE)
    return explain_anchors(ctx, feed)
