"""The signals hub: every new signal bumps the feedback counters and reaches the hooks."""

import pytest
from django.utils import timezone

from recommender.listening import hub
from recommender.listening.reports import parse_listen_payload
from recommender.listening.services import listens_record, rating_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    calls: list[dict] = []

    def hook(**kwargs):
        calls.append(kwargs)

    hub.register_feedback_hook(hook)
    yield calls
    hub.unregister_feedback_hook(hook)


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
        assert hub.feedback_count(kind) == 2


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
    assert hub.feedback_count("mf") == 3


def test_take_claims_the_count_and_later_feedback_counts_again(listener, track):
    rating_set(user=listener, track=track, stars=2)
    assert hub.feedback_take("mf") == 1
    assert hub.feedback_count("mf") == 0
    assert hub.feedback_count("sequence") == 1  # each kind trains on its own schedule
    rating_set(user=listener, track=track, stars=3)
    assert hub.feedback_count("mf") == 1


def test_a_failing_hook_never_loses_the_event(
    listener, track, make_report, django_capture_on_commit_callbacks
):
    def broken(**kwargs):
        raise RuntimeError("model not loaded")

    hub.register_feedback_hook(broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            record(listener, make_report(track, type="skip", played_ms=2_000))
    finally:
        hub.unregister_feedback_hook(broken)
    assert listener.listen_events.get().skipped


def test_batch_hooks_get_one_call_per_write(
    listener, make_report, django_capture_on_commit_callbacks
):
    from tests.factories import TrackFactory

    calls: list[list] = []
    hub.register_feedback_hook(calls.append, batch=True)
    pieces = [TrackFactory() for _ in range(3)]
    try:
        with django_capture_on_commit_callbacks(execute=True):
            record(listener, *[make_report(p, type="skip", played_ms=1_000) for p in pieces])
    finally:
        hub.unregister_feedback_hook(calls.append)
    assert len(calls) == 1
    assert sorted(s.track_id for s in calls[0]) == sorted(p.pk for p in pieces)
    assert {s.kind for s in calls[0]} == {"skip"}


def test_bulk_writes_run_per_signal_hooks_in_a_worker(
    listener, make_report, received, django_capture_on_commit_callbacks, monkeypatch
):
    from tests.factories import TrackFactory

    queued: list = []
    monkeypatch.setattr(hub.feedback_hooks_run, "delay", queued.append)
    pieces = [TrackFactory() for _ in range(hub.INLINE_SIGNALS_MAX + 2)]
    with django_capture_on_commit_callbacks(execute=True):
        record(listener, *[make_report(p, type="skip", played_ms=1_000) for p in pieces])
    assert received == []  # the request did not wait for them
    assert len(queued) == 1 and len(queued[0]) == len(pieces)
    hub.feedback_hooks_run.apply(args=[queued[0]])  # what the worker does
    assert sorted(c["track_id"] for c in received) == sorted(p.pk for p in pieces)
    assert {c["kind"] for c in received} == {"skip"}


def test_bulk_hooks_run_inline_when_the_broker_is_down(
    listener, make_report, received, django_capture_on_commit_callbacks, monkeypatch
):
    from tests.factories import TrackFactory

    def down(*args):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(hub.feedback_hooks_run, "delay", down)
    pieces = [TrackFactory() for _ in range(hub.INLINE_SIGNALS_MAX + 1)]
    with django_capture_on_commit_callbacks(execute=True):
        record(listener, *[make_report(p, type="skip", played_ms=1_000) for p in pieces])
    assert len(received) == len(pieces)


def test_the_hook_task_is_known_to_the_worker():
    from musicsite.celery import app

    app.loader.import_default_modules()
    assert "recommender.feedback_hooks" in app.tasks
