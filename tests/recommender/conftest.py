"""Fixtures for the listening-log tests."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import TrackFactory, UserFactory


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
