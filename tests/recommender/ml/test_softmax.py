"""The chunked full-softmax cross-entropy gives PyTorch's loss and gradients."""

import dataclasses

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from recommender.ml.seq_model import SeqConfig
from recommender.ml.seq_recommender import SASRecRecommender
from recommender.ml.softmax import chunk_rows, full_softmax_cross_entropy
from tests.recommender.ml.test_refit import _walks_then_a_new_item


def _case(rows: int, items: int, dim: int = 8, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    hidden = torch.randn(rows, dim, generator=gen, requires_grad=True)
    table = torch.randn(items + 1, dim, generator=gen, requires_grad=True)  # row 0: padding
    target = torch.randint(0, items, (rows,), generator=gen)
    return hidden, table, target


def _loss_and_grads(fn, hidden, table, target):
    hidden.grad = table.grad = None
    loss = fn(hidden, table[1:], target)  # the models pass a slice of their embedding table
    (loss * 3.0).backward()  # a scaled loss scales the gradients
    return loss.detach(), hidden.grad.clone(), table.grad.clone()


def _reference(hidden, weights, target):
    return F.cross_entropy(hidden @ weights.T, target)


@pytest.mark.parametrize("items", [5, 700, 40_000])
def test_loss_and_gradients_match_pytorch_across_chunk_boundaries(items):
    rows = 2 * chunk_rows(items) + 3  # two whole chunks and a short one
    hidden, table, target = _case(rows, items)
    ours = _loss_and_grads(full_softmax_cross_entropy, hidden, table, target)
    theirs = _loss_and_grads(_reference, hidden, table, target)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert table.grad[0].abs().sum() == 0  # padding row untouched


def test_a_loss_without_gradients_still_scores():
    hidden, table, target = _case(50, 30)
    with torch.no_grad():
        loss = full_softmax_cross_entropy(hidden, table[1:], target)
    torch.testing.assert_close(loss, _reference(hidden, table[1:], target).detach())


def test_no_target_is_a_named_error():
    hidden, table, _ = _case(3, 10)
    with pytest.raises(ValueError, match="no target"):
        full_softmax_cross_entropy(hidden[:0], table[1:], torch.zeros(0, dtype=torch.long))


def test_under_bfloat16_autocast_gradients_stay_float32_and_close():
    hidden, table, target = _case(300, 500, dim=32)
    theirs = _loss_and_grads(_reference, hidden, table, target)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = _loss_and_grads(full_softmax_cross_entropy, hidden, table, target)
    assert table.grad.dtype == hidden.grad.dtype == torch.float32
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=0.05, atol=2e-3)


def test_a_model_trained_in_bfloat16_learns_the_next_step_and_keeps_float32_weights():
    config = dataclasses.replace(
        SeqConfig.tiny(), precision="bf16", epochs=30, eval_every=30, lr=1e-2, batch_size=8
    )
    model = SASRecRecommender(dataclasses.replace(config, maxlen=10, refit=0.0))
    model.fit(_walks_then_a_new_item())  # listeners walk items upward, one step at a time
    history = np.arange(10, 20)
    scores = model.scores(np.array([0]), [history])[0]
    scores[history] = -np.inf
    assert int(np.argmax(scores)) == 20
    assert {p.dtype for p in model.module.parameters()} == {torch.float32}


def test_an_unknown_precision_is_named():
    with pytest.raises(ValueError, match="precision 'fp16'"):
        SeqConfig(precision="fp16")
