"""Sequence models whose item embeddings start from ALS factors (collaborative pretraining)."""

import dataclasses

import numpy as np
import pytest

from recommender.ml.seq_model import SeqConfig, build_module
from recommender.ml.seq_recommender import ITEM_INIT_STD, SASRecRecommender, init_items_from_als
from tests.recommender.ml.test_contract import N_ITEMS, _toy


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_items_of_one_taste_start_close_together():
    toy = _toy()
    config = SeqConfig.tiny()
    module = build_module(config, N_ITEMS)
    init_items_from_als(module, toy, config)
    vectors = module.item_weights().detach().numpy()
    assert vectors.std() == pytest.approx(ITEM_INIT_STD, rel=0.05)
    assert not module.item_emb.weight[0].any()  # padding stays zero
    even, odd = vectors[0:20:2], vectors[1:20:2]
    same = np.mean([_cosine(a, b) for i, a in enumerate(even) for b in even[i + 1 :]])
    across = np.mean([_cosine(a, b) for a in even for b in odd])
    assert same > across + 0.15, (same, across)


def test_a_sasrec_started_from_als_learns_the_tastes():
    toy = _toy()
    config = dataclasses.replace(
        SeqConfig.tiny(), item_init="als", epochs=30, patience=30, lr=1e-2, seed=1
    )
    model = SASRecRecommender(config).fit(toy)
    even, _ = model.recommend(0, np.array([0, 2, 4, 6]), k=5)
    odd, _ = model.recommend(1, np.array([1, 3, 5, 7]), k=5)
    assert even[0] % 2 == 0 and odd[0] % 2 == 1  # each listener stays in their taste group


def test_an_unknown_start_is_named():
    config = dataclasses.replace(SeqConfig.tiny(), item_init="glove")
    with pytest.raises(ValueError, match="item_init 'glove'"):
        SASRecRecommender(config).fit(_toy())
