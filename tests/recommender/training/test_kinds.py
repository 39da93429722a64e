"""The site's kind choices and hub counters follow the one list in recommender.ml.kinds."""

import importlib

from django.apps import apps

from recommender.listening import hub
from recommender.ml import kinds
from recommender.models import ModelKind, ModelVersion, RunStatus, TrainingRun


def test_the_model_kind_choices_are_the_ml_kinds():
    assert tuple(ModelKind.values) == kinds.KINDS


def test_the_hub_counts_feedback_for_every_family():
    assert hub.FEEDBACK_KINDS == kinds.FAMILIES


def test_the_retired_gru_stops_serving_and_its_open_runs_are_failed(db):
    migration = importlib.import_module("recommender.migrations.0008_retire_gru")
    gru = ModelVersion.objects.create(
        kind="gru", version=1, artifact_path="gru/1", n_users=90, is_active=True, reason="first"
    )
    sasrec = ModelVersion.objects.create(
        kind="sasrec", version=1, artifact_path="sasrec/1", n_users=90, is_active=True
    )
    queued = TrainingRun.objects.create(kind="gru")
    migration.retire(apps, None)
    gru.refresh_from_db(), sasrec.refresh_from_db(), queued.refresh_from_db()
    assert not gru.is_active and sasrec.is_active
    assert gru.reason == "deactivated: GRU4Rec was retired (was: first)"
    assert queued.status == RunStatus.FAILED and "retired" in queued.error
    assert not queued.is_open  # the next run of any kind is not blocked
