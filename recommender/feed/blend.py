"""Blending the sources into one feed: penalties, weighted interleaving, variety.

1. Each source's candidates are re-scored: pieces the listener hid or disliked are dropped,
   pieces very like a disliked one and recently skipped ones are halved, and a piece shown many
   times without being played sinks (``SINK_BASE ** (times shown - 1)``).
2. Sources are interleaved by weight (a source with weight 3 gives three items for every one of
   a weight-1 source), each in its own order; the first source to propose a piece names its
   reason. Each title once (``drop_copies``): two pieces with one title are copies of a tune,
   and none is offered again right after the listener played or rated its twin.
3. Variety: no more than ``MAX_RUN`` pieces in a row by one composer or from one collection
   (relaxed only when nothing else is left). "Made for you" pieces go near the top.
4. A new listener's first page holds a piece of each of their specific picks (``cover_picks``).
5. Reasons that name a piece ("Because you played X") name one like the recommended piece:
   same collection, same composer, or its closest neighbour by content; the most similar one,
   and none more than ``ANCHOR_MOST`` times a page (``explain_anchors``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

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


def drop_copies(ctx: FeedContext, items: list[Candidate]) -> list[Candidate]:
    """Each title once, and none the listener just played or rated: two pieces with one title
    are copies of one tune (or the same piece imported twice), a piece shown twice."""
    index = ctx.index
    known = {*ctx.recent_plays[:RECENT_TITLES], *ctx.ratings}
    seen = {info.title_key for tid in known if (info := index.info(tid)) is not None}
    out = []
    for cand in items:
        info = index.info(cand.track_id)
        if info is not None and info.title_key:
            if info.title_key in seen:
                continue
            seen.add(info.title_key)
        out.append(cand)
    return out


def cover_picks(ctx: FeedContext, items: list[Candidate], page: int) -> list[Candidate]:
    """A new listener's first ``page`` items hold a piece of each of their specific picks
    (where the feed has one): a piece of a pick left out takes the place of the page's last
    item that no pick needs, which moves just below the page."""
    specific = ctx.picks.specific()
    if not specific:
        return items
    index = ctx.index
    members = {pick: {int(index.ids[row]) for row in index.members(*pick)} for pick in specific}
    head, tail = list(items[:page]), list(items[page:])
    for ids in members.values():
        if any(c.track_id in ids for c in head):
            continue
        found = next((j for j, c in enumerate(tail) if c.track_id in ids), None)
        if found is None:
            continue
        victim = _spare(head, members)
        if victim is None:
            break
        moved = head[victim]
        head[victim] = tail.pop(found)
        tail.insert(0, moved)
    return head + tail


def _spare(head: list[Candidate], members: dict) -> int | None:
    """The last item of ``head`` no pick needs: not the listener's own piece, not the only
    piece of a pick; one the picks did not bring rather than one they did."""
    covering: dict[int, int] = {}
    for ids in members.values():
        holders = [i for i, c in enumerate(head) if c.track_id in ids]
        if len(holders) == 1:
            covering[holders[0]] = 1
    for wanted in (lambda c: c.source != "picks", lambda c: True):
        for i in range(len(head) - 1, -1, -1):
            cand = head[i]
            if cand.source != "made_for_you" and i not in covering and wanted(cand):
                return i
    return None


ANCHORED = ("because_you_played", "because_you_liked", "because_you_rated")
ANCHOR_PAGE = 12  # no anchor is named more than ANCHOR_MOST times in a page of this many
ANCHOR_MOST = 3
ANCHOR_RATED = 50  # at most this many liked or well-rated pieces are considered as anchors
NEIGHBOUR_DEPTH = 60  # below this, a piece is not looked up for its closest neighbour
RECENT_TITLES = 30


def _anchors(ctx: FeedContext) -> list[tuple[int, str, str]]:
    """The pieces a reason may name, each with the reason it gives: liked, rated 4-5★, played."""
    out: dict[int, tuple[str, str]] = {}
    rated = [(t, r) for t, r in ctx.ratings.items() if r[1] or (r[0] or 0) >= 4]
    for tid, (stars, liked) in rated[-ANCHOR_RATED:]:
        title = ctx.title(tid)
        if liked:
            out[tid] = ("because_you_liked", f"Because you liked {title}")
        else:
            out[tid] = ("because_you_rated", f"Because you gave {title} {stars}★")
    for tid in ctx.recent_plays[:RECENT_TITLES]:
        out.setdefault(tid, ("because_you_played", f"Because you played {ctx.title(tid)}"))
    return [(tid, code, text) for tid, (code, text) in out.items() if tid in ctx.index.row_of]


def explain_anchors(ctx: FeedContext, items: list[Candidate]) -> list[Candidate]:
    """Name, for each piece recommended because of another, a piece that is like it: in its
    collection, by its composer, or its closest neighbour by content; the most similar such
    one, no one more than ``ANCHOR_MOST`` times a page. Without one, the reason names no piece
    ("Picked for your taste")."""
    index = ctx.index
    positions = [i for i, c in enumerate(items) if c.reason_code in ANCHORED]
    if not positions:
        return items
    anchors = _anchors(ctx)
    out = list(items)
    known = [i for i in positions if items[i].track_id in index.row_of]
    for i in set(positions) - set(known):
        out[i] = _unanchored(ctx, items[i], [])
    if not known:
        return out
    ids = [items[i].track_id for i in known]
    look_closer = [i < NEIGHBOUR_DEPTH for i in known]
    related, sims = _relations(ctx, ids, [a for a, _, _ in anchors], look_closer)
    # Each piece's similar anchors, most similar first (the unrelated ones are left out).
    order = np.argsort(np.where(related, -sims, np.inf), axis=1, kind="stable")
    count = related.sum(axis=1)
    where = {tid: n for n, (tid, _, _) in enumerate(anchors)}
    uses: dict[tuple[int, int], int] = {}
    for j, pos in enumerate(known):
        page = pos // ANCHOR_PAGE
        # The source's own anchor when it holds (its words: "played" for what comes next),
        # else the most similar one.
        anchor = items[pos].anchor
        own = where.get(anchor) if anchor is not None else None
        if own is not None and related[j, own] and uses.get((page, own), 0) < ANCHOR_MOST:
            uses[(page, own)] = uses.get((page, own), 0) + 1
            continue
        choice = None
        for a in order[j, : count[j]].tolist():
            if uses.get((page, a), 0) < ANCHOR_MOST:
                choice = a
                break
        if choice is None:
            alike = [anchors[a][0] for a in order[j, : count[j]].tolist()]
            out[pos] = _unanchored(ctx, items[pos], alike)
            continue
        uses[(page, choice)] = uses.get((page, choice), 0) + 1
        _, code, text = anchors[choice]
        if (code, text) != (items[pos].reason_code, items[pos].reason_text):
            out[pos] = replace(items[pos], reason_code=code, reason_text=text)
    return out


def _relations(
    ctx: FeedContext, ids: list[int], anchors: list[int], look_closer: list[bool]
) -> tuple[np.ndarray, np.ndarray]:
    """(whether each piece may name each anchor, their similarity), pieces by anchors."""
    index = ctx.index
    if not anchors:
        return np.zeros((len(ids), 0), bool), np.zeros((len(ids), 0), np.float32)
    infos = [index.infos[index.row_of[t]] for t in ids]  # every one is indexed
    a_infos = [index.infos[index.row_of[t]] for t in anchors]

    def column(values: list, missing: int) -> np.ndarray:
        return np.array([missing if v is None else v for v in values], dtype=np.int64)

    coll = column([i.collection_id for i in infos], -1)
    art = column([i.artist_id for i in infos], -1)
    a_coll = column([i.collection_id for i in a_infos], -2)
    a_art = column([i.artist_id for i in a_infos], -2)
    related = (coll[:, None] == a_coll[None, :]) | (art[:, None] == a_art[None, :])
    lonely = [j for j in np.flatnonzero(~related.any(axis=1)) if look_closer[j]]
    if lonely:
        where = {a: n for n, a in enumerate(anchors)}
        closest = index.closest([ids[j] for j in lonely])
        for j in lonely:
            n = where.get(closest.get(ids[j], -1))
            if n is not None:
                related[j, n] = True
    code: dict[str, int] = {}
    titles = column([code.setdefault(i.title_key, len(code)) for i in infos], -1)
    a_titles = column([code.setdefault(i.title_key, len(code)) for i in a_infos], -2)
    related &= titles[:, None] != a_titles[None, :]  # another copy of the tune is no reason
    related &= np.array(ids)[:, None] != np.array(anchors)[None, :]
    sims = index.vector_of(ids) @ index.vector_of(anchors).T
    return related, sims


def _unanchored(ctx: FeedContext, cand: Candidate, alike: list[int]) -> Candidate:
    """The reason of a piece no anchor can name (each like it is named enough on its page)."""
    info = ctx.index.info(cand.track_id)
    if alike and info is not None and info.collection_id is not None:
        played = set(ctx.recent_plays[:RECENT_TITLES])
        name = ctx.index.collection_names.get(info.collection_id, "")
        same = {
            a for a in alike if (o := ctx.index.info(a)) and o.collection_id == info.collection_id
        }
        if name and same & played:
            text = f"More from {name}, which you play"
            return replace(cand, reason_code="for_you", reason_text=text)
    return replace(cand, reason_code="for_you", reason_text="Picked for your taste")
