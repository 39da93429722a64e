"""Feed impressions are buffered per process and written in aggregated batches."""

import time

import pytest
from django.db import IntegrityError, OperationalError
from django.utils import timezone

from recommender.feed import impressions
from recommender.feed.services import feed_page_serve
from recommender.listening.services import rating_set
from recommender.models import FeedImpression
from tests.factories import UserFactory


@pytest.fixture
def buffered(settings):
    """Batches that only an explicit flush writes (the timer waits an hour)."""
    settings.FEED_IMPRESSIONS_FLUSH_SECONDS = 3600
    impressions.impressions_flush()
    yield
    impressions._buffer.counts.clear()  # nothing of this test leaks into the next


@pytest.mark.django_db
def test_pages_are_counted_once_flushed(catalog, buffered):
    user = UserFactory()
    shown = [i.track_id for i in feed_page_serve(user=user, cursor=None, size=6).items]
    feed_page_serve(user=user, cursor=None, size=6)
    assert not FeedImpression.objects.filter(user=user).exists()
    assert impressions.impressions_flush() == 6
    counts = dict(FeedImpression.objects.filter(user=user).values_list("track_id", "shown_count"))
    assert counts == {tid: 2 for tid in shown}
    assert impressions.impressions_flush() == 0


@pytest.mark.django_db
def test_a_failed_write_keeps_the_counts_for_the_next_flush(catalog, buffered, monkeypatch):
    user = UserFactory()
    feed_page_serve(user=user, cursor=None, size=4)

    def down(counts):
        raise OperationalError("connection refused")

    monkeypatch.setattr(impressions, "impressions_write", down)
    with pytest.raises(OperationalError):
        impressions.impressions_flush()
    monkeypatch.undo()
    assert impressions.impressions_flush() == 4
    assert FeedImpression.objects.filter(user=user, shown_count=1).count() == 4


@pytest.mark.django_db
def test_a_deleted_listener_or_piece_never_blocks_the_others(catalog, buffered):
    staying, leaving = UserFactory(), UserFactory()
    shown = [i.track_id for i in feed_page_serve(user=staying, cursor=None, size=4).items]
    feed_page_serve(user=leaving, cursor=None, size=4)
    leaving.delete()
    assert impressions.impressions_flush() == 8  # the pairs sent; the leaver's are skipped
    assert set(FeedImpression.objects.values_list("user_id", flat=True)) == {staying.pk}
    assert FeedImpression.objects.filter(track_id__in=shown).count() == 4


@pytest.mark.django_db
def test_a_refused_batch_is_dropped_not_retried_for_ever(catalog, buffered, monkeypatch):
    feed_page_serve(user=UserFactory(), cursor=None, size=3)

    def refuse(counts):
        raise IntegrityError("violates a constraint")

    monkeypatch.setattr(impressions, "impressions_write", refuse)
    assert impressions.impressions_flush() == 0
    monkeypatch.undo()
    assert impressions.impressions_flush() == 0 and not FeedImpression.objects.exists()


@pytest.mark.django_db
def test_stale_cursor_leaves_out_what_was_shown_before_the_flush(
    catalog, buffered, django_capture_on_commit_callbacks
):
    user = UserFactory()
    first = feed_page_serve(user=user, cursor=None, size=8)
    with django_capture_on_commit_callbacks(execute=True):
        rating_set(user=user, track=first.items[0].track, stars=5)
    second = feed_page_serve(user=user, cursor=first.next_cursor, size=8)
    assert second.build != first.build
    assert not {i.track_id for i in first.items} & {i.track_id for i in second.items}


@pytest.mark.django_db(transaction=True)
def test_the_background_thread_writes_within_the_interval_and_survives_errors(
    catalog, settings, monkeypatch
):
    settings.FEED_IMPRESSIONS_FLUSH_SECONDS = 0.1
    user = UserFactory()
    track_ids = [t.pk for t in catalog["chorales"][:3]]
    write, calls = impressions.impressions_write, []

    def flaky(counts):
        calls.append(len(counts))
        if len(calls) == 1:
            raise RuntimeError("a bug in one write")
        write(counts)

    monkeypatch.setattr(impressions, "impressions_write", flaky)
    buffer = impressions._Buffer()
    buffer.add(user.pk, track_ids, timezone.now())  # starts its own thread
    try:
        deadline = time.monotonic() + 10
        while FeedImpression.objects.filter(user=user).count() < 3:
            assert time.monotonic() < deadline, "the buffer was not written within 10 s"
            time.sleep(0.05)
        assert calls[:2] == [3, 3]  # the failed batch was kept and written on the next try
    finally:
        buffer.stop.set()
        buffer.thread.join(timeout=5)
