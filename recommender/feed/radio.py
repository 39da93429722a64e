"""Radio from any piece: an endless queue, extended a batch at a time.

The next batch follows what is already queued: the sequence model (when one is trained) is
asked what comes after the queue's latest pieces; without one, content similarity to a blend of
the seed and the latest queued pieces lets the radio drift gently away from its seed. Pieces the
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
    rows = Rating.objects.filter(user=user).values_list("track_id", "stars", "not_interested")
    return {t for t, stars, hidden in rows if hidden or (stars is not None and stars <= 2)}


def radio_next_ids(*, user, seed: Track, after: list[int], k: int) -> list[int]:
    """The next ``k`` piece ids of the radio seeded by ``seed`` after the queued ``after``."""
    queued = [seed.pk, *after]
    exclude = set(queued[-NO_REPEAT:]) | _disliked(user)
    provider = sources._providers.get("next")
    if provider is not None and user is not None and user.is_authenticated:
        try:
            recent = list(reversed(queued[-20:]))
            ids = [t for t, _ in provider(user.pk, recent, k * 3) if t not in exclude]
            if len(ids) >= k:
                return _visible_ids(user, ids, k)
        except Exception:
            sources.logger.exception("radio provider failed for seed %s", seed.pk)
    index = catalog_index()
    weights = {seed.pk: 1.0}
    for age, tid in enumerate(reversed(after[-5:])):
        weights[tid] = weights.get(tid, 0.0) + 0.8 * (0.7**age)
    vec = index.profile_vector(weights)
    if vec is None:
        return []
    with single_threaded_blas():
        ranked = index.nearest(vec, k * 4, exclude=exclude)
    # A little variety: take the best, then alternate composers when we can.
    ids = [t for t, _ in ranked]
    if ids:
        rng = np.random.default_rng(seed.pk * 7919 + len(after))
        middle = ids[2 : k * 2]
        rng.shuffle(middle)
        ids = ids[:2] + middle + ids[k * 2 :]
    return _visible_ids(user, ids, k)


def _visible_ids(user, ids: list[int], k: int) -> list[int]:
    found = tracks_by_id(user=user, track_ids=ids[: k * 2])
    return [t for t in ids if t in found][:k]


def radio_next(*, user, seed: Track, after: list[int], k: int = 20) -> list[Track]:
    """The next ``k`` pieces of the radio (Track rows, in order)."""
    ids = radio_next_ids(user=user, seed=seed, after=after, k=k)
    found = tracks_by_id(user=user, track_ids=ids)
    return [found[t] for t in ids if t in found]
