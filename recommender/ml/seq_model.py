"""The sequence model that predicts a listener's next item: SASRec.

SASRec: Kang & McAuley (2018), "Self-Attentive Sequential Recommendation" — a causal
Transformer over the item history with learned positions; here with pre-norm blocks (as in
nanoGPT) and trained with full softmax cross-entropy over the catalog as in Klenitskiy &
Vasilev (2023), "Turning Dross Into Gold Loss: is BERT4Rec really better than SASRec?".
The output layer is the hidden state dotted with the (tied) item embedding table.

``forward`` returns hidden states for the loss; ``score_last`` returns catalog scores for the
last position of each sequence, which is all inference needs. ``SeqEnsemble`` sums the scores of
networks trained apart (``SeqModelConfig.members``). Modules read only the model part of
a config (``recommender.ml.seq_config``).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn
from torch.nn import functional as F

from recommender.ml.seq_config import SeqModelConfig

__all__ = ["SASRec", "SeqEnsemble", "build_module", "build_network"]


ITEM_INIT_STD = 0.02  # spread of the random item embeddings (and of ALS starts, scaled to it)


class _Block(nn.Module):
    """Pre-norm causal self-attention + feed-forward block."""

    def __init__(self, c: SeqModelConfig) -> None:
        super().__init__()
        self.heads = c.heads
        self.ln1 = nn.LayerNorm(c.hidden)
        self.qkv = nn.Linear(c.hidden, 3 * c.hidden)
        self.proj = nn.Linear(c.hidden, c.hidden)
        self.ln2 = nn.LayerNorm(c.hidden)
        self.ff = nn.Sequential(
            nn.Linear(c.hidden, 4 * c.hidden), nn.GELU(), nn.Linear(4 * c.hidden, c.hidden)
        )
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (t.view(b, n, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))
        att = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + self.drop(self.proj(att.transpose(1, 2).reshape(b, n, d)))
        return x + self.drop(self.ff(self.ln2(x)))


class _SeqBase(nn.Module):
    def __init__(self, c: SeqModelConfig, n_items: int) -> None:
        super().__init__()
        self.config = c
        self.n_items = n_items
        # index 0 is padding; item i is stored at i + 1
        self.item_emb = nn.Embedding(n_items + 1, c.hidden, padding_idx=0)
        nn.init.normal_(self.item_emb.weight, std=ITEM_INIT_STD)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()
        self.emb_drop = nn.Dropout(c.dropout)

    def encode(self, seq: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """Hidden states ``(B, L, d)`` for padded (left-padded, 0 = pad) item+1 sequences."""
        return self.encode(seq)

    def item_weights(self) -> torch.Tensor:
        """Output embeddings of the real items, ``(n_items, d)``."""
        return self.item_emb.weight[1:]

    @torch.no_grad()
    def score_last(self, seq: torch.Tensor) -> torch.Tensor:
        """Scores ``(B, n_items)`` of every item as the next one after each sequence."""
        return self.encode(seq)[:, -1, :] @ self.item_weights().T


class SASRec(_SeqBase):
    def __init__(self, c: SeqModelConfig, n_items: int) -> None:
        super().__init__(c, n_items)
        if c.hidden % c.heads:
            raise ValueError(f"hidden size {c.hidden} is not divisible by {c.heads} heads")
        self.pos_emb = nn.Embedding(c.maxlen, c.hidden)
        nn.init.normal_(self.pos_emb.weight, std=0.02)
        self.blocks = nn.ModuleList(_Block(c) for _ in range(c.layers))
        self.ln_f = nn.LayerNorm(c.hidden)

    def encode(self, seq: torch.Tensor) -> torch.Tensor:
        n = seq.shape[1]
        pad = seq == 0
        # positions count back from the most recent item, so the latest is always position 0
        positions = torch.arange(n - 1, -1, -1, device=seq.device)
        x = self.item_emb(seq) * (self.config.hidden**0.5) + self.pos_emb(positions)[None]
        x = self.emb_drop(x) * (~pad)[..., None]
        causal = torch.ones(n, n, dtype=torch.bool, device=seq.device).tril()
        # a query may attend to earlier real items and always to itself (no all-masked rows)
        mask = (causal[None] & ~pad[:, None, :]) | torch.eye(n, dtype=torch.bool, device=seq.device)
        for block in self.blocks:
            x = block(x, mask[:, None])
        return self.ln_f(x)


class SeqEnsemble(nn.Module):
    """Networks trained apart whose next-item logits are summed (inference only).

    A sum of logits ranks items as the mean of the networks' log-probabilities does: each row's
    normalisers are constants. Each network is trained on its own, with its own loss.
    """

    def __init__(self, config: SeqModelConfig, networks: list[_SeqBase]) -> None:
        super().__init__()
        self.config = config
        self.members = nn.ModuleList(networks)
        self.n_items = networks[0].n_items

    def item_weights(self) -> torch.Tensor:
        """The networks' item tables side by side, ``(n_items, members * d)``."""
        return torch.cat([m.item_weights() for m in self.members], dim=1)  # type: ignore[operator]

    @torch.no_grad()
    def score_last(self, seq: torch.Tensor) -> torch.Tensor:
        """The sum of the networks' scores ``(B, n_items)`` of each next item."""
        return torch.stack([m.score_last(seq) for m in self.members]).sum(dim=0)  # type: ignore[operator]


def build_network(c: SeqModelConfig, n_items: int) -> _SeqBase:
    """One network for ``c.arch`` over a catalog of ``n_items``."""
    if c.arch == "sasrec":
        return SASRec(c, n_items)
    raise ValueError(f"unknown sequence architecture {c.arch!r}; expected 'sasrec'")


def build_module(c: SeqModelConfig, n_items: int) -> _SeqBase | SeqEnsemble:
    """The model for ``c``: one network, or ``c.members`` of them as a :class:`SeqEnsemble`."""
    if c.members == 1:
        return build_network(c, n_items)
    one = dataclasses.replace(c, members=1)
    return SeqEnsemble(c, [build_network(one, n_items) for _ in range(c.members)])
