"""Onboarding: the tastes a new listener picks so their first feed is already theirs.

Selectors read the choices offered and a listener's profile; services store the picks (or the
decision to skip). New picks are announced to the listening hub (``hub.tastes_changed``), whose
subscriber, the feed, marks itself stale so the next page is built from them.

The picks are named as the API and the page name them (``collections``, ``composers``, ``tags``,
``tempo_ranges``); this module alone maps ``composers`` to the ``Artist`` rows and
``Profile.artists``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Profile, TempoRange
from catalog import selectors
from catalog.models import MAX_ID, Artist, Collection, Tag, Track
from recommender.listening import hub

MAX_PICKS = 30
TOP_COMPOSERS = 24


class OnboardingError(ValueError):
    """Picks that cannot be stored; ``fields`` names what was wrong."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class OnboardingChoices:
    collections: list[Collection]
    composers: list[Artist]
    tags: list[Tag]
    tempo_ranges: list[tuple[str, str]]


def onboarding_choices() -> OnboardingChoices:
    """Collections, composers (most pieces first) and tags that have public pieces."""
    collections = list(selectors.collections_visible_to(None).order_by("name"))
    public = Q(tracks__in=Track.objects.visible_to(None))
    composers: list[Artist] = list(
        selectors.composers_visible_to(None)
        .annotate(n=Count("tracks", filter=public))
        .order_by("-n", "name")[:TOP_COMPOSERS]
    )
    tags = list(selectors.tags_visible_to(None).order_by("name"))
    return OnboardingChoices(collections, composers, tags, list(TempoRange.choices))


def profile_for(user) -> Profile | None:
    """``user``'s profile with their picks, or None before onboarding."""
    if user is None or not user.is_authenticated:
        return None
    return (
        Profile.objects.filter(user=user).prefetch_related("collections", "artists", "tags").first()
    )


def onboarding_picks(profile: Profile | None) -> dict[str, list[str]]:
    """The slugs (and tempo ranges) ``profile`` picked, keyed as the API and the page name them."""
    if profile is None:
        return {"collections": [], "composers": [], "tags": [], "tempo_ranges": []}
    return {
        "collections": [c.slug for c in profile.collections.all()],
        "composers": [a.slug for a in profile.artists.all()],
        "tags": [t.slug for t in profile.tags.all()],
        "tempo_ranges": list(profile.tempo_ranges),
    }


def _is_id(key: str) -> bool:
    """Whether a pick names a row by id: ASCII digits, within the ids a row can have."""
    return key.isascii() and key.isdigit() and int(key) <= MAX_ID


def _resolve(
    choices: QuerySet, values: list, field: str, errors: dict[str, list[str]], noun: str = ""
) -> QuerySet:
    """The picks among ``choices`` (by id or slug); an error under ``field`` names those that are
    not (as unknown ``noun``, by default the field's name)."""
    keys = [str(v) for v in values]
    if len(keys) > MAX_PICKS:
        errors[field] = [f"Pick at most {MAX_PICKS}."]
        return choices.none()
    ids = [int(k) for k in keys if _is_id(k)]
    slugs = [k for k in keys if not _is_id(k)]
    found = choices.filter(Q(pk__in=ids) | Q(slug__in=slugs))
    known = {str(o.pk) for o in found} | {o.slug for o in found}
    unknown = [k for k in keys if k not in known]
    if unknown:
        errors[field] = [f"Unknown {noun or field}: {', '.join(k[:40] for k in unknown[:5])}."]
    return found


@transaction.atomic
def onboarding_complete(
    *,
    user,
    collections: list[int | str],
    composers: list[int | str],
    tags: list[int | str],
    tempo_ranges: list[str],
) -> Profile:
    """Store the listener's picks (ids or slugs); at least one pick is required.

    Raises ``OnboardingError`` naming each bad field (``non_field_errors`` for no pick at all);
    nothing is stored then.
    """
    errors: dict[str, list[str]] = {}
    found_c = _resolve(selectors.collections_visible_to(None), collections, "collections", errors)
    found_a = _resolve(
        selectors.composers_visible_to(None), composers, "composers", errors, noun="artists"
    )
    found_t = _resolve(selectors.tags_visible_to(None), tags, "tags", errors)
    bad_tempo = [t for t in tempo_ranges if t not in TempoRange.values]
    if bad_tempo:
        errors["tempo_ranges"] = [
            f"Unknown tempo range: {', '.join(str(t)[:20] for t in bad_tempo[:5])}; "
            f"choose from {', '.join(TempoRange.values)}."
        ]
    if not errors and not (collections or composers or tags or tempo_ranges):
        errors["non_field_errors"] = ["Pick at least one collection, composer, mood or tempo."]
    if errors:
        raise OnboardingError(errors)
    profile, _ = Profile.objects.get_or_create(user=user)
    profile.collections.set(found_c)
    profile.artists.set(found_a)
    profile.tags.set(found_t)
    profile.tempo_ranges = sorted(set(tempo_ranges))
    profile.onboarded_at = timezone.now()
    profile.save(update_fields=["tempo_ranges", "onboarded_at", "updated_at"])
    hub.tastes_changed(user_id=user.pk)
    return profile


@transaction.atomic
def onboarding_skip(*, user) -> Profile:
    """Remember that the listener skipped onboarding (their feed starts from what's popular)."""
    profile, _ = Profile.objects.get_or_create(user=user)
    if profile.onboarded_at is None:
        profile.onboarded_at = timezone.now()
        profile.save(update_fields=["onboarded_at", "updated_at"])
    return profile
