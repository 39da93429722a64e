"""The listening hub: every new signal bumps the feedback counters and reaches the subscribers."""

import dataclasses

import pytest
from django.utils import timezone

from recommender.listening import hub
from recommender.listening.reports import parse_listen_payload
from recommender.listening.services import listens_record, rating_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    """Every signal the subscribers were told about, one dict each, in order."""
    calls: list[dict] = []

    def subscriber(signals):
        calls.extend(dataclasses.asdict(signal) for signal in signals)

    hub.subscribe(subscriber)
    yield calls
    hub.unsubscribe(subscriber)


def record(user, *bodies):
    return listens_record(user=user, reports=parse_listen_payload(list(bodies), now=timezone.now()))


def test_each_listen_outcome_is_one_signal_counted_for_every_model_kind(
    listener, track, make_report, received, django_capture_on_commit_callbacks
):
    start = make_report(track)
    with django_capture_on_commit_callbacks(execute=True):
        record(listener, start)  # a start is not feedback yet
        record(listener, {**start, "type": "progress", "played_ms": 31_000, "position_ms": 31_000})
        record(listener, {**start, "type": "progress", "played_ms": 36_000, "position_ms": 36_000})
        record(
            listener, {**start, "type": "complete", "played_ms": 119_000, "position_ms": 120_000}
        )
        record(
            listener, {**start, "type": "complete", "played_ms": 119_000, "position_ms": 120_000}
        )
    assert [c["kind"] for c in received] == ["play", "complete"]
    assert received[0] == {
        "user_id": listener.pk,
        "track_id": track.pk,
        "kind": "play",
        "value": None,
    }
    for kind in hub.FEEDBACK_KINDS:
        assert hub.feedback_counts([kind])[kind] == 2


def test_ratings_report_what_changed(listener, track, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        rating_set(user=listener, track=track, stars=4, liked=True)
        rating_set(user=listener, track=track, stars=4)  # no change, no signal
        rating_set(user=listener, track=track, not_interested=True)
    assert [(c["kind"], c["value"]) for c in received] == [
        ("rating", 4.0),
        ("like", 1.0),
        ("not_interested", 1.0),
    ]
    assert hub.feedback_counts(["mf"])["mf"] == 3


def test_take_claims_the_count_and_later_feedback_counts_again(listener, track):
    rating_set(user=listener, track=track, stars=2)
    assert hub.feedback_take("mf") == 1
    assert hub.feedback_counts(["mf"])["mf"] == 0
    assert hub.feedback_counts(["sequence"])["sequence"] == 1  # each kind on its own schedule
    rating_set(user=listener, track=track, stars=3)
    assert hub.feedback_counts(["mf"])["mf"] == 1


def test_a_failing_hook_never_loses_the_event(
    listener, track, make_report, django_capture_on_commit_callbacks
):
    def broken(signals):
        raise RuntimeError("model not loaded")

    hub.subscribe(broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            record(listener, make_report(track, type="skip", played_ms=2_000))
    finally:
        hub.unsubscribe(broken)
    assert listener.listen_events.get().skipped


def test_subscribers_get_one_call_per_write(
    listener, make_report, django_capture_on_commit_callbacks
):
    from tests.factories import TrackFactory

    calls: list[list] = []
    hub.subscribe(calls.append)
    pieces = [TrackFactory() for _ in range(3)]
    try:
        with django_capture_on_commit_callbacks(execute=True):
            record(listener, *[make_report(p, type="skip", played_ms=1_000) for p in pieces])
    finally:
        hub.unsubscribe(calls.append)
    assert len(calls) == 1
    assert sorted(s.track_id for s in calls[0]) == sorted(p.pk for p in pieces)
    assert {s.kind for s in calls[0]} == {"skip"}


def test_tastes_changed_reaches_its_subscribers_after_commit(
    listener, django_capture_on_commit_callbacks
):
    told: list[int] = []
    hub.subscribe_tastes(told.append)
    try:
        with django_capture_on_commit_callbacks(execute=False) as pending:
            hub.tastes_changed(user_id=listener.pk)
        assert told == []  # nothing before the commit
        for callback in pending:
            callback()
    finally:
        hub.unsubscribe(told.append)
    assert told == [listener.pk]


def test_the_app_wires_the_feed_and_the_models_to_the_hub():
    from recommender.feed import services as feed
    from recommender.training import services as training
    from recommender.training import serving

    wired = hub.subscribers()
    for subscriber in (
        feed.on_feedback,
        serving.online_feedback_update,
        training.training_trigger_on_feedback,
        feed.on_tastes_changed,
    ):
        assert subscriber in wired
