"""Feed impressions: how often each piece was shown to each listener, counted as pages are served.

Every feed page adds one to the count of each piece it shows, and records the source that showed
it (what ``recommender.feed.weights`` fits the blend on), in the request, in one statement
(``recommender.feed.fast_paths.impressions_upsert``), so concurrent pages never lose a count. A
piece or listener deleted meanwhile is left out, never failing the page. Impressions are a soft
signal: they make pieces shown often and never played sink.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from recommender.feed.fast_paths import impressions_upsert

__all__ = ["impressions_add"]


def impressions_add(*, user_id: int, shown: Iterable[tuple[int, str]]) -> None:
    """Count that these ``(track_id, source)`` pieces were shown to a listener once more."""
    source_of: dict[int, str] = {}
    for track_id, source in shown:
        source_of.setdefault(track_id, source)  # each piece once a page
    if source_of:
        impressions_upsert(user_id=user_id, shown=list(source_of.items()), now=timezone.now())
