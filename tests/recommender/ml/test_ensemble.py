"""A sequence model of several networks (SeqConfig.members) sums their next-item logits."""

import dataclasses

import numpy as np
import pytest
import torch

from recommender.ml import seq_recommender
from recommender.ml.seq_config import SeqConfig
from recommender.ml.seq_model import SeqEnsemble, build_module
from recommender.ml.seq_recommender import SASRecRecommender
from tests.recommender.ml.test_contract import _toy


def test_the_ensemble_ranks_by_the_sum_of_its_members_logits():
    torch.manual_seed(0)
    ensemble = build_module(dataclasses.replace(SeqConfig.tiny(), members=3), 25).eval()
    assert isinstance(ensemble, SeqEnsemble) and len(ensemble.members) == 3
    seq = torch.tensor([[0, 3, 5, 9], [1, 2, 3, 4]])
    hidden = torch.cat([m.encode(seq)[:, -1] for m in ensemble.members], dim=1)
    torch.testing.assert_close(ensemble.score_last(seq), hidden @ ensemble.item_weights().T)


def test_members_train_one_after_another_with_their_own_seeds_and_budget_shares(monkeypatch):
    phases = []

    def recording(module, sequences, *, config, **kwargs):
        phases.append((config.seed, config.time_budget))
        return train(module, sequences, config=config, **kwargs)

    train = seq_recommender.train_sequence_model
    monkeypatch.setattr(seq_recommender, "train_sequence_model", recording)
    config = dataclasses.replace(SeqConfig.tiny(), members=2, time_budget=4.0, seed=7)
    model = SASRecRecommender(config).fit(_toy())
    assert [seed for seed, _ in phases] == [7, 8]  # each member its seed and half the budget
    assert [budget for _, budget in phases] == pytest.approx([2.0, 2.0])
    assert len(model.meta["train"]["members"]) == 2  # each network's own training report
    first, second = (m.item_weights().detach() for m in model.module.members)
    assert not torch.allclose(first, second)  # different seeds, different networks
    assert model.module.config.members == 2
    assert {m.config.members for m in model.module.members} == {1}
    scores = model.to("cpu").scores(np.array([0]), [np.array([0, 2, 4])])
    assert scores.shape == (1, model.n_items) and np.isfinite(scores).all()


def test_a_member_count_below_one_is_named():
    with pytest.raises(ValueError, match="members must be 1 or more"):
        SeqConfig(members=0)
