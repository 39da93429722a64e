"""Feed impressions: how often each piece was shown to each listener, counted as pages are served.

Every feed page adds one to the count of each piece it shows, in the request, in one statement
(``recommender.feed.fast_paths.impressions_upsert``), so concurrent pages never lose a count. A
piece or listener deleted meanwhile is left out, never failing the page. Impressions are a soft
signal: they make pieces shown often and never played sink.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from recommender.feed.fast_paths import impressions_upsert

__all__ = ["impressions_add"]


def impressions_add(*, user_id: int, track_ids: Iterable[int]) -> None:
    """Count that these pieces were shown to a listener once more."""
    ids = list(dict.fromkeys(track_ids))
    if ids:
        impressions_upsert(user_id=user_id, track_ids=ids, now=timezone.now())
