"""The feed: built from onboarding picks, reacting to plays and ratings, varied, explained."""

import pytest
from django.db import connection

from accounts.library.onboarding import onboarding_complete
from recommender.feed.cursor import FeedCursor
from recommender.feed.services import feed_page_serve, feed_snapshot_current
from recommender.listening.services import rating_set
from recommender.models import FeedImpression, FeedSnapshot
from tests.factories import (
    GenerationJobFactory,
    ListenEventFactory,
    TrackFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _page(user, size=10, cursor=None):
    return feed_page_serve(user=user, cursor=cursor, size=size)


def test_first_feed_follows_onboarding_picks(catalog):
    user = UserFactory()
    chorales, _ = catalog["collections"]
    onboarding_complete(
        user=user, collections=[chorales.slug], composers=[], tags=[], tempo_ranges=[]
    )
    page = _page(user)
    titles = [i.track.title for i in page.items]
    assert len(page.items) == 10
    from_picks = [i for i in page.items if i.reason_text == "Because you chose Bach chorales"]
    assert len(from_picks) >= 5, titles
    assert all(i.reason_text for i in page.items)


def test_no_long_runs_of_one_composer_or_collection(catalog):
    user = UserFactory()
    chorales, _ = catalog["collections"]
    onboarding_complete(
        user=user, collections=[chorales.slug], composers=[], tags=[], tempo_ranges=[]
    )
    items = _page(user, size=14).items
    colls = [i.track.collection_id for i in items]
    runs = [colls[i : i + 3] for i in range(len(colls) - 2)]
    # Irish pieces exist, so three chorales in a row never happen.
    assert not any(len(set(r)) == 1 for r in runs), [i.track.title for i in items]


def test_played_piece_drives_because_you_played(catalog):
    user = UserFactory()
    reel = catalog["irish"][0]
    ListenEventFactory(user=user, track=reel)
    items = _page(user, size=20).items
    reasons = {i.reason_text for i in items}
    assert f"Because you played {reel.title}" in reasons
    assert reel.pk not in {i.track.pk for i in items}  # just played: not recommended again


@pytest.mark.parametrize(
    ("stars", "liked", "reason"),
    [(5, False, "Because you gave {} 5★"), (None, True, "Because you liked {}")],
)
def test_a_rated_or_liked_piece_is_named_for_what_the_listener_did(catalog, stars, liked, reason):
    user = UserFactory()
    reel = catalog["irish"][0]
    rating_set(user=user, track=reel, stars=stars, liked=liked)
    reasons = {i.reason_text for i in _page(user, size=20).items}
    assert reason.format(reel.title) in reasons, reasons


def test_not_interested_and_disliked_are_left_out_and_feed_refreshes(
    catalog, django_capture_on_commit_callbacks
):
    user = UserFactory()
    chorales, _ = catalog["collections"]
    onboarding_complete(
        user=user, collections=[chorales.slug], composers=[], tags=[], tempo_ranges=[]
    )
    first = _page(user, size=30)
    victim, disliked = first.items[0].track, first.items[1].track
    build = first.build
    with django_capture_on_commit_callbacks(execute=True):
        rating_set(user=user, track=victim, not_interested=True)
        rating_set(user=user, track=disliked, stars=1)
    assert FeedSnapshot.objects.get(user=user).stale
    again = _page(user, size=30)
    assert again.build == build + 1
    ids = {i.track.pk for i in again.items}
    assert victim.pk not in ids and disliked.pk not in ids


def test_generated_pieces_are_made_for_you_and_private(catalog):
    user, other = UserFactory(), UserFactory()
    mine = TrackFactory(title="My song", owner=user, origin="generated", collection=None)
    TrackFactory(title="Their song", owner=other, origin="generated", collection=None)
    items = _page(user, size=10).items
    assert items[1].track == mine and items[1].reason_text == "Made for you"
    other_items = _page(other, size=30).items
    assert mine.pk not in {i.track.pk for i in other_items}


def test_a_song_in_the_feed_gives_the_reason_its_page_gives(catalog):
    user = UserFactory()
    song = TrackFactory(title="My chorale", owner=user, origin="generated", collection=None)
    reason = "In the style of the Bach chorales you loved (like “BWV 1.6”), for four voices."
    GenerationJobFactory(user=user, status="succeeded", track=song, settings={"reason": reason})
    items = _page(user, size=10).items
    assert items[1].track == song and items[1].reason_text == reason


def test_pieces_shown_often_and_never_played_sink(catalog):
    user = UserFactory()
    onboarding_complete(user=user, collections=[], composers=[], tags=[], tempo_ranges=["fast"])
    top = _page(user, size=3).items[0].track
    FeedImpression.objects.filter(user=user, track=top).update(shown_count=6)
    FeedSnapshot.objects.filter(user=user).update(stale=True)
    positions = [i.track.pk for i in _page(user, size=24).items]
    assert top.pk not in positions[:3]


def test_cursor_pages_do_not_repeat(catalog):
    user = UserFactory()
    first = _page(user, size=8)
    second = _page(user, size=8, cursor=first.next_cursor)
    assert not {i.track.pk for i in first.items} & {i.track.pk for i in second.items}
    assert second.items[0].position == first.items[-1].position + 1


def test_stale_cursor_after_feedback_leaves_out_what_was_shown(
    catalog, django_capture_on_commit_callbacks
):
    user = UserFactory()
    first = _page(user, size=8)
    with django_capture_on_commit_callbacks(execute=True):
        rating_set(user=user, track=first.items[0].track, stars=5)
    second = _page(user, size=8, cursor=first.next_cursor)
    assert second.build != first.build
    assert not {i.track.pk for i in first.items} & {i.track.pk for i in second.items}


@pytest.mark.django_db(transaction=True)
def test_writes_outside_a_transaction_count_and_leave_the_connection_as_it_was(catalog):
    """Pages served in autocommit (as in production) write their one-statement upserts."""
    user = UserFactory()
    assert not connection.in_atomic_block
    first = _page(user, size=5)
    again = _page(user, size=5)
    shown = dict(FeedImpression.objects.filter(user=user).values_list("track_id", "shown_count"))
    assert shown == {i.track.pk: 2 for i in first.items}
    FeedSnapshot.objects.filter(user=user).update(stale=True)
    assert _page(user, size=5).build == again.build + 1
    if connection.vendor == "postgresql":  # the async commit was the statement's own
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"


def test_snapshot_is_reused_until_feedback(catalog):
    user = UserFactory()
    a = feed_snapshot_current(user=user)
    b = feed_snapshot_current(user=user)
    assert a.build == b.build
    assert FeedCursor.decode(FeedCursor(3, 10, 5).encode()) == FeedCursor(3, 10, 5)


def test_model_provider_plugs_in_and_never_leaks_private_pieces(catalog, monkeypatch):
    from recommender.feed import sources

    user, other = UserFactory(), UserFactory()
    secret = TrackFactory(title="Secret", owner=other, origin="generated", collection=None)
    reels = [t.pk for t in catalog["irish"]]
    ListenEventFactory(user=user, track=catalog["chorales"][0])
    calls = []

    def provider(user_id, recent, k):
        calls.append((user_id, list(recent)))
        return [(secret.pk, 9.0)] + [(t, 1.0 / (i + 1)) for i, t in enumerate(reels)]

    monkeypatch.setitem(sources._providers, "next", provider)
    items = _page(user, size=12).items
    assert calls and calls[0] == (user.pk, [catalog["chorales"][0].pk])
    ids = [i.track.pk for i in items]
    assert secret.pk not in ids
    nexts = [i for i in items if i.source == "next"]
    # The model's picks are blended with what sounds like the piece just played.
    assert any(i.track.pk in reels for i in nexts)
    assert nexts[0].reason_text == f"Because you played {catalog['chorales'][0].title}"


def test_a_piece_the_listener_rated_is_not_offered_again(catalog):
    user = UserFactory()
    loved, liked = catalog["chorales"][0], catalog["chorales"][1]
    rating_set(user=user, track=loved, stars=5)
    rating_set(user=user, track=liked, liked=True)
    shown = {i.track.pk for i in _page(user, size=24).items}
    assert loved.pk not in shown and liked.pk not in shown
