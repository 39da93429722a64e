"""A new listener's feed follows their picks, and its reasons name pieces that are alike
(``make bench-feed-picks`` asks the same of 200 listeners; this asks it of a handful)."""

import random

import pytest

from accounts.library.onboarding import onboarding_complete
from bench.feed_picks import (
    FIRST_PAGE,
    issue_picks,
    mirror_catalog,
    onboarding_offer,
    sample_picks,
    seed_demo_listeners,
    simulate,
    summarise,
)
from recommender.feed.content import catalog_index
from recommender.feed.context import picks_for
from recommender.feed.quality import anchor_holds, anchor_title, judge_page
from recommender.feed.services import feed_invalidate, feed_page_serve
from recommender.listening.services import rating_set
from tests.factories import ListenEventFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_mirror(db):
    """A catalog shaped like the demo one (a third of its size) and the demo listeners."""
    mirror_catalog(random.Random("test"), scale=1 / 3)
    seed_demo_listeners()


def test_simulated_new_listeners_see_each_specific_pick_and_reasons_that_hold(demo_mirror):
    rng = random.Random("feed-picks-test")
    offer = onboarding_offer()
    runs = [simulate("issue", issue_picks(), plays=5)]
    runs += [simulate(f"sim-{n}", sample_picks(rng, offer), plays=5) for n in range(7)]
    summary = summarise(runs)
    uncovered = {r["name"]: r["cold"]["uncovered"] for r in runs if r["cold"]["uncovered"]}
    failures = [f for r in runs for f in r["warm"]["failures"]]
    assert summary["coverage_share"] >= 0.9, uncovered
    assert summary["anchored_reasons"] >= 20
    assert summary["anchor_holds_share"] >= 0.9, failures
    assert summary["same_title_anchors"] == 0
    assert summary["pages_with_duplicates"] == 0
    assert summary["top_anchor_max"] <= 6  # of 24 items: no one anchor for half the page


def test_the_issues_listener_gets_quartets_and_mozart_not_a_page_of_moderate_pieces(demo_mirror):
    run = simulate("issue", issue_picks(), plays=0)
    assert run["cold"]["covered"] == run["cold"]["picks"] == 5, run["cold"]["uncovered"]
    reasons = [reason for _, _, reason in run["first_page"]]
    assert len(reasons) == FIRST_PAGE
    assert reasons.count("Because you chose moderate pieces") <= 2, reasons
    assert "Because you chose Classical String Quartets" in reasons


def test_a_broad_pick_alone_still_fills_the_page(demo_mirror):
    user = UserFactory()
    onboarding_complete(user=user, collections=[], composers=[], tags=[], tempo_ranges=["slow"])
    items = feed_page_serve(user=user, cursor=None, size=FIRST_PAGE).items
    assert len(items) == FIRST_PAGE
    assert sum(i.reason_text == "Because you chose slow pieces" for i in items) >= 5


def test_no_reason_names_a_copy_of_the_piece_or_a_piece_unlike_it(catalog):
    """A listener who played one Irish reel and loved a chorale: the reels' reasons name the
    reel, the chorales' the chorale; the other copy of the reel they played is not offered."""
    user = UserFactory()
    reel, chorale = catalog["irish"][0], catalog["chorales"][0]
    copy = TrackFactory(title=f"{reel.title.upper()}.", collection=reel.collection)
    ListenEventFactory(user=user, track=reel)
    rating_set(user=user, track=chorale, stars=5)
    items = feed_page_serve(user=user, cursor=None, size=24).items
    assert copy.pk not in {i.track_id for i in items}
    index = catalog_index()
    anchored = [i for i in items if anchor_title(i.reason_text)]
    assert anchored
    by_title = {reel.title: reel.pk, chorale.title: chorale.pk}
    for item in anchored:
        anchor = by_title[anchor_title(item.reason_text)]
        assert anchor_holds(index, anchor, item.track_id), (item.reason_text, item.track.title)


def test_one_anchor_is_named_at_most_three_times_a_page(catalog):
    user = UserFactory()
    for track in catalog["chorales"][:1]:
        ListenEventFactory(user=user, track=track)
    items = feed_page_serve(user=user, cursor=None, size=24).items
    for start in (0, 12):
        page = [i.reason_text for i in items[start : start + 12]]
        named = [r for r in page if anchor_title(r)]
        assert all(named.count(r) <= 3 for r in named), page


def test_not_interested_pieces_stay_out_even_when_a_pick_needs_them(demo_mirror):
    user = UserFactory()
    offer = onboarding_offer()
    monteverdi = next(c for c in offer["collections"] if "monteverdi" in c)
    onboarding_complete(
        user=user, collections=[monteverdi], composers=[], tags=[], tempo_ranges=["fast"]
    )
    index = catalog_index()
    picks = picks_for(user.pk)
    first = feed_page_serve(user=user, cursor=None, size=FIRST_PAGE).items
    shown = [i.track for i in first if i.track.collection.slug == monteverdi]
    assert len(shown) >= 2
    for track in shown[:-1]:  # all but one of the madrigals on the page
        rating_set(user=user, track=track, not_interested=True)
    feed_invalidate(user_id=user.pk)
    again = feed_page_serve(user=user, cursor=None, size=FIRST_PAGE).items
    ids = [i.track_id for i in again]
    assert not {t.pk for t in shown[:-1]} & set(ids)
    assert len(ids) == len(set(ids))
    verdict = judge_page(
        index, picks, [(i.track_id, i.reason_code, i.reason_text) for i in again], {}
    )
    assert verdict.covered == 1, verdict  # with madrigals they did not turn down
