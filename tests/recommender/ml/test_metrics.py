"""Metrics against values worked out by hand."""

import math

import numpy as np
import pytest

from recommender.ml.metrics import (
    catalog_coverage,
    hit_rate,
    intra_list_diversity,
    mrr,
    ndcg,
    rank_targets,
    recall,
)


def test_rank_targets_counts_items_scored_at_least_as_high():
    scores = np.array([[0.9, 0.1, 0.5, 0.3], [0.2, 0.2, 0.2, 0.8]], dtype=np.float32)
    # row 0: target 2 (0.5) beaten by item 0 → rank 1; row 1: target 0 ties items 1, 2 and
    # loses to item 3 → pessimistic rank 3
    assert rank_targets(scores, np.array([2, 0])).tolist() == [1, 3]


def test_filtered_target_ranks_last_and_filtered_items_never_above():
    scores = np.array([[-np.inf, 0.1, 0.5], [0.3, -np.inf, 0.1]], dtype=np.float32)
    assert rank_targets(scores, np.array([0, 2])).tolist() == [3, 1]


def test_single_target_metrics_by_hand():
    ranks = np.array([0, 3, 12])  # first place, fourth place, outside the top 10
    assert hit_rate(ranks, 10) == pytest.approx(2 / 3)
    assert hit_rate(ranks, 1) == pytest.approx(1 / 3)
    assert recall(ranks, 10) == pytest.approx(2 / 3)
    assert ndcg(ranks, 10) == pytest.approx((1.0 + 1.0 / math.log2(5)) / 3)
    assert mrr(ranks) == pytest.approx((1 + 1 / 4 + 1 / 13) / 3)


def test_multi_target_recall_and_ndcg_by_hand():
    ranks = [np.array([0, 5]), np.array([2, 40, 50])]
    assert recall(ranks, 10) == pytest.approx((1.0 + 1 / 3) / 2)
    user1 = (1 + 1 / math.log2(7)) / (1 + 1 / math.log2(3))
    user2 = (1 / math.log2(4)) / (1 + 1 / math.log2(3) + 1 / math.log2(4))
    assert ndcg(ranks, 10) == pytest.approx((user1 + user2) / 2)
    assert hit_rate(ranks, 2) == pytest.approx(0.5)
    assert mrr(ranks) == pytest.approx((1 + 1 / 3) / 2)


def test_coverage_and_diversity_by_hand():
    assert catalog_coverage([np.array([0, 1]), np.array([1, 2])], 10) == pytest.approx(0.3)
    vectors = np.array([[1, 0], [0, 1], [1, 0]], dtype=np.float32)
    # list [0, 1]: orthogonal → distance 1; list [0, 2]: identical → distance 0
    assert intra_list_diversity([np.array([0, 1]), np.array([0, 2])], vectors) == pytest.approx(0.5)


def test_empty_inputs_give_zero_not_errors():
    assert hit_rate(np.array([], dtype=np.int64), 10) == 0.0
    assert ndcg([], 10) == 0.0
    assert catalog_coverage([], 5) == 0.0
