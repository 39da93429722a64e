"""Token language models: a causal Transformer decoder with a KV cache, and a stacked LSTM.

Transformer: Vaswani et al. (2017) "Attention Is All You Need", decoder-only with pre-layer-norm
blocks as in GPT-2 (Radford et al. 2019; layout after Karpathy's nanoGPT); the key/value cache
makes each sampled token cost one position instead of the whole prefix (Pope et al. 2022,
"Efficiently Scaling Transformer Inference"). LSTM: Hochreiter & Schmidhuber (1997).

Both expose ``forward`` (logits and the mean next-token cross-entropy), ``init_state`` /
``step`` for generation (cached state), and ``logits_last`` (the uncached path, for comparison).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from generator.ml.config import ModelConfig

State = Any  # per-architecture generation state (KV cache / LSTM hidden state)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)
        self.dropout = config.dropout

    def forward(
        self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_heads, c // self.n_heads).transpose(1, 2) for z in (q, k, v))
        if cache is not None:
            k = torch.cat([cache[0], k], dim=2)
            v = torch.cat([cache[1], v], dim=2)
        # With a cache the new queries sit after every cached key: no mask needed for one token.
        causal = cache is None or t > 1
        if cache is not None and t > 1:
            raise ValueError("the KV cache takes one token at a time")
        y = F.scaled_dot_product_attention(
            q, k, v, is_causal=causal, dropout_p=self.dropout if self.training else 0.0
        )
        y = y.transpose(1, 2).contiguous().view(b, t, c)
        return self.proj(y), (k, v)


class Block(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.d_model)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.d_model)
        self.mlp = nn.Sequential(
            nn.Linear(config.d_model, 4 * config.d_model),
            nn.GELU(),
            nn.Linear(4 * config.d_model, config.d_model),
            nn.Dropout(config.dropout),
        )

    def forward(self, x: torch.Tensor, cache=None):
        a, new_cache = self.attn(self.ln1(x), cache)
        x = x + a
        return x + self.mlp(self.ln2(x)), new_cache


class TransformerLM(nn.Module):
    """Decoder-only Transformer with learned positions and tied input/output embeddings."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.d_model % config.n_heads:
            raise ValueError("d_model must be a multiple of n_heads")
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.d_model)
        self.pos_emb = nn.Embedding(config.max_len, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight
        self.apply(_init_weights)

    def _hidden(self, idx: torch.Tensor, start: int = 0, caches=None):
        t = idx.shape[1]
        if start + t > self.config.max_len:
            raise ValueError(f"context of {start + t} tokens exceeds max_len {self.config.max_len}")
        pos = torch.arange(start, start + t, device=idx.device)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))
        new_caches = []
        for i, block in enumerate(self.blocks):
            x, c = block(x, None if caches is None else caches[i])
            new_caches.append(c)
        return self.ln_f(x), new_caches

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, ignore_index=-100):
        """Logits ``(B, T, V)`` and, given targets, the mean next-token cross-entropy (nats)."""
        h, _ = self._hidden(idx)
        logits = self.head(h)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(
                logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=ignore_index
            )
        return logits, loss

    @torch.no_grad()
    def init_state(self, prefix: torch.Tensor) -> tuple[torch.Tensor, State]:
        """Run the prefix once; return the next-token logits and the KV cache."""
        h, caches = self._hidden(prefix)
        return self.head(h[:, -1]), {"caches": caches, "length": prefix.shape[1]}

    @torch.no_grad()
    def step(self, token: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Feed one token ``(B,)`` against the cache; return next logits and the grown cache."""
        h, caches = self._hidden(token[:, None], start=state["length"], caches=state["caches"])
        return self.head(h[:, -1]), {"caches": caches, "length": state["length"] + 1}

    def state_length(self, state: State) -> int:
        return state["length"]

    @torch.no_grad()
    def logits_last(self, idx: torch.Tensor) -> torch.Tensor:
        """Next-token logits recomputing the whole prefix (the path without a cache)."""
        h, _ = self._hidden(idx)
        return self.head(h[:, -1])


class LSTMLM(nn.Module):
    """Embedding -> stacked LSTM -> linear head."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.d_model)
        self.drop = nn.Dropout(config.dropout)
        self.lstm = nn.LSTM(
            config.d_model,
            config.d_model,
            num_layers=config.n_layers,
            dropout=config.dropout if config.n_layers > 1 else 0.0,
            batch_first=True,
        )
        self.head = nn.Linear(config.d_model, config.vocab_size)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, ignore_index=-100):
        out, _ = self.lstm(self.drop(self.tok_emb(idx)))
        logits = self.head(self.drop(out))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(
                logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=ignore_index
            )
        return logits, loss

    @torch.no_grad()
    def init_state(self, prefix: torch.Tensor) -> tuple[torch.Tensor, State]:
        out, hidden = self.lstm(self.tok_emb(prefix))
        return self.head(out[:, -1]), {"hidden": hidden, "length": prefix.shape[1]}

    @torch.no_grad()
    def step(self, token: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        out, hidden = self.lstm(self.tok_emb(token[:, None]), state["hidden"])
        return self.head(out[:, -1]), {"hidden": hidden, "length": state["length"] + 1}

    def state_length(self, state: State) -> int:
        return 0  # an LSTM's state does not grow: it never needs re-priming

    @torch.no_grad()
    def logits_last(self, idx: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.tok_emb(idx))
        return self.head(out[:, -1])


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)


def build_model(config: ModelConfig) -> nn.Module:
    if config.vocab_size <= 0:
        raise ValueError("ModelConfig.vocab_size must be set from the tokenizer")
    if config.arch == "transformer":
        return TransformerLM(config)
    if config.arch == "lstm":
        return LSTMLM(config)
    raise ValueError(f"unknown architecture {config.arch!r}")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
