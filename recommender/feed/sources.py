"""Candidate sources of the feed. Each returns ranked ``Candidate``s that carry their reason.

A source is a function ``(ctx: FeedContext, k: int) -> list[Candidate]``. The model-backed
sources (``next``: the sequence model; ``taste``: matrix factorisation) ask a *provider*
registered with :func:`register_provider` (by ``RecommenderConfig.ready``, from
``recommender.training.serving``) and fall back to content similarity when no trained model is
active, so the feed works on a fresh machine.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from accounts.models import TempoRange
from recommender.feed.context import FeedContext, popularity_ranked

logger = logging.getLogger(__name__)

# "New": added in the last NEW_DAYS, and at least a day after the older half of the catalog
# (right after the first import every piece is recent, and none of them is news).
NEW_DAYS = 7


# The closed sets a feed item's ``source`` and ``reason_code`` come from (the API's enums).
SOURCES = ("next", "taste", "picks", "fresh", "popular", "made_for_you")
REASON_CODES = (
    "because_you_played",
    "because_you_liked",
    "because_you_rated",
    "because_you_chose",
    "for_you",
    "new",
    "popular_in",
    "popular",
    "made_for_you",
)


@dataclass(frozen=True, slots=True)
class Candidate:
    track_id: int
    score: float
    source: str
    reason_code: str
    reason_text: str
    anchor: int | None = None  # the piece the reason names, if it names one


# A provider answers (user_id, recent_plays, k) -> [(track_id, score), ...] or [] if it can't.
Provider = Callable[[int, list[int], int], list[tuple[int, float]]]
_providers: dict[str, Provider] = {}


def register_provider(kind: str, provider: Provider) -> None:
    """Plug a trained model into the ``next`` (sequence) or ``taste`` (MF) source."""
    _providers[kind] = provider


def _from_provider(kind: str, ctx: FeedContext, k: int) -> list[tuple[int, float]]:
    provider = _providers.get(kind)
    if provider is None:
        return []
    try:
        return provider(ctx.user_id, ctx.recent_plays, k)
    except Exception:  # a broken model must not take the feed down
        logger.exception("feed provider %s failed for user %s", kind, ctx.user_id)
        return []


def next_source(ctx: FeedContext, k: int) -> list[Candidate]:
    """What comes next after what the listener just played."""
    if not ctx.recent_plays:
        return []
    last = ctx.recent_plays[0]
    reason = ("because_you_played", f"Because you played {ctx.title(last)}")
    modelled = _from_provider("next", ctx, k)
    if modelled:
        vec = ctx.index.vector_of([last])
        content = ctx.index.nearest(vec[0], k // 2, exclude={last}) if len(vec) else []
        ranked = _hybrid(ctx, modelled, content, vec[0] if len(vec) else None)
        return [Candidate(t, s, "next", *reason, anchor=last) for t, s in ranked[:k]]
    out: list[Candidate] = []
    exclude = set(ctx.recent_plays[:30])
    for weight, anchor in zip((1.0, 0.75, 0.55), ctx.recent_plays[:3], strict=False):
        vec = ctx.index.vector_of([anchor])
        if not len(vec):
            continue
        text = f"Because you played {ctx.title(anchor)}"
        for tid, sim in ctx.index.nearest(vec[0], k // 2, exclude=exclude | {anchor}):
            out.append(Candidate(tid, sim * weight, "next", "because_you_played", text, anchor))
    out.sort(key=lambda c: -c.score)
    return out[:k]


def taste_source(ctx: FeedContext, k: int) -> list[Candidate]:
    """Long-term taste: matrix factorisation when trained, else the taste profile's neighbours."""
    weights = ctx.taste_weights()
    anchors = [t for t, w in sorted(weights.items(), key=lambda x: -x[1]) if w > 0][:8]
    modelled = _from_provider("taste", ctx, k)
    vec = ctx.index.profile_vector(weights)
    if modelled:
        content = (
            ctx.index.nearest(vec, k // 2, exclude=set(ctx.recent_plays[:30]))
            if (vec is not None)
            else []
        )
        ranked = _hybrid(ctx, modelled, content, vec)[:k]
        return _explain(ctx, [t for t, _ in ranked], [s for _, s in ranked], anchors, "taste")
    if vec is None:
        return []
    near = ctx.index.nearest(vec, k, exclude=set(ctx.recent_plays[:30]))
    return _explain(ctx, [t for t, _ in near], [s for _, s in near], anchors, "taste")


MODEL_SHARE = 0.5  # how much of a hybrid score is the model's rank (the rest: content)


def _hybrid(
    ctx: FeedContext,
    modelled: list[tuple[int, float]],
    content: list[tuple[int, float]],
    vec: np.ndarray | None,
) -> list[tuple[int, float]]:
    """Model candidates re-ranked with content similarity, plus the best content neighbours.

    A model trained on little data (a fresh site, a few demo listeners) can rank noise first;
    half the score from what the piece sounds like keeps the feed sensible until it learns.
    """
    n = max(1, len(modelled))
    score = {t: MODEL_SHARE * (1.0 - r / n) for r, (t, _) in enumerate(modelled)}
    for t, _ in content:
        score.setdefault(t, 0.0)
    ids = list(score)
    if vec is not None:
        known = [t for t in ids if t in ctx.index.row_of]
        sims = ctx.index.vector_of(known) @ vec if known else []
        for t, sim in zip(known, sims, strict=True):
            score[t] += (1.0 - MODEL_SHARE) * float(sim)
    return sorted(score.items(), key=lambda x: -x[1])


def _explain(
    ctx: FeedContext, ids: list[int], scores: list[float], anchors: list[int], source: str
) -> list[Candidate]:
    """Reason each candidate by the liked or played piece it is most similar to."""
    anchor_vecs = ctx.index.vector_of(anchors)
    anchors = [a for a in anchors if a in ctx.index.row_of]
    out = []
    cand_vecs = ctx.index.vector_of(ids)
    known = [t for t in ids if t in ctx.index.row_of]
    best: dict[int, int] = {}
    if len(anchor_vecs) and len(cand_vecs):
        sims = cand_vecs @ anchor_vecs.T
        best = {tid: anchors[int(np.argmax(sims[i]))] for i, tid in enumerate(known)}
    for tid, score in zip(ids, scores, strict=True):
        anchor = best.get(tid)
        if anchor is None:
            out.append(Candidate(tid, score, source, "for_you", "Picked for your taste"))
            continue
        stars, liked = ctx.ratings.get(anchor, (None, False))
        if liked:
            code, text = "because_you_liked", f"Because you liked {ctx.title(anchor)}"
        elif (stars or 0) >= 4:
            code, text = "because_you_rated", f"Because you gave {ctx.title(anchor)} {stars}★"
        else:
            code, text = "because_you_played", f"Because you played {ctx.title(anchor)}"
        out.append(Candidate(tid, score, source, code, text, anchor))
    return out


# A tempo band's pieces come this often against one from each specific pick: a broad pick
# ("moderate") must not swamp the specific ones (a collection, a composer, a tag).
BROAD_WEIGHT = 0.25
TEMPO_BONUS = 1.0  # a specific pick's pieces in the listener's tempo come first
OVERLAP_BONUS = 0.5  # per other specific pick a piece also matches
Queue = tuple[list[tuple[int, str]], float]  # (pieces with their reason, weight)


def picks_source(ctx: FeedContext, k: int) -> list[Candidate]:
    """Pieces of what the listener chose at onboarding: each specific pick in turn (the
    narrowest first), a tempo band's pieces now and then; within a pick the most played first,
    in the listener's tempo first, with a stable per-listener shuffle among equals."""
    picks = ctx.picks
    if not picks:
        return []
    index = ctx.index
    specific = picks.specific()
    names = {"collection": index.collection_names, "composer": index.artist_names}
    matched: dict[int, int] = {}  # row -> how many specific picks it matches
    members = {pick: index.members(*pick) for pick in specific}
    for rows in members.values():
        for row in rows:
            matched[row] = matched.get(row, 0) + 1

    def score(row: int) -> float:
        info = index.infos[row]
        jitter = ((info.id * 2654435761 + ctx.user_id * 40503) % 1000) / 1000.0
        value = float(np.log1p(ctx.popularity.get(info.id, 0.0))) + jitter
        if picks.tempo_ranges and picks.tempo_match(info.tempo_bpm):
            value += TEMPO_BONUS
        return value + OVERLAP_BONUS * (matched.get(row, 1) - 1)

    queues: list[Queue] = []
    for (kind, key), rows in sorted(members.items(), key=lambda m: len(m[1])):
        if not rows:
            continue
        text = f"Because you chose {names.get(kind, index.tag_names).get(key, '')}"
        best = heapq.nlargest(k, rows, key=score)
        queues.append(([(index.infos[r].id, text) for r in best], 1.0))
    if picks.tempo_ranges:
        labels = dict(TempoRange.choices)
        broad = [
            (row, band)
            for row, info in enumerate(index.infos)
            if row not in matched and (band := picks.tempo_match(info.tempo_bpm))
        ]
        best_broad = heapq.nlargest(k, broad, key=lambda rb: score(rb[0]))
        queues.append(
            (
                [
                    (index.infos[row].id, f"Because you chose {_band_label(labels, band)} pieces")
                    for row, band in best_broad
                ],
                BROAD_WEIGHT if queues else 1.0,
            )
        )
    merged = _round_robin(queues, k)
    return [
        Candidate(tid, float(k - n), "picks", "because_you_chose", text)
        for n, (tid, text) in enumerate(merged)
    ]


def _band_label(labels: dict, band: str) -> str:
    return str(labels[band]).split(" (")[0].lower()


def _round_robin(queues: list[Queue], k: int) -> list[tuple[int, str]]:
    """Weighted turns over the queues (a weight-1 queue gives four items for a weight-0.25
    one's one), each piece once, at most ``k``."""
    cursors = [0] * len(queues)
    taken = [0.0] * len(queues)
    seen: set[int] = set()
    out: list[tuple[int, str]] = []
    while len(out) < k:
        live = [i for i, (items, _) in enumerate(queues) if cursors[i] < len(items)]
        if not live:
            break
        i = min(live, key=lambda j: ((taken[j] + 1) / queues[j][1], j))
        tid, text = queues[i][0][cursors[i]]
        cursors[i] += 1
        if tid in seen:
            continue  # another pick's turn gave it already; this pick takes its next
        seen.add(tid)
        taken[i] += 1
        out.append((tid, text))
    return out


def new_since(index) -> float:
    """The moment after which a piece of ``index`` counts as "New" (see ``NEW_DAYS``)."""
    median = _cached(
        ("median_created", id(index)),
        lambda: float(np.median([i.created_ts for i in index.infos])) if index.infos else 0.0,
    )
    return max(time.time() - NEW_DAYS * 86400, median + 86400)


def fresh_source(ctx: FeedContext, k: int) -> list[Candidate]:
    """New pieces the listener has not met yet, and pieces nobody has played yet, that
    resemble the listener's taste."""
    index = ctx.index
    cutoff = new_since(index)
    met = {*ctx.recent_plays, *ctx.recent_skips, *ctx.shown, *ctx.ratings}
    unplayed = _cached(
        ("unplayed", id(index), id(ctx.popularity)),
        lambda: {i.id for i in index.infos if i.id not in ctx.popularity},
    )
    recent = _cached(
        ("recent", id(index), int(cutoff // 3600)),
        lambda: {i.id for i in index.infos if i.created_ts >= cutoff},
    )
    new = recent - met
    fresh = sorted(new | unplayed)
    if not fresh:
        return []
    weights = ctx.taste_weights()
    vec = index.profile_vector(weights)
    if vec is None and ctx.picks:
        picked = {row for pick in ctx.picks.specific() for row in index.members(*pick)}
        vec = index.profile_vector({index.infos[row].id: 1.0 for row in picked})
    vecs = index.vector_of(fresh)
    scores = vecs @ vec if vec is not None else np.zeros(len(fresh))
    order = np.argsort(-scores, kind="stable")[:k]
    out = []
    for row in order:
        tid = fresh[int(row)]
        text = "New" if tid in new else "New to everyone: nobody has played it yet"
        out.append(Candidate(tid, float(scores[row]), "fresh", "new", text))
    return out


def popular_source(ctx: FeedContext, k: int) -> list[Candidate]:
    """What others play most: in the listener's favourite collection, then overall."""
    index = ctx.index
    counts: dict[int, float] = {}
    for tid in ctx.recent_plays[:100]:
        info = index.info(tid)
        if info and info.collection_id:
            counts[info.collection_id] = counts.get(info.collection_id, 0.0) + 1.0
    for cid in ctx.picks.collections:
        counts[cid] = counts.get(cid, 0.0) + 5.0
    favourite = max(counts, key=counts.__getitem__) if counts else None
    ranked = popularity_ranked()
    out: list[Candidate] = []
    if favourite is not None:
        name = index.collection_names.get(favourite, "")
        by_collection = _cached(("popular_in", id(index), id(ranked)), lambda: _by_collection(ctx))
        for tid, plays in by_collection.get(favourite, [])[: k // 2]:
            out.append(Candidate(tid, plays, "popular", "popular_in", f"Popular in {name}"))
    taken = {c.track_id for c in out}
    for tid, plays in ranked:
        if len(out) >= k:
            break
        if tid not in taken and tid in index.row_of:
            out.append(Candidate(tid, plays, "popular", "popular", "Popular right now"))
    return out


_memo: dict[tuple, object] = {}


def _cached(key: tuple, compute):
    """Per-process memo of catalog-wide lists (keyed by the index and popularity they use)."""
    value = _memo.get(key)
    if value is None:
        if len(_memo) > 32:
            _memo.clear()
        value = _memo[key] = compute()
    return value


def _by_collection(ctx: FeedContext) -> dict[int, list[tuple[int, float]]]:
    out: dict[int, list[tuple[int, float]]] = {}
    for tid, plays in popularity_ranked():
        info = ctx.index.info(tid)
        if info and info.collection_id:
            bucket = out.setdefault(info.collection_id, [])
            if len(bucket) < 200:
                bucket.append((tid, plays))
    return out


def made_for_you_source(ctx: FeedContext, k: int) -> list[Candidate]:
    """The listener's own generated pieces they have not played yet, newest first, each with
    the reason its song's page gives."""
    played = set(ctx.recent_plays) | ctx.hidden
    return [
        Candidate(
            tid, 1.0, "made_for_you", "made_for_you", ctx.generated_reasons.get(tid, "Made for you")
        )
        for tid, _ in ctx.generated
        if tid not in played
    ][:k]
