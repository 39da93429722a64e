"""Full softmax cross-entropy over the catalog, computed in cache-sized chunks of rows.

The sequence models score every hidden state against every item: ``h @ W.T`` is an
``(M, n_items)`` matrix of logits (5,000 by 3,400 floats, 70 MB, for one ML-1M batch). Autograd
writes it, reads it for the log-softmax, writes the log-probabilities, fills a gradient of the
same size and reads it twice more: on a CPU, moving those matrices costs more than the matrix
products. Here each chunk of rows is scored, turned into its gradient (softmax minus the one-hot
target) and multiplied back while it is still in cache, in the forward pass; the backward pass
only scales the saved gradients. Same loss and gradients as ``F.cross_entropy(h @ W.T, t)``, in
about half the time on this project's 2-core CPU (``make bench-recsys`` prints both). Under
bfloat16 autocast (``SeqConfig.precision``) the products run in bfloat16 and the softmax in
float32, as autocast runs ``F.cross_entropy``. A GPU keeps the plain ``F.cross_entropy``, which
it fuses itself.

The same idea, as GPU kernels for language models' vocabularies: Hsu et al. (2024), "Liger
Kernel" (fused linear cross-entropy), and Wijmans et al. (2024), "Cut Your Losses in
Large-Vocabulary Language Models".
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

__all__ = ["chunk_rows", "full_softmax_cross_entropy"]

CHUNK_BYTES = 2 << 20  # float32 logits per chunk (at least MIN_ROWS rows): within a CPU's cache
MIN_ROWS = 16


def chunk_rows(n_items: int) -> int:
    """Rows per chunk: ``CHUNK_BYTES`` of float32 logits, or ``MIN_ROWS`` for huge catalogs."""
    return max(MIN_ROWS, CHUNK_BYTES // (4 * max(n_items, 1)))


def _chunked(
    hidden: torch.Tensor,
    weights: torch.Tensor,
    target: torch.Tensor,
    want: tuple[bool, bool],
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Summed loss, and the summed gradients that ``want`` asks for (of hidden, of weights)."""
    device = hidden.device.type
    # under autocast (mixed precision) the products run in its type, the softmax in float32
    dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else None
    table = weights.to(dtype or weights.dtype)
    loss_dtype = torch.promote_types(hidden.dtype, torch.float32)
    grad_h = torch.empty_like(hidden) if want[0] else None
    grad_w = torch.zeros_like(weights, dtype=loss_dtype) if want[1] else None
    total = torch.zeros((), dtype=loss_dtype, device=hidden.device)
    rows = chunk_rows(len(weights))
    with torch.autocast(device, enabled=False):
        for start in range(0, len(target), rows):
            h, t = hidden[start : start + rows].to(table.dtype), target[start : start + rows]
            logits = (h @ table.T).to(loss_dtype)
            lse = torch.logsumexp(logits, dim=1)
            total += (lse - logits.gather(1, t[:, None]).squeeze(1)).sum()
            if grad_h is None and grad_w is None:
                continue
            probs = logits.sub_(lse[:, None]).exp_()
            probs[torch.arange(len(t), device=t.device), t] -= 1.0
            probs = probs.to(table.dtype)
            if grad_h is not None:
                grad_h[start : start + rows] = probs @ table
            if grad_w is not None and grad_w.dtype == h.dtype:
                grad_w.addmm_(probs.T, h)  # in place, no temporary
            elif grad_w is not None:
                grad_w += probs.T @ h
    return total, grad_h, grad_w if grad_w is None else grad_w.to(weights.dtype)


class _ChunkedCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden: torch.Tensor, weights: torch.Tensor, target: torch.Tensor):
        want = (ctx.needs_input_grad[0], ctx.needs_input_grad[1])
        total, grad_h, grad_w = _chunked(hidden, weights, target, want)
        # the inputs are saved too, so that changing them in place before backward is an error
        ctx.save_for_backward(hidden, weights, grad_h, grad_w)
        ctx.count = len(target)
        return total / ctx.count

    @staticmethod
    def backward(ctx, grad_loss: torch.Tensor):
        if torch.is_grad_enabled():  # create_graph=True: the saved gradients have no graph
            raise RuntimeError("full_softmax_cross_entropy cannot be differentiated twice")
        _, _, grad_h, grad_w = ctx.saved_tensors
        scale = grad_loss / ctx.count
        return (
            None if grad_h is None else grad_h * scale,
            None if grad_w is None else grad_w * scale,
            None,
        )


def full_softmax_cross_entropy(
    hidden: torch.Tensor, weights: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """Mean cross-entropy of ``softmax(hidden @ weights.T)`` against ``target`` item indices.

    ``hidden`` is ``(M, d)``, ``weights`` ``(n_items, d)``, ``target`` ``(M,)``. On a CPU the
    gradients are formed with the loss (only those needed, none without grad mode), so the loss
    cannot be differentiated twice; on a GPU this is ``F.cross_entropy(hidden @ weights.T, t)``.
    """
    if len(target) == 0:
        raise ValueError("no target positions to score")
    if hidden.is_cuda:  # a GPU holds the whole matrix and fuses the softmax itself
        return F.cross_entropy(hidden @ weights.T, target)
    if not (torch.is_grad_enabled() and (hidden.requires_grad or weights.requires_grad)):
        return _chunked(hidden, weights, target, (False, False))[0] / len(target)
    return _ChunkedCrossEntropy.apply(hidden, weights, target)
