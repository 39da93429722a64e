"""Radio from any piece: an endless queue, extended a batch at a time.

The next batch follows what is already queued. Its pieces come from the neighbourhood of the
radio: the ``POOL`` pieces most like a blend of the seed and the latest queued pieces (content
similarity), so the radio stays near its seed and drifts gently. The sequence model (when one
is trained) orders that neighbourhood by what it expects next after the queue; without one, the
closest come first, with a little variety. The sequence model alone would follow the listener's
whole history, and a chorale lover's radio from an Irish reel would play chorales. Pieces the
listener hid or disliked never play; a piece repeats only after ``NO_REPEAT`` others.
"""

from __future__ import annotations

import numpy as np

from catalog.models import Track
from recommender.feed import sources
from recommender.feed.content import catalog_index, single_threaded_blas
from recommender.feed.selectors import tracks_by_id
from recommender.models import Rating

NO_REPEAT = 50
MAX_AFTER = 200
POOL = 5  # the neighbourhood holds POOL times the batch
RANK_DEPTH = 10  # the sequence model ranks this many times the neighbourhood's size


def parse_after(raw: str) -> list[int]:
    """``"3,5,8"`` to ``[3, 5, 8]``; raises ValueError naming the bad part."""
    if not raw:
        return []
    parts = raw.split(",")
    if len(parts) > MAX_AFTER:
        raise ValueError(f"at most {MAX_AFTER} ids")
    ids = []
    for part in parts:
        part = part.strip()
        if not part.isdigit() or int(part) <= 0 or int(part) > 2**31:
            raise ValueError(f"{part[:20]!r} is not a piece id")
        ids.append(int(part))
    return ids


def _disliked(user) -> set[int]:
    if user is None or not user.is_authenticated:
        return set()
    return set(Rating.objects.filter(user=user).disliked().values_list("track_id", flat=True))


def radio_next(*, user, seed: Track, after: list[int], k: int = 20) -> list[Track]:
    """The next ``k`` pieces of the radio seeded by ``seed`` after the queued ``after``."""
    queued = [seed.pk, *after]
    exclude = set(queued[-NO_REPEAT:]) | _disliked(user)
    pool = _neighbourhood(seed, after, exclude, k * POOL)
    ordered = _sequence_order(user, queued, pool) if pool else None
    if ordered is None:
        ordered = _closest_first(pool, seed, after, k)
    return _visible(user, ordered, k)


def _neighbourhood(seed: Track, after: list[int], exclude: set[int], n: int) -> list[int]:
    """The ``n`` pieces most like the seed blended with the latest queued ones, closest first."""
    index = catalog_index()
    weights = {seed.pk: 1.0}
    for age, tid in enumerate(reversed(after[-5:])):
        weights[tid] = weights.get(tid, 0.0) + 0.8 * (0.7**age)
    vec = index.profile_vector(weights)
    if vec is None:
        return []
    with single_threaded_blas():
        return [t for t, _ in index.nearest(vec, n, exclude=exclude)]


def _sequence_order(user, queued: list[int], pool: list[int]) -> list[int] | None:
    """``pool`` in the order the sequence model expects after ``queued`` (None without one)."""
    provider = sources._providers.get("next")
    if provider is None or user is None or not user.is_authenticated:
        return None
    try:
        recent = list(reversed(queued[-20:]))
        ranked = provider(user.pk, recent, len(pool) * RANK_DEPTH)
    except Exception:
        sources.logger.exception("radio provider failed after %s", queued[-1])
        return None
    members = set(pool)
    first = [t for t, _ in ranked if t in members]
    if not first:
        return None
    placed = set(first)
    return first + [t for t in pool if t not in placed]


def _closest_first(pool: list[int], seed: Track, after: list[int], k: int) -> list[int]:
    """The closest two, then the next ones shuffled a little (repeatably) for variety."""
    if not pool:
        return []
    rng = np.random.default_rng(seed.pk * 7919 + len(after))
    middle = pool[2 : k * 2]
    rng.shuffle(middle)
    return pool[:2] + middle + pool[k * 2 :]


def _visible(user, ids: list[int], k: int) -> list[Track]:
    """The first ``k`` of ``ids`` that ``user`` may see, as Track rows in order (one lookup)."""
    found = tracks_by_id(user=user, track_ids=ids[: k * 2])
    return [found[t] for t in ids if t in found][:k]
