"""The feed's blend between sources follows what listeners play of each source's pieces."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.library.onboarding import onboarding_complete
from recommender.feed.builder import source_weights, stage_weights
from recommender.feed.context import build_context
from recommender.feed.weights import (
    SourceCounts,
    feed_source_weights_fit,
    multipliers_from_counts,
    source_multipliers,
)
from recommender.models import FeedImpression, FeedSourceWeight
from recommender.tasks import refit_feed_weights
from tests.factories import ListenEventFactory, UserFactory

pytestmark = pytest.mark.django_db


def _show(user, tracks, source, *, days_ago=5, played=(), played_days_ago=3):
    """Log that ``tracks`` were shown to ``user`` by ``source``; the listener then played
    ``played`` of them."""
    now = timezone.now()
    FeedImpression.objects.bulk_create(
        FeedImpression(
            user=user,
            track=t,
            source=source,
            first_shown_at=now - timedelta(days=days_ago),
            last_shown_at=now - timedelta(days=days_ago - 1),
        )
        for t in tracks
    )
    for t in played:
        ListenEventFactory(user=user, track=t, started_at=now - timedelta(days=played_days_ago))


@pytest.fixture
def impression_log(catalog):
    """Ten listeners were shown every chorale by "taste" and played 9 of 12, and every reel by
    "popular" and played one; three more played all of 10 pieces "fresh" showed them."""
    chorales, reels = catalog["chorales"], catalog["irish"]
    for _ in range(10):
        user = UserFactory()
        _show(user, chorales, "taste", played=chorales[:9])
        _show(user, reels, "popular", played=reels[:1])
    for _ in range(3):
        _show(UserFactory(), reels[:10], "fresh", played=reels[:10])
    return catalog


def test_sources_whose_pieces_get_played_weigh_more(impression_log):
    feed_source_weights_fit()
    rows = {r.source: r for r in FeedSourceWeight.objects.all()}
    assert (rows["taste"].shown, rows["taste"].played) == (120, 90)
    assert (rows["popular"].shown, rows["popular"].played) == (120, 10)
    assert rows["taste"].multiplier > 1 > rows["popular"].multiplier
    # 30 impressions say little: "fresh" keeps its share although each of its pieces was played.
    assert (rows["fresh"].shown, rows["fresh"].multiplier) == (30, 1.0)


def test_only_counted_plays_after_the_showing_within_the_window_count(impression_log):
    reels = impression_log["irish"]
    before, skipper, long_ago = UserFactory(), UserFactory(), UserFactory()
    # Played before it was shown; started after but skipped; shown (and played) 40 days ago.
    _show(before, reels, "popular", played=reels, played_days_ago=6)
    _show(skipper, reels, "popular")
    for t in reels:
        ListenEventFactory(user=skipper, track=t, counted=False, skipped=True, played_ms=2_000)
    _show(long_ago, reels, "popular", days_ago=45, played=reels, played_days_ago=44)
    popular = {r.source: r for r in feed_source_weights_fit()}["popular"]
    assert (popular.shown, popular.played) == (120 + 24, 10)


def test_a_new_listeners_feed_leans_to_the_source_that_gets_played(impression_log):
    newcomer = UserFactory()
    before = source_weights(build_context(newcomer))
    assert before == stage_weights(0)  # nothing fitted yet: the stage's own weights
    assert before["popular"] > before["taste"]
    feed_source_weights_fit()
    after = source_weights(build_context(newcomer))
    fitted = dict(FeedSourceWeight.objects.values_list("source", "multiplier"))
    assert after["taste"] == pytest.approx(before["taste"] * fitted["taste"])
    assert after["taste"] > after["popular"]
    assert after["popular"] < before["popular"]
    assert after["fresh"] == before["fresh"] and after["picks"] == before["picks"]


def test_too_few_impressions_leave_every_weight_as_it_was(catalog):
    user = UserFactory()
    _show(user, catalog["chorales"], "taste", played=catalog["chorales"])
    _show(user, catalog["irish"], "popular")
    rows = feed_source_weights_fit()
    assert {(r.source, r.shown, r.multiplier) for r in rows} == {
        ("taste", 12, 1.0),
        ("popular", 12, 1.0),
    }
    assert source_weights(build_context(UserFactory())) == stage_weights(0)


def test_multipliers_shrink_toward_the_mean_and_stay_within_bounds():
    few_played = multipliers_from_counts(
        {"taste": SourceCounts(shown=100, played=60), "popular": SourceCounts(200, 60)}
    )
    many_played = multipliers_from_counts(
        {"taste": SourceCounts(shown=1000, played=600), "popular": SourceCounts(2000, 600)}
    )
    # One rate, more evidence: further from the mean.
    assert 1 < few_played["taste"] < many_played["taste"]
    extreme = multipliers_from_counts(
        {"taste": SourceCounts(1000, 1000), "popular": SourceCounts(10_000, 0)}
    )
    assert extreme == {"taste": 4.0, "popular": 0.25}
    assert multipliers_from_counts({"taste": SourceCounts(500, 0)}) == {"taste": 1.0}


def test_feed_builds_read_the_multipliers_from_memory(impression_log, django_assert_num_queries):
    feed_source_weights_fit()
    source_multipliers()
    with django_assert_num_queries(0):
        assert source_multipliers()["taste"] > 1


def test_feed_page_and_api_record_which_source_showed_each_piece(client, catalog):
    user = UserFactory()
    onboarding_complete(
        user=user, collections=["bach-chorales"], composers=[], tags=[], tempo_ranges=[]
    )
    client.force_login(user)
    html = client.get(reverse("feed:feed")).content.decode()
    recorded = dict(FeedImpression.objects.filter(user=user).values_list("track_id", "source"))
    items = user.feed_snapshot.items
    expected = {tid: source for tid, source, *_ in items if tid in recorded}
    assert len(recorded) == 12 and recorded == expected
    assert "picks" in recorded.values() and all(recorded.values())
    assert all(f'data-track-id="{tid}"' in html for tid in recorded)
    results = client.get("/api/v1/feed/?page_size=30").json()["results"]
    recorded = dict(FeedImpression.objects.filter(user=user).values_list("track_id", "source"))
    assert all(recorded[r["track"]["id"]] == r["source"] for r in results)


def test_refit_task_stores_weights_that_staff_can_read_but_not_edit(impression_log, admin_client):
    result = refit_feed_weights.apply().get()
    assert result["taste"] > 1 > result["popular"]
    page = admin_client.get(reverse("admin:recommender_feedsourceweight_changelist"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "taste" in html and "popular" in html and f"{result['taste']}" in html
    assert reverse("admin:recommender_feedsourceweight_add") not in html
    row = FeedSourceWeight.objects.get(source="taste")
    change = admin_client.post(
        reverse("admin:recommender_feedsourceweight_change", args=[row.pk]), {"multiplier": "9"}
    )
    assert change.status_code == 403
    assert FeedSourceWeight.objects.get(source="taste").multiplier == result["taste"]


def test_refit_runs_hourly_on_the_default_queue(settings):
    from musicsite.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["recommender-refit-feed-weights"]
    assert entry["task"] == "recommender.refit_feed_weights"
    assert entry["schedule"] == 3600.0
    assert app.amqp.router.route({}, "recommender.refit_feed_weights")["queue"].name == "default"
