"""Radio: the seed's neighbourhood, ordered by the sequence model when one is trained."""

import pytest

from recommender.feed import sources
from recommender.feed.radio import radio_next
from tests.factories import ListenEventFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chorale_lover(catalog):
    user = UserFactory()
    for track in catalog["chorales"]:
        ListenEventFactory(user=user, track=track)
    return user


def test_a_radio_follows_its_seed_not_the_listeners_history(catalog, chorale_lover, monkeypatch):
    """The sequence model, reading a chorale lover's history, ranks chorales first; the radio
    from a reel still plays reels, in the order the model gives them."""
    reels = [t.pk for t in catalog["irish"]]
    calls = []

    def provider(user_id, recent, k):
        calls.append(recent)
        chorales = [(t.pk, 10.0) for t in catalog["chorales"]]
        return (chorales + [(t, 1.0 / (i + 1)) for i, t in enumerate(reversed(reels))])[:k]

    monkeypatch.setitem(sources._providers, "next", provider)
    seed = catalog["irish"][0]
    found = [t.pk for t in radio_next(user=chorale_lover, seed=seed, after=[], k=2)]
    assert calls == [[seed.pk]]
    assert set(found) <= set(reels) and len(found) == 2
    assert found == [t for t in reversed(reels) if t in found]  # the model's order


def test_without_a_model_or_when_it_fails_the_closest_pieces_play(
    catalog, chorale_lover, monkeypatch
):
    seed = catalog["irish"][0]
    reels = {t.pk for t in catalog["irish"]}
    plain = [t.pk for t in radio_next(user=chorale_lover, seed=seed, after=[], k=4)]

    def broken(user_id, recent, k):
        raise RuntimeError("model file missing")

    monkeypatch.setitem(sources._providers, "next", broken)
    fallback = [t.pk for t in radio_next(user=chorale_lover, seed=seed, after=[], k=4)]
    assert fallback == plain and set(plain) <= reels and seed.pk not in plain
