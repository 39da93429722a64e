"""Blending the sources into one feed: penalties, weighted interleaving, variety.

1. Each source's candidates are re-scored: pieces the listener hid or disliked are dropped,
   pieces very like a disliked one and recently skipped ones are halved, and a piece shown many
   times without being played sinks (``SINK_BASE ** (times shown - 1)``).
2. Sources are interleaved by weight (a source with weight 3 gives three items for every one of
   a weight-1 source), each in its own order; the first source to propose a piece names its
   reason.
3. Variety: no more than ``MAX_RUN`` pieces in a row by one composer or from one collection
   (relaxed only when nothing else is left). "Made for you" pieces go near the top.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from recommender.feed.context import FeedContext
from recommender.feed.sources import Candidate

MAX_RUN = 2
LOOKAHEAD = 30
SINK_BASE = 0.55
DISLIKE_SIMILARITY = 0.9
MADE_FOR_YOU_EVERY = 8


def adjust(ctx: FeedContext, candidates: list[Candidate], *, exclude: set[int]) -> list[Candidate]:
    """Drop what must not show, apply penalties, re-sort by the adjusted score."""
    own = {tid for tid, _ in ctx.generated}
    keep = [
        c
        for c in candidates
        if c.track_id not in exclude
        and c.track_id not in ctx.hidden
        # Public pieces, or the listener's own: a model may know others' private pieces.
        and (c.track_id in ctx.index.row_of or c.track_id in own)
    ]
    if not keep:
        return []
    factor = np.ones(len(keep))
    skips = set(ctx.recent_skips[:30])
    for i, cand in enumerate(keep):
        shown = ctx.shown.get(cand.track_id, 0)
        if shown >= 2:
            factor[i] *= SINK_BASE ** (shown - 1)
        if cand.track_id in skips:
            factor[i] *= 0.5
    disliked = ctx.index.vector_of(ctx.disliked[-50:])
    if len(disliked):
        rows = [i for i, c in enumerate(keep) if c.track_id in ctx.index.row_of]
        vecs = ctx.index.vector_of([keep[i].track_id for i in rows])
        if len(vecs):
            near = (vecs @ disliked.T).max(axis=1) >= DISLIKE_SIMILARITY
            for row, is_near in zip(rows, near, strict=True):
                if is_near:
                    factor[row] *= 0.5
    # Rank within the source, then scale: a penalty moves a piece down its source's list.
    ranks = np.arange(len(keep), dtype=float)
    adjusted = (1.0 / (1.0 + ranks)) * factor
    order = np.argsort(-adjusted, kind="stable")
    return [keep[int(i)] for i in order]


def interleave(lists: Iterable[tuple[list[Candidate], float]]) -> list[Candidate]:
    """Weighted round-robin over ranked lists, first occurrence of a piece wins."""
    queues = [(list(items), weight) for items, weight in lists if items and weight > 0]
    taken = [0.0] * len(queues)
    cursors = [0] * len(queues)
    seen: set[int] = set()
    out: list[Candidate] = []
    while True:
        live = [i for i, (items, _) in enumerate(queues) if cursors[i] < len(items)]
        if not live:
            return out
        i = min(live, key=lambda j: (taken[j] + 1) / queues[j][1])
        items, _ = queues[i]
        cand = items[cursors[i]]
        cursors[i] += 1
        taken[i] += 1
        if cand.track_id not in seen:
            seen.add(cand.track_id)
            out.append(cand)


def diversify(ctx: FeedContext, items: list[Candidate]) -> list[Candidate]:
    """Reorder so no composer or collection runs longer than ``MAX_RUN`` when avoidable."""
    pending = list(items)
    out: list[Candidate] = []

    def keys(c: Candidate) -> tuple[object, object]:
        info = ctx.index.info(c.track_id)
        if info is None:
            return ("own", c.track_id), ("own", c.track_id)
        return ("a", info.artist_id or -c.track_id), ("c", info.collection_id or -c.track_id)

    key_of = {c.track_id: keys(c) for c in items}  # looked up again and again below
    while pending:
        tail = [key_of[c.track_id] for c in out[-MAX_RUN:]]
        pick = 0
        if len(tail) == MAX_RUN:
            run_artist = tail[0][0] if all(t[0] == tail[0][0] for t in tail) else None
            run_coll = tail[0][1] if all(t[1] == tail[0][1] for t in tail) else None
            for j, cand in enumerate(pending[:LOOKAHEAD]):
                artist, coll = key_of[cand.track_id]
                if artist != run_artist and coll != run_coll:
                    pick = j
                    break
        out.append(pending.pop(pick))
    return out


def place_made_for_you(items: list[Candidate], mine: list[Candidate]) -> list[Candidate]:
    """Put the listener's generated pieces at positions 2, 10, 18, ..."""
    mine_ids = {c.track_id for c in mine}
    rest = [c for c in items if c.track_id not in mine_ids]
    for n, cand in enumerate(mine):
        rest.insert(min(len(rest), 1 + n * MADE_FOR_YOU_EVERY), cand)
    return rest
