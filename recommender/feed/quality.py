"""Measures of the feed's quality for new listeners (``bench/feed_picks.py`` and its test).

Two questions, asked of simulated listeners (issue 19):

- *Coverage*: does a new listener's first page hold at least one piece of each of their
  *specific* onboarding picks (a collection, a composer, a tag such as "string quartet")? The
  broad pick, a tempo band, is not asked for: it matches a third of the catalog.
- *Anchors that hold*: a reason that names a piece ("Because you played X", "liked X", "gave X
  5★") must name one that is actually like the recommended piece: the same collection, the same
  composer, or each other's closest neighbour by content (``catalog_index().nearest``).

Nothing here changes the feed; the feed's own rules live in ``sources`` and ``blend``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from recommender.feed.blend import ANCHORED  # the reason codes that name a piece
from recommender.feed.content import CatalogIndex
from recommender.feed.context import Picks

T = TypeVar("T")
_ANCHOR_RE = re.compile(r"^Because you (?:played|liked|gave) (?P<title>.+?)(?: [1-5]★)?$")


@dataclass(frozen=True)
class Pick:
    """One specific onboarding pick: ``kind`` is ``collection``, ``composer`` or ``tag``."""

    kind: str
    id: int
    name: str


def specific_picks(picks: Picks, index: CatalogIndex) -> list[Pick]:
    """The listener's specific picks (everything but tempo bands), named."""
    return [
        *(Pick("collection", i, index.collection_names.get(i, "")) for i in picks.collections),
        *(Pick("composer", i, index.artist_names.get(i, "")) for i in picks.artists),
        *(Pick("tag", i, index.tag_names.get(i, "")) for i in picks.tags),
    ]


def pick_matches(index: CatalogIndex, track_id: int, pick: Pick) -> bool:
    info = index.info(track_id)
    if info is None:
        return False
    if pick.kind == "collection":
        return info.collection_id == pick.id
    if pick.kind == "composer":
        return info.artist_id == pick.id
    return pick.id in info.tag_ids


def closest(index: CatalogIndex, track_id: int) -> int | None:
    """The public piece most like ``track_id`` by content (brute force; not the feed's memo)."""
    vec = index.vector_of([track_id])
    if not len(vec):
        return None
    near = index.nearest(vec[0], 1, exclude={track_id})
    return near[0][0] if near else None


def anchor_holds(index: CatalogIndex, anchor: int, track_id: int) -> bool:
    """Whether ``anchor`` is like ``track_id``: same collection, same composer, or one is the
    other's closest content neighbour."""
    a, b = index.info(anchor), index.info(track_id)
    if a is None or b is None:
        return False
    if a.collection_id is not None and a.collection_id == b.collection_id:
        return True
    if a.artist_id is not None and a.artist_id == b.artist_id:
        return True
    return closest(index, track_id) == anchor or closest(index, anchor) == track_id


def anchor_title(reason_text: str) -> str | None:
    """The title a reason names ("Because you gave Wachet auf 5★" -> "Wachet auf")."""
    match = _ANCHOR_RE.match(reason_text)
    return match.group("title") if match else None


@dataclass
class PageVerdict:
    """What one listener's page says about the two questions."""

    picks: int = 0  # specific picks
    covered: int = 0  # of them, with a piece on the page
    matching_items: int = 0  # items of the page matching some specific pick
    items: int = 0
    anchored: int = 0  # reasons naming a piece
    holding: int = 0  # of them, naming one that is like the item
    holding_strict: int = 0  # ... by collection or closest neighbour only (not composer)
    same_title: int = 0  # anchors that are another copy of the same title
    top_anchor: int = 0  # how many reasons name the most named anchor
    duplicates: int = 0  # pieces (or titles) shown twice on the page
    uncovered: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def judge_page(
    index: CatalogIndex,
    picks: Picks,
    items: list[tuple[int, str, str]],
    history: dict[str, list[int]],
) -> PageVerdict:
    """Judge ``items`` ((track id, reason code, reason text) in page order) of a listener with
    ``picks``, whose played, liked and rated pieces are ``history`` (title -> ids)."""
    verdict = PageVerdict(items=len(items))
    ids = [tid for tid, _, _ in items]
    specific = specific_picks(picks, index)
    verdict.picks = len(specific)
    for pick in specific:
        if any(pick_matches(index, tid, pick) for tid in ids):
            verdict.covered += 1
        else:
            verdict.uncovered.append(f"{pick.kind} {pick.name}")
    verdict.matching_items = sum(
        1 for tid in ids if any(pick_matches(index, tid, p) for p in specific)
    )
    infos = [index.info(t) for t in ids]
    titles = [info.title if info else str(t) for info, t in zip(infos, ids, strict=True)]
    verdict.duplicates = len(ids) - len(set(ids)) + len(titles) - len(set(titles))
    named: dict[str, int] = {}
    for tid, code, text in items:
        if code not in ANCHORED:
            continue
        title = anchor_title(text)
        verdict.anchored += 1
        if title is None:
            verdict.failures.append(f"unparsed reason {text!r}")
            continue
        named[title] = named.get(title, 0) + 1
        anchors = history.get(title, [])
        info = index.info(tid)
        if info is not None and info.title == title:
            verdict.same_title += 1
        if any(anchor_holds(index, a, tid) for a in anchors):
            verdict.holding += 1
            a_infos = [index.info(a) for a in anchors]
            if any(
                (ai is not None and info is not None and ai.collection_id == info.collection_id)
                or closest(index, tid) == a
                or closest(index, a) == tid
                for a, ai in zip(anchors, a_infos, strict=True)
            ):
                verdict.holding_strict += 1
        else:
            verdict.failures.append(
                f"{text!r} on {info.title if info else tid!r}"
                + ("" if anchors else " (not in the history)")
            )
    verdict.top_anchor = max(named.values(), default=0)
    return verdict


def sample_picks(
    rng: random.Random,
    *,
    collections: Sequence[T],
    composers: Sequence[T],
    tags: Sequence[T],
    tempo_ranges: Sequence[str],
) -> dict[str, list[Any]]:
    """Random onboarding picks as a listener makes them: 0-3 collections, 0-2 composers, 0-3
    tags, 0-2 tempo bands, at least one pick."""
    while True:
        picked: dict[str, list[Any]] = {
            "collections": rng.sample(collections, rng.randint(0, min(3, len(collections)))),
            "composers": rng.sample(composers, rng.randint(0, min(2, len(composers)))),
            "tags": rng.sample(tags, rng.randint(0, min(3, len(tags)))),
            "tempo_ranges": rng.sample(tempo_ranges, rng.randint(0, min(2, len(tempo_ranges)))),
        }
        if any(picked.values()):
            return picked
