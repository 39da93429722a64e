"""Feed impressions are counted with the page that shows them."""

import pytest

from recommender.feed.impressions import impressions_add
from recommender.feed.services import feed_page_serve
from recommender.listening.services import rating_set
from recommender.models import FeedImpression
from tests.factories import UserFactory


@pytest.mark.django_db
def test_each_page_counts_the_pieces_it_shows(catalog):
    user = UserFactory()
    shown = [i.track_id for i in feed_page_serve(user=user, cursor=None, size=6).items]
    feed_page_serve(user=user, cursor=None, size=6)
    counts = dict(FeedImpression.objects.filter(user=user).values_list("track_id", "shown_count"))
    assert counts == {tid: 2 for tid in shown}


@pytest.mark.django_db
def test_a_piece_or_listener_deleted_meanwhile_never_fails_the_others(catalog):
    user = UserFactory()
    track = catalog["chorales"][0]
    impressions_add(user_id=user.pk, shown=[(track.pk, "taste"), (track.pk, "next")])  # once
    impressions_add(user_id=user.pk, shown=[(track.pk, "picks"), (10**9, "picks")])  # no piece
    impressions_add(user_id=10**9, shown=[(track.pk, "fresh")])  # no such listener
    assert list(
        FeedImpression.objects.values_list("user_id", "track_id", "shown_count", "source")
    ) == [(user.pk, track.pk, 2, "picks")]


@pytest.mark.django_db
def test_stale_cursor_leaves_out_what_was_shown(catalog, django_capture_on_commit_callbacks):
    user = UserFactory()
    first = feed_page_serve(user=user, cursor=None, size=8)
    with django_capture_on_commit_callbacks(execute=True):
        rating_set(user=user, track=first.items[0].track, stars=5)
    second = feed_page_serve(user=user, cursor=first.next_cursor, size=8)
    assert second.build != first.build
    assert not {i.track_id for i in first.items} & {i.track_id for i in second.items}
