"""The model kinds are listed once (recommender.ml.kinds); the registry has a class for each."""

import subprocess
import sys
from pathlib import Path

import pytest

from recommender.ml import kinds
from recommender.ml.registry import MODEL_CLASSES, default_config, model_class


def test_the_registry_has_exactly_the_listed_kinds_in_order():
    assert tuple(MODEL_CLASSES) == kinds.KINDS
    assert all(model_class(kind).kind == kind for kind in kinds.KINDS)


def test_each_kind_has_one_family():
    assert set(kinds.KINDS) == {kinds.POPULARITY, *kinds.MF_KINDS, *kinds.SEQUENCE_KINDS}
    assert not set(kinds.MF_KINDS) & set(kinds.SEQUENCE_KINDS)
    assert [kinds.family(k) for k in kinds.KINDS] == ["mf", "mf", "mf", "sequence"]
    assert {kinds.family(k) for k in kinds.KINDS} == set(kinds.FAMILIES)


def test_a_sequence_kind_is_configured_as_its_architecture():
    for kind in kinds.SEQUENCE_KINDS:
        assert default_config(kind).arch == kind


def test_an_unknown_kind_is_named():
    with pytest.raises(ValueError, match="unknown model kind 'svd'"):
        kinds.family("svd")


def test_the_list_loads_no_model_code():
    code = (
        "import sys, recommender.ml.kinds; "
        "assert not {'torch', 'numpy', 'django'} & set(sys.modules), 'heavy import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(kinds.__file__).parents[2])
