"""Duplicate detection keeps one copy of a piece per owner: the public catalog is one owner and
each listener's private pieces another. A private piece never blocks, and is never blocked by,
another owner's copy, and a duplicate message never names another listener's private piece."""

import hashlib
from unittest import mock

import pytest

from catalog import services
from catalog.ingest.sources import DuplicateError
from catalog.models import Track
from tests.catalog.midi_samples import midi_bytes
from tests.factories import TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_rendering():
    with mock.patch("catalog.tasks.render_track.delay"):
        yield


def _private(data: bytes, owner, title: str) -> Track:
    return services.track_ingest(
        filename="generated.mid",
        data=data,
        title=title,
        origin=Track.Origin.GENERATED,
        owner=owner,
    )


def test_each_listener_may_own_the_same_piece():
    carol, ada = UserFactory(username="carol"), UserFactory(username="ada")
    data = midi_bytes(seed=3)
    carols = _private(data, carol, "Made for carol · no. 1")
    adas = _private(data, ada, "Made for ada · no. 1")
    assert adas.owner == ada and carols.owner == carol
    public = services.track_ingest(filename="same.mid", data=data)  # staff's import
    assert public.owner is None
    assert Track.objects.count() == 3


def test_a_listeners_own_duplicate_names_their_own_piece():
    ada = UserFactory(username="ada")
    data = midi_bytes(seed=4)
    _private(data, ada, "Made for ada · no. 1")
    with pytest.raises(DuplicateError) as refused:
        _private(data, ada, "Made for ada · no. 2")
    assert refused.value.reason == "duplicate of your “Made for ada · no. 1”"


def test_a_piece_stored_before_owners_had_keys_of_their_own_is_never_named():
    """Private rows written before this rule keep the plain SHA-256: an import of the same
    bytes is still refused, without carol's name or title; another listener's is not."""
    carol = UserFactory(username="carol")
    data = midi_bytes(seed=5)
    TrackFactory(
        title="Made for carol · no. 1",
        owner=carol,
        origin=Track.Origin.GENERATED,
        content_hash=hashlib.sha256(data).hexdigest(),
    )
    with pytest.raises(DuplicateError) as refused:
        services.track_ingest(filename="same.mid", data=data)
    assert "carol" not in refused.value.reason and "Made for" not in refused.value.reason
    assert refused.value.reason == "duplicate of a listener's private piece"
    assert _private(data, UserFactory(username="ada"), "Made for ada · no. 1").pk


def test_the_public_catalog_still_refuses_its_own_duplicates():
    data = midi_bytes(seed=6)
    services.track_ingest(filename="air.mid", data=data, title="Air")
    with pytest.raises(DuplicateError) as refused:
        services.track_ingest(filename="again.mid", data=data)
    air = Track.objects.get(title="Air")
    assert refused.value.reason == f"duplicate of #{air.pk} “Air”"
