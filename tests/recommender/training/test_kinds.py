"""The site's kind choices and hub counters follow the one list in recommender.ml.kinds."""

from recommender.listening import hub
from recommender.ml import kinds
from recommender.models import ModelKind


def test_the_model_kind_choices_are_the_ml_kinds():
    assert tuple(ModelKind.values) == kinds.KINDS


def test_the_hub_counts_feedback_for_every_family():
    assert hub.FEEDBACK_KINDS == kinds.FAMILIES
