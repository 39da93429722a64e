"""Fixtures shared by the recommender tests: a listener, a small catalog, listen reports."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import ArtistFactory, CollectionFactory, TagFactory, TrackFactory, UserFactory


@pytest.fixture
def listener(db):
    return UserFactory(username="ada")


@pytest.fixture
def api(listener):
    client = APIClient()
    client.force_authenticate(listener)
    return client


@pytest.fixture
def track(db):
    return TrackFactory(title="Air on the G String", duration_seconds=120.0)


def _report(piece, /, **overrides) -> dict:
    body = {
        "client_event_id": str(uuid.uuid4()),
        "track": piece.pk,
        "type": "start",
        "started_at": (timezone.now() - timedelta(minutes=3)).isoformat(),
        "position_ms": 0,
        "played_ms": 0,
        "context": "track_page",
    }
    body.update(overrides)
    return body


@pytest.fixture
def make_report():
    """``make_report(track, **overrides)``: a valid listen report for ``track``."""
    return _report


@pytest.fixture
def catalog(db):
    """Two clear tastes: slow minor-key chorales by Bach, fast major-key Irish reels."""
    bach = ArtistFactory(name="J. S. Bach", slug="bach")
    trad = ArtistFactory(name="Traditional", slug="trad")
    oneill = ArtistFactory(name="O'Neill", slug="oneill")
    chorales = CollectionFactory(name="Bach chorales", slug="bach-chorales")
    irish = CollectionFactory(name="Irish folk", slug="irish-folk")
    calm = TagFactory(name="calm", slug="calm")
    lively = TagFactory(name="lively", slug="lively")
    out = {"chorales": [], "irish": [], "collections": (chorales, irish), "tags": (calm, lively)}
    for i in range(12):
        t = TrackFactory(
            title=f"Chorale {i}",
            artist=bach,
            collection=chorales,
            key="D minor",
            tempo_bpm=66 + i,
            instruments=["Church Organ"],
            pitch_min=40,
            pitch_max=72,
            note_count=300,
        )
        t.tags.add(calm)
        out["chorales"].append(t)
    for i in range(12):
        t = TrackFactory(
            title=f"Reel {i}",
            artist=trad if i % 2 else oneill,
            collection=irish,
            key="G major",
            tempo_bpm=140 + i,
            instruments=["Fiddle"],
            pitch_min=55,
            pitch_max=88,
            note_count=900,
        )
        t.tags.add(lively)
        out["irish"].append(t)
    return out
