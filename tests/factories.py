"""factory_boy factories shared by the whole suite. Add to this file; never rewrite it whole."""

import hashlib
from datetime import datetime, timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from catalog.models import Artist, Collection, Tag, Track


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"listener{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct-horse-battery")


class ArtistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Artist
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Composer {n}")
    slug = factory.Sequence(lambda n: f"composer-{n}")


class CollectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Collection
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Collection {n}")
    slug = factory.Sequence(lambda n: f"collection-{n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag{n}")
    slug = factory.Sequence(lambda n: f"tag{n}")


class TrackFactory(factory.django.DjangoModelFactory):
    """A published track row with plausible metadata (no media files unless a test adds them)."""

    class Meta:
        model = Track

    title = factory.Sequence(lambda n: f"Piece {n}")
    artist = factory.SubFactory(ArtistFactory)
    collection = factory.SubFactory(CollectionFactory)
    midi_file = factory.Sequence(lambda n: f"midi/test/piece-{n}.mid")
    content_hash = factory.Sequence(lambda n: hashlib.sha256(f"piece-{n}".encode()).hexdigest())
    duration_seconds = 90.0
    tempo_bpm = 100.0
    key = "C major"
    time_signature = "4/4"
    instruments = factory.LazyFunction(lambda: ["Acoustic Grand Piano"])
    note_count = 240
    pitch_min = 48
    pitch_max = 79


# --- listening log (recommender.models.listening) ---


class ListenEventFactory(factory.django.DjangoModelFactory):
    """A finished listen that counted as a play."""

    class Meta:
        model = "recommender.ListenEvent"

    user = factory.SubFactory(UserFactory)
    track = factory.SubFactory(TrackFactory)
    client_event_id = factory.Faker("uuid4", cast_to=None)
    context = "track_page"
    started_at = factory.LazyFunction(timezone.now)
    position_ms = 40_000
    played_ms = 40_000
    duration_ms = 90_000
    counted = True


class RatingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "recommender.Rating"
        django_get_or_create = ("user", "track")

    user = factory.SubFactory(UserFactory)
    track = factory.SubFactory(TrackFactory)
    stars = 4


class GeneratorVersionFactory(factory.django.DjangoModelFactory):
    """A generator version row; point ``artifact_path`` at a real checkpoint to sample from it."""

    class Meta:
        model = "generator.GeneratorVersion"

    name = factory.Sequence(lambda n: f"version-{n}")
    artifact_path = "generator/checkpoints/demo"
    config = factory.LazyFunction(dict)
    metrics = factory.LazyFunction(lambda: {"val_nll": 1.5})
    is_active = False


class GenerationJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "generator.GenerationJob"

    user = factory.SubFactory(UserFactory)
    settings = factory.LazyFunction(
        lambda: {
            "temperature": 0.95,
            "tempo_bpm": 100.0,
            "seconds": 10.0,
            "primer_bars": 0,
            "max_polyphony": 4,
            "key": None,
            "reason": "test",
            "primer_track_id": None,
        }
    )


def api_token(user, device: str = "tests") -> str:
    """A new API token for ``user`` signed in as ``device`` (the database keeps its digest)."""
    from accounts.services import api_token_create

    return api_token_create(user=user, device=device)[1]


def seconds_ago(seconds: float) -> datetime:
    """The moment ``seconds`` before now (a heartbeat that long silent, say)."""
    return timezone.now() - timedelta(seconds=seconds)
