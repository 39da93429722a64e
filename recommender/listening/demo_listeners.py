"""Demo listeners with distinct tastes, so a fresh site has a mature feed to look at.

Each demo listener is a real account, clearly labelled (``demo-...`` username, ``Profile.is_demo``)
with a listening history drawn from one taste in the demo catalog: mostly their favourite
collection, some of a neighbouring one, a few stray pieces they skipped; likes and ratings on
favourites. Histories go through the listening service like any client's reports. Benchmarks and
offline metrics must leave ``is_demo`` listeners out.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.demo_mode import demo_mode_require
from accounts.models import Profile
from catalog.models import Collection, Track
from recommender.listening.reports import ListenReport
from recommender.listening.services import listens_record, rating_set
from recommender.models import ListenEvent

logger = logging.getLogger(__name__)

LISTENS_PER_DEMO = 160


@dataclass(frozen=True)
class DemoTaste:
    username: str
    label: str
    favourite: tuple[str, ...]  # words matched against collection names and tag slugs
    also: tuple[str, ...]

    @property
    def password(self) -> str:
        return f"listen-as-{self.username}"


TASTES = (
    DemoTaste("demo-chorales", "loves Bach chorales", ("chorale",), ("renaissance", "madrigal")),
    DemoTaste("demo-irish-folk", "loves Irish folk", ("irish", "o'neill"), ("fiddle", "ryan")),
    DemoTaste("demo-german-songs", "loves German folk songs", ("essen", "german"), ("song",)),
)


@dataclass(frozen=True)
class SeededListener:
    username: str
    password: str
    label: str
    listens: int
    created: bool


def _matching(words: tuple[str, ...]) -> list[int]:
    q = Q()
    for word in words:
        q |= Q(collection__name__icontains=word) | Q(tags__slug__icontains=word)
    ids = Track.objects.visible_to(None).filter(q).values_list("pk", flat=True).distinct()
    return sorted(ids)


def _reports(track_ids: list[int], durations: dict[int, float], *, skipped: set[int], rng):
    now = timezone.now()
    reports = []
    for i, tid in enumerate(track_ids):
        started = now - timedelta(days=30) + timedelta(minutes=i * 240 + rng.randint(0, 60))
        duration_ms = int(durations[tid] * 1000)
        if tid in skipped:
            kind, played = "skip", min(duration_ms, rng.randint(3_000, 12_000))
        else:
            kind, played = "complete", duration_ms
        reports.append(
            ListenReport(
                index=i,
                client_event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"demo:{tid}:{i}"),
                track_id=tid,
                type=kind,
                started_at=min(started, now - timedelta(minutes=1)),
                position_ms=played,
                played_ms=played,
                context="feed",
            )
        )
    return reports


def demo_listener_seed(taste: DemoTaste, *, seed: int = 0) -> SeededListener | None:
    """Create one demo listener and their history (once); None if the catalog lacks the taste."""
    favourite = _matching(taste.favourite)
    if len(favourite) < 10:
        logger.info("demo listener %s skipped: no matching pieces", taste.username)
        return None
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=taste.username, defaults={"email": f"{taste.username}@example.com"}
    )
    if created:
        user.set_password(taste.password)
        user.save(update_fields=["password"])
    with transaction.atomic():
        profile, _ = Profile.objects.get_or_create(user=user)
        profile.is_demo = True
        profile.onboarded_at = profile.onboarded_at or timezone.now()
        profile.save(update_fields=["is_demo", "onboarded_at", "updated_at"])
        collections = Collection.objects.filter(tracks__pk__in=favourite[:200]).distinct()
        profile.collections.set(collections[:3])
    existing = ListenEvent.objects.filter(user=user).count()
    if existing:
        return SeededListener(taste.username, taste.password, taste.label, existing, False)

    rng = random.Random(f"{taste.username}:{seed}")
    also = [t for t in _matching(taste.also) if t not in set(favourite)]
    others = list(
        Track.objects.visible_to(None).exclude(pk__in=favourite).values_list("pk", flat=True)[:500]
    )
    core = rng.sample(favourite, min(len(favourite), 40))  # their favourites, played often
    # Zipf-like: the best-loved piece gets about a tenth of the favourites' plays, not half.
    weights = [1 / (rank + 1) ** 0.8 for rank in range(len(core))]
    picks: list[int] = []
    stray: set[int] = set()
    for _ in range(LISTENS_PER_DEMO):
        roll = rng.random()
        if roll < 0.78:
            picks.append(rng.choices(core, weights)[0])
        elif roll < 0.93 and also:
            picks.append(rng.choice(also))
        elif others:
            tid = rng.choice(others)
            picks.append(tid)
            stray.add(tid)
        else:
            picks.append(rng.choice(favourite))
    durations = dict(Track.objects.filter(pk__in=set(picks)).values_list("pk", "duration_seconds"))
    listens_record(user=user, reports=_reports(picks, durations, skipped=stray, rng=rng))
    for tid in core[:8]:
        rating_set(user=user, track=Track.objects.get(pk=tid), stars=5, liked=True)
    for tid in list(stray)[:3]:
        rating_set(user=user, track=Track.objects.get(pk=tid), stars=2)
    return SeededListener(taste.username, taste.password, taste.label, len(picks), True)


def demo_listeners_seed(*, seed: int = 0) -> list[SeededListener]:
    """Seed every demo taste the catalog supports; safe to run again (nothing is duplicated).

    Demo mode only (``DemoModeOff`` otherwise): their passwords are published."""
    demo_mode_require(what="A demo listener")
    return [s for taste in TASTES if (s := demo_listener_seed(taste, seed=seed)) is not None]
