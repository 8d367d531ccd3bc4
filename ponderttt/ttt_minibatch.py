"""TTT-Linear over mini-batches of a chunk, causal, with trainable slow weights (issue 24).

The layer reads a frozen backbone's final hidden states ``h`` (B, n, d) and returns a residual
``o(concat_h z_h)`` that is added to ``h`` before the LM head. Per head (the backbone's own head
count), fast weights ``W`` (hd x hd) and ``b`` start at the learned ``W0, b0`` at each chunk.
The chunk is cut into mini-batches of ``mini_batch`` tokens (16, as upstream's later code and
Sun et al.); for mini-batch j:

  1. output ``z = x_Q + LN(x_Q W + b)`` with W, b as they are BEFORE mini-batch j's own steps
     (so every token is predicted with fast weights that have seen only earlier mini-batches
     of the chunk: a lagged, strictly causal scoring);
  2. the action's k inner steps on mini-batch j's reconstruction loss
     ``l = mean_t || LN(x_K,t W + b) - (x_V,t - x_K,t) ||^2`` (sum over head_dim), each
     ``W <- W - eta / head_dim * dl/dW`` (b alike), ``eta = base_lr * sigmoid(lr_logit_h)``.

The mean over the mini-batch's tokens is upstream's ``1/t`` token scaling taken at the
mini-batch's end (t = 16); ``1/head_dim`` is its gradient normalisation. SKIP takes no steps:
every mini-batch is read through ``W0, b0``.

What is added to ``h`` (issue 32): by default (``contribution="delta"``) only what the updates
changed, ``o(LN(x_Q W + b) - LN(x_Q W0 + b0))``. The static part (``x_Q + LN(x_Q W0 + b0)``) is a
learned adapter on the frozen backbone that has nothing to do with test-time training; trained
on a few thousand tokens it is what made every action worse than the bare backbone (issue 24's
runs: SKIP 0.5-0.7 nats above it). With the delta, SKIP returns ``h`` unchanged for any slow
weights (SKIP == the bare backbone, exactly), and an update helps or hurts only by what it
learned from the chunk. ``contribution="full"`` keeps the earlier layer (tests, comparison). Because each step is small, UPDATE_1/2/4 end at
different weights (the random-init layer of ``ttt.py`` took one step of 0.5 that did nearly all
the work). ``recon_before`` is the chunk's reconstruction loss at ``W0, b0`` (what the gate
reads). ``o`` starts at zero, so before training the layer leaves the backbone's loss as it is.

The slow weights (projections, ``W0, b0``, the LN affine, ``lr_logit``) are trained by
:func:`train_slow_weights` on cached hidden states of training chunks, the backbone frozen, with
the inner loop differentiated through (``create_graph``) and the action's k drawn per chunk
from {0, 1, 2, 4}, so the layer is trained for every action it will be run with.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

ACTION_STEPS = (0, 1, 2, 4)   # SKIP, UPDATE_1, UPDATE_2, UPDATE_4


#: behaviour version (rtrl_moe.records.versions): bump when the delta TTT layer: what SKIP/UPDATE_k add to h changes
VERSIONS = {"ponder.ttt-layer": 1}


@dataclass(frozen=True)
class MiniBatchTTTConfig:
    d_model: int
    n_heads: int
    mini_batch: int = 16
    base_lr: float = 1.0
    ln_eps: float = 1e-5
    init_std: float = 0.02
    contribution: str = "delta"   # "delta": o(z_W - z_W0), SKIP is the identity; "full": o(z_W)

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def to_dict(self) -> dict:
        return asdict(self)


class MiniBatchTTT(nn.Module):
    def __init__(self, cfg: MiniBatchTTTConfig):
        super().__init__()
        if cfg.contribution not in ("delta", "full"):
            raise ValueError(f"contribution must be 'delta' or 'full', got {cfg.contribution!r}")
        if cfg.d_model % cfg.n_heads:
            raise ValueError(f"d_model {cfg.d_model} is not a multiple of n_heads {cfg.n_heads}")
        self.cfg = cfg
        d, H, hd = cfg.d_model, cfg.n_heads, cfg.head_dim
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.W0 = nn.Parameter(torch.empty(H, hd, hd))
        self.b0 = nn.Parameter(torch.zeros(H, 1, hd))
        self.ln_weight = nn.Parameter(torch.ones(H, 1, hd))
        self.ln_bias = nn.Parameter(torch.zeros(H, 1, hd))
        self.lr_logit = nn.Parameter(torch.zeros(H))
        for w in (self.q.weight, self.k.weight, self.v.weight, self.W0):
            nn.init.normal_(w, std=cfg.init_std)
        nn.init.zeros_(self.o.weight)   # the layer starts as the identity on h

    def _heads(self, x):
        B, n, _ = x.shape
        return x.view(B, n, self.cfg.n_heads, self.cfg.head_dim).transpose(1, 2)

    def _ln(self, z):
        return F.layer_norm(z, z.shape[-1:], eps=self.cfg.ln_eps) * self.ln_weight + self.ln_bias

    def recon(self, xk, xv, W, b):
        """(B, H) reconstruction loss, mean over tokens of the squared error summed over hd."""
        return (self._ln(xk @ W + b) - (xv - xk)).pow(2).sum(-1).mean(-1)

    def forward(self, h: torch.Tensor, k: int, *, train: bool = False) -> tuple:
        """(residual (B, n, d), recon_before (B,)) for action steps ``k`` per mini-batch.
        ``train``: keep the graph through the inner steps (outer training)."""
        cfg = self.cfg
        B, n, d = h.shape
        mb = cfg.mini_batch
        if n % mb:
            raise ValueError(f"chunk of {n} tokens is not a multiple of the mini-batch {mb}")
        xq, xk, xv = self._heads(self.q(h)), self._heads(self.k(h)), self._heads(self.v(h))
        W = self.W0.unsqueeze(0).expand(B, -1, -1, -1)
        b = self.b0.unsqueeze(0).expand(B, -1, -1, -1)
        recon_before = self.recon(xk, xv, W, b).mean(-1)
        delta = cfg.contribution == "delta"
        if delta and k == 0:   # nothing changed: exactly the backbone's h (no rounding either)
            return torch.zeros_like(h), recon_before
        W0, b0 = W, b
        eta = (cfg.base_lr * torch.sigmoid(self.lr_logit) / cfg.head_dim).view(1, -1, 1, 1)
        outs = []
        for j in range(n // mb):
            s = slice(j * mb, (j + 1) * mb)
            q = xq[:, :, s]
            if delta:   # j = 0 has no update yet: its difference is 0
                outs.append(self._ln(q @ W + b) - self._ln(q @ W0 + b0) if j else torch.zeros_like(q))
            else:
                outs.append(q + self._ln(q @ W + b))
            if k == 0 or j == n // mb - 1:   # the last mini-batch's steps would serve nobody
                continue
            kk, vv = xk[:, :, s], xv[:, :, s]
            if not train:
                W, b = W.detach(), b.detach()
            for _ in range(k):
                with torch.enable_grad():
                    if not train:
                        W, b = W.detach().requires_grad_(True), b.detach().requires_grad_(True)
                    loss = self.recon(kk, vv, W, b).sum()
                    gW, gb = torch.autograd.grad(loss, (W, b), create_graph=train)
                W, b = W - eta * gW, b - eta * gb
        z = torch.cat(outs, dim=2)
        return self.o(z.transpose(1, 2).reshape(B, n, d)), recon_before


def chunk_loss(head: nn.Module, h: torch.Tensor, res: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy within the chunk (n - 1 targets), nats per token."""
    logits = head(h + res)
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(), ids[:, 1:].reshape(-1))


@torch.no_grad()
def outcome_rows(layer: MiniBatchTTT, head: nn.Module, hidden: torch.Tensor, ids: torch.Tensor):
    """Per chunk the loss after each action (SKIP, UPDATE_1/2/4), the reconstruction loss
    before any update, and the seconds of each action's TTT part and LM head."""
    import numpy as np
    n = hidden.shape[0]
    losses, recon = np.empty((n, len(ACTION_STEPS))), np.empty(n)
    secs = np.zeros((len(ACTION_STEPS), 2))
    for i in range(n):
        h, x = hidden[i:i + 1], ids[i:i + 1]
        for a, k in enumerate(ACTION_STEPS):
            t0 = time.perf_counter()
            res, rb = layer(h, k)
            t1 = time.perf_counter()
            losses[i, a] = float(chunk_loss(head, h, res, x))
            secs[a] += (t1 - t0, time.perf_counter() - t1)
            if a == 0:
                recon[i] = float(rb.mean())
    return losses, recon, secs


def train_slow_weights(layer: MiniBatchTTT, head: nn.Module, hidden: torch.Tensor,
                       ids: torch.Tensor, steps: int, *, lr: float = 1e-3, seed: int = 0,
                       log=None) -> list:
    """Adam on the layer's slow weights, one training chunk and one k from ACTION_STEPS per
    step (both drawn from a generator seeded by ``seed``); the backbone (and its head) frozen.
    Returns per step (k, loss)."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(layer.parameters(), lr=lr)
    hist = []
    head.requires_grad_(False)
    for step in range(steps):
        i = int(torch.randint(0, hidden.shape[0], (1,), generator=g))
        k = ACTION_STEPS[int(torch.randint(0, len(ACTION_STEPS), (1,), generator=g))]
        if k == 0 and layer.cfg.contribution == "delta":
            k = 1   # SKIP has no gradient in the delta layer
        with torch.enable_grad():
            res, _ = layer(hidden[i:i + 1], k, train=True)
            loss = chunk_loss(head, hidden[i:i + 1], res, ids[i:i + 1])
            opt.zero_grad()
            loss.backward()
        torch.nn.utils.clip_grad_norm_(layer.parameters(), 1.0)
        opt.step()
        hist.append((k, float(loss.detach())))
        if log is not None and (step + 1) % 25 == 0:
            log(f"  outer step {step + 1}/{steps}: k={k} loss={hist[-1][1]:.4f}")
    return hist
