"""A small event log with two taste groups, and tiny model settings."""

import uuid
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from recommender.models import ListenEvent
from recommender.training import serving
from tests.factories import TrackFactory, UserFactory

_TINY_SEQUENCE = {
    "hidden": 16,
    "layers": 1,
    "maxlen": 20,
    "epochs": 25,
    "lr": 0.01,
    "patience": 25,
    "time_budget": 60.0,
    "device": "cpu",
}
TINY = {
    "als": {"factors": 8, "iterations": 10},
    "bpr": {"factors": 8, "bpr_iterations": 50},
    "sasrec": dict(_TINY_SEQUENCE),
}


@pytest.fixture(autouse=True)
def _tiny_models(settings, tmp_path):
    settings.MODEL_ROOT = str(tmp_path / "models")
    settings.RECOMMENDER_MODEL_CONFIG = TINY
    settings.RECOMMENDER_RETRAIN_AFTER_FEEDBACK = 0
    settings.RECOMMENDER_SEARCH_TRIALS = 3
    settings.RECOMMENDER_SEARCH_BUDGET_S = 60.0
    serving._cache.clear()
    yield
    serving._cache.clear()


def listen(user, track, when):
    return ListenEvent(
        user=user,
        track=track,
        client_event_id=uuid.uuid4(),
        context="feed",
        started_at=when,
        position_ms=90_000,
        played_ms=90_000,
        duration_ms=90_000,
        counted=True,
        completed=True,
    )


@pytest.fixture
def event_log(db):
    """30 listeners: even ones walk up the even pieces, odd ones the odd pieces."""
    tracks = [TrackFactory(title=f"Piece {i}") for i in range(40)]
    users = [UserFactory(username=f"walker{u}") for u in range(30)]
    rng = np.random.default_rng(0)
    base = timezone.now() - timedelta(days=10)
    events = []
    for u, user in enumerate(users):
        start = int(rng.integers(0, 8)) * 2 + (u % 2)
        for step, i in enumerate(range(start, min(start + 24, 40), 2)):
            events.append(listen(user, tracks[i], base + timedelta(minutes=u * 100 + step)))
    ListenEvent.objects.bulk_create(events)
    return {"tracks": tracks, "users": users}
