"""Sequence models whose item embeddings start from ALS factors (collaborative pretraining)."""

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recommender.ml.base import FitData
from recommender.ml.registry import load_model
from recommender.ml.seq_config import SeqConfig
from recommender.ml.seq_model import ITEM_INIT_STD, build_module
from recommender.ml.seq_recommender import SASRecRecommender, init_items_from_als
from tests.recommender.ml.test_contract import N_ITEMS, _toy


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _with_unplayed_items(data: FitData, extra: int) -> FitData:
    """``data`` with ``extra`` more items in the catalog that nobody played."""
    matrix = sp.hstack([data.matrix, sp.csr_matrix((data.matrix.shape[0], extra))]).tocsr()
    return FitData(matrix, data.sequences)


def test_items_of_one_taste_start_close_together():
    config = SeqConfig.tiny()
    module = build_module(config, N_ITEMS)
    init_items_from_als(module, _toy(), config)
    vectors = module.item_weights().detach().numpy()
    assert vectors.std() == pytest.approx(ITEM_INIT_STD, rel=0.05)
    assert not module.item_emb.weight[0].any()  # padding stays zero
    even, odd = vectors[0:20:2], vectors[1:20:2]
    same = np.mean([_cosine(a, b) for i, a in enumerate(even) for b in even[i + 1 :]])
    across = np.mean([_cosine(a, b) for a in even for b in odd])
    assert same > across + 0.15, (same, across)


def test_items_nobody_played_keep_their_random_start():
    config = SeqConfig.tiny()
    data = _with_unplayed_items(_toy(), extra=200)  # mostly unplayed: must not shrink the rest
    module = build_module(config, data.n_items)
    before = module.item_weights().detach().clone()
    init_items_from_als(module, data, config)
    after = module.item_weights().detach()
    assert torch.equal(after[N_ITEMS:], before[N_ITEMS:])
    assert not torch.equal(after[:N_ITEMS], before[:N_ITEMS])
    assert after[:N_ITEMS].std().item() == pytest.approx(ITEM_INIT_STD, rel=0.05)


def test_the_start_is_kept_with_a_saved_model(tmp_path):
    config = dataclasses.replace(SeqConfig.tiny(), item_init="als", epochs=1)
    SASRecRecommender(config).fit(_toy()).save(tmp_path / "m")
    assert load_model(tmp_path / "m").config.item_init == "als"


def test_an_unknown_start_is_named():
    with pytest.raises(ValueError, match="item_init 'glove'"):
        dataclasses.replace(SeqConfig.tiny(), item_init="glove")
