"""Training runs, activation rules and failures (services called directly)."""

from pathlib import Path

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from recommender.models import ListenEvent, ModelVersion, RunStatus, RunTrigger, TrainingRun
from recommender.training import services


def _train(kind, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = services.training_request(kind=kind)
    assert len(callbacks) == 1  # the task is queued after commit
    return services.training_execute(run_id=run.pk)


@pytest.mark.parametrize("kind", ["als", "bpr", "sasrec", "pop"])
def test_training_registers_and_activates_a_first_version(
    event_log, kind, django_capture_on_commit_callbacks
):
    run = _train(kind, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.progress == 1.0 and run.started_at and run.finished_at
    heard = ListenEvent.objects.values("track").distinct().count()
    assert (run.n_users, run.n_items, run.n_events) == (30, heard, ListenEvent.objects.count())
    version = run.version
    assert version.is_active and version.version == 1
    assert version.reason == "first version of this kind"
    assert {"HR@10", "NDCG@10", "MRR", "train_seconds"} <= set(version.metrics)
    assert (Path(settings.MODEL_ROOT) / kind / "1" / "config.json").is_file()
    if kind != "pop":  # the walks are easy: any real model beats chance (~0.1) clearly
        assert version.hr10 > 0.3


def test_worse_version_is_kept_inactive_with_the_reason(
    event_log, settings, django_capture_on_commit_callbacks
):
    first = _train("als", django_capture_on_commit_callbacks).version
    settings.RECOMMENDER_MODEL_CONFIG = {
        "als": {"factors": 1, "iterations": 1, "regularization": 1000.0}
    }
    run = _train("als", django_capture_on_commit_callbacks)
    second = run.version
    assert run.status == RunStatus.SUCCEEDED
    assert second.ndcg10 < first.ndcg10
    assert not second.is_active
    assert second.reason.startswith("not activated: NDCG@10")
    first.refresh_from_db()
    assert first.is_active


def test_a_training_searches_its_settings_and_the_version_keeps_what_was_tried(
    event_log, django_capture_on_commit_callbacks
):
    version = _train("sasrec", django_capture_on_commit_callbacks).version
    search = version.config["search"]
    assert len([t for t in search["trials"] if t["state"] in {"complete", "pruned"}]) == 3
    assert search["budget"] == 60.0 and search["seconds"] <= 60.0 + 10
    assert version.config["model"]["hidden"] == 16  # RECOMMENDER_MODEL_CONFIG stays as given
    assert version.config["model"]["dropout"] == search["chosen"]["dropout"]
    assert version.metrics["valid_NDCG@10"] == pytest.approx(search["valid_ndcg10"])


def test_a_sequence_model_that_does_not_beat_the_serving_factorisation_is_not_promoted(
    event_log, settings, django_capture_on_commit_callbacks
):
    als = _train("als", django_capture_on_commit_callbacks).version
    crippled = {"hidden": 16, "layers": 1, "maxlen": 20, "epochs": 1, "lr": 1e-6}
    settings.RECOMMENDER_MODEL_CONFIG = {**settings.RECOMMENDER_MODEL_CONFIG, "sasrec": crippled}
    sasrec = _train("sasrec", django_capture_on_commit_callbacks).version
    assert sasrec.ndcg10 < als.ndcg10
    assert not sasrec.is_active  # the first of its kind, yet it does not serve
    assert f"does not beat the serving als v{als.version}'s" in sasrec.reason


def test_failed_training_keeps_the_active_version_and_says_why(
    event_log, monkeypatch, django_capture_on_commit_callbacks
):
    first = _train("als", django_capture_on_commit_callbacks).version

    def broken_fit(kind, split):
        raise RuntimeError("the factors exploded")

    monkeypatch.setattr(services, "_fit", broken_fit)
    run = _train("als", django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED
    assert "the factors exploded" in run.error
    assert run.finished_at is not None
    first.refresh_from_db()
    assert first.is_active
    assert ModelVersion.objects.count() == 1
    assert not (Path(settings.MODEL_ROOT) / "als" / "2").exists()


def test_training_on_an_empty_log_fails_clearly(db, django_capture_on_commit_callbacks):
    run = _train("als", django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED
    assert "need at least 2 distinct items" in run.error
    assert not ModelVersion.objects.exists()


def test_never_two_open_trainings_of_one_kind(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = services.training_request(kind="als")
        again = services.training_request(kind="als", trigger=RunTrigger.SCHEDULE)
        other = services.training_request(kind="sasrec")
    assert again.pk == first.pk and other.pk != first.pk
    assert len(callbacks) == 2  # one task per new run
    with pytest.raises(IntegrityError), transaction.atomic():  # the database itself refuses
        TrainingRun.objects.create(kind="als", status=RunStatus.RUNNING)


def test_a_run_that_is_not_queued_is_not_run_twice(event_log, django_capture_on_commit_callbacks):
    run = _train("als", django_capture_on_commit_callbacks)
    assert services.training_execute(run_id=run.pk) is None
    assert ModelVersion.objects.count() == 1


def test_unknown_kind_is_refused(db):
    with pytest.raises(services.TrainingError, match="unknown model kind"):
        services.training_request(kind="telepathy")


def test_activate_and_roll_back(event_log, django_capture_on_commit_callbacks):
    v1 = _train("als", django_capture_on_commit_callbacks).version
    v2 = _train("als", django_capture_on_commit_callbacks).version
    services.version_activate(version=v2)
    back = services.version_rollback(kind="als")
    assert back.pk == v1.pk and back.is_active
    assert back.reason == f"rolled back from v{v2.version}"
    v2.refresh_from_db()
    assert not v2.is_active
    with pytest.raises(services.TrainingError, match="no earlier als version"):
        services.version_rollback(kind="als")


def test_feedback_trigger_queues_a_training_after_n_signals(
    event_log, settings, django_capture_on_commit_callbacks
):
    from recommender.listening.services import rating_set

    settings.RECOMMENDER_RETRAIN_AFTER_FEEDBACK = 3
    user, tracks = event_log["users"][0], event_log["tracks"]
    with django_capture_on_commit_callbacks(execute=True):
        rating_set(user=user, track=tracks[1], stars=5)
        rating_set(user=user, track=tracks[3], stars=4)
    assert not TrainingRun.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        rating_set(user=user, track=tracks[5], liked=True)
    runs = TrainingRun.objects.filter(trigger=RunTrigger.FEEDBACK)
    assert sorted(runs.values_list("kind", flat=True)) == ["als", "sasrec"]


def test_feedback_past_the_threshold_with_a_run_queued_adds_no_run(
    event_log, settings, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    from recommender.listening.hub import Feedback
    from recommender.training.services import training_trigger_on_feedback

    settings.RECOMMENDER_RETRAIN_AFTER_FEEDBACK = 1
    user, tracks = event_log["users"][0], event_log["tracks"]
    with django_capture_on_commit_callbacks(execute=True):
        services.training_request(kind="als")
        services.training_request(kind="sasrec")
    signal = Feedback(user_id=user.pk, track_id=tracks[1].pk, kind="rating", value=5.0)
    with django_capture_on_commit_callbacks(execute=True):
        from recommender.listening.services import rating_set

        rating_set(user=user, track=tracks[1], stars=5)
    # The counters are over the threshold, the runs already queued cover them: two reads.
    with django_assert_max_num_queries(2):
        training_trigger_on_feedback([signal])
    assert TrainingRun.objects.count() == 2


def test_a_run_records_the_feedback_it_claimed(event_log, django_capture_on_commit_callbacks):
    from recommender.listening import hub
    from recommender.listening.services import rating_set

    for user, track in zip(event_log["users"][:3], event_log["tracks"][:3], strict=True):
        rating_set(user=user, track=track, stars=5)
    waiting = hub.feedback_counts(["mf"])["mf"]
    assert waiting == 3
    run = _train("als", django_capture_on_commit_callbacks)
    assert TrainingRun.objects.get(pk=run.pk).feedback_taken == waiting
    assert hub.feedback_counts(["mf"])["mf"] == 0
