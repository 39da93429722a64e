"""The chunked full-softmax cross-entropy gives PyTorch's loss and gradients."""

import dataclasses

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from recommender.ml import softmax
from recommender.ml.base import FitData
from recommender.ml.seq_config import SeqConfig
from recommender.ml.seq_recommender import SASRecRecommender
from recommender.ml.softmax import chunk_rows, full_softmax_cross_entropy
from tests.recommender.ml.test_search import _walks_then_a_new_item


def _case(rows: int, items: int, dim: int = 8, seed: int = 0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    hidden = torch.randn(rows, dim, generator=gen, dtype=dtype, requires_grad=True)
    table = torch.randn(items + 1, dim, generator=gen, dtype=dtype, requires_grad=True)
    target = torch.randint(0, items, (rows,), generator=gen)
    return hidden, table, target  # table's row 0 is padding, as in the models


def _loss_and_grads(fn, hidden, weights, target, leaves):
    for leaf in leaves:
        leaf.grad = None
    loss = fn(hidden, weights, target)
    (loss * 3.0).backward()  # a scaled loss scales the gradients
    grads = [leaf.grad.clone() if leaf.grad is not None else None for leaf in leaves]
    return [loss.detach(), *grads]


def _reference(hidden, weights, target):
    return F.cross_entropy(hidden @ weights.T, target)


def _assert_same(ours, theirs, **tolerance):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.dtype == b.dtype
            torch.testing.assert_close(a, b, **tolerance)


@pytest.mark.parametrize("items", [5, 700, 40_000])
def test_loss_and_gradients_match_pytorch_across_chunk_boundaries(items):
    rows = 2 * chunk_rows(items) + 3  # two whole chunks and a short one
    hidden, table, target = _case(rows, items)
    ours = _loss_and_grads(full_softmax_cross_entropy, hidden, table[1:], target, [hidden, table])
    theirs = _loss_and_grads(_reference, hidden, table[1:], target, [hidden, table])
    _assert_same(ours, theirs, rtol=1e-4, atol=1e-6)
    assert table.grad[0].abs().sum() == 0  # padding row untouched


def test_non_contiguous_inputs_and_float64_match_pytorch():
    hidden, table, target = _case(70, 50, dim=16, dtype=torch.float64)
    views = (hidden[:, ::2], table[1:, ::2])  # strided views, as a slice of a wider table
    ours = _loss_and_grads(full_softmax_cross_entropy, *views, target, [hidden, table])
    theirs = _loss_and_grads(_reference, *views, target, [hidden, table])
    _assert_same(ours, theirs)


@pytest.mark.parametrize("trainable", ["hidden", "weights"])
def test_only_the_inputs_that_need_a_gradient_get_one(trainable):
    hidden, table, target = _case(40, 30)
    hidden.requires_grad_(trainable == "hidden")
    table.requires_grad_(trainable == "weights")
    leaves = [hidden, table]
    ours = _loss_and_grads(full_softmax_cross_entropy, hidden, table[1:], target, leaves)
    theirs = _loss_and_grads(_reference, hidden, table[1:], target, leaves)
    _assert_same(ours, theirs, rtol=1e-4, atol=1e-6)


def test_without_grad_mode_only_the_loss_is_computed(monkeypatch):
    hidden, table, target = _case(50, 30)
    asked = []
    real = softmax._chunked
    monkeypatch.setattr(softmax, "_chunked", lambda *a: asked.append(a[3]) or real(*a))
    with torch.no_grad():
        loss = full_softmax_cross_entropy(hidden, table[1:], target)
    assert asked == [(False, False)]
    torch.testing.assert_close(loss, _reference(hidden, table[1:], target).detach())


def test_under_bfloat16_autocast_it_matches_pytorchs_autocast_loss():
    hidden, table, target = _case(300, 500, dim=32)
    leaves = [hidden, table]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = _loss_and_grads(full_softmax_cross_entropy, hidden, table[1:], target, leaves)
        theirs = _loss_and_grads(_reference, hidden, table[1:], target, leaves)
        plain = _loss_and_grads(full_softmax_cross_entropy, hidden, table[1:], target, [])
    torch.testing.assert_close(ours[0], theirs[0], rtol=1e-6, atol=1e-6)
    _assert_same(ours[1:], theirs[1:], rtol=0.02, atol=1e-3)
    float32 = _loss_and_grads(full_softmax_cross_entropy, hidden, table[1:], target, [])
    assert plain[0] == ours[0] and float32[0] != ours[0]  # the products did run in bfloat16


def test_a_second_derivative_is_refused_not_wrong():
    hidden, table, target = _case(20, 10)
    loss = full_softmax_cross_entropy(hidden, table[1:], target)
    with pytest.raises(RuntimeError, match="differentiated twice"):
        torch.autograd.grad(loss, hidden, create_graph=True)


def test_changing_the_table_before_backward_is_an_error():
    hidden, table, target = _case(20, 10)
    loss = full_softmax_cross_entropy(hidden, table[1:], target)
    with torch.no_grad():
        table.mul_(2.0)
    with pytest.raises(RuntimeError, match="inplace"):
        loss.backward()


def test_no_target_is_a_named_error():
    hidden, table, _ = _case(3, 10)
    with pytest.raises(ValueError, match="no target"):
        full_softmax_cross_entropy(hidden[:0], table[1:], torch.zeros(0, dtype=torch.long))


def test_a_model_trained_in_bfloat16_learns_the_next_step():
    config = dataclasses.replace(
        SeqConfig.tiny(), precision="bf16", epochs=30, lr=1e-2, batch_size=8
    )
    model = SASRecRecommender(dataclasses.replace(config, maxlen=10))
    walks = _walks_then_a_new_item()  # listeners walk items upward, one step at a time
    model.fit(FitData(walks.matrix, walks.sequences))  # all 30 epochs: nothing to stop on
    history = np.arange(10, 20)
    scores = model.scores(np.array([0]), [history])[0]
    scores[history] = -np.inf
    assert int(np.argmax(scores)) == 20


def test_an_unknown_precision_is_named():
    with pytest.raises(ValueError, match="precision 'fp16'"):
        SeqConfig(precision="fp16")
