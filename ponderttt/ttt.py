"""TTT-Linear (Sun et al. 2024, "Learning to (Learn at Test Time)"), chunk-level.

Per head h a fast weight ``W_h`` (head_dim x head_dim) and bias ``b_h`` define
``f(x) = x + LN_h(x W_h + b_h)``. On a chunk of n tokens with learned projections
``x_K, x_V, x_Q`` of the hidden state, the self-supervised inner loss is

    l(W, b) = 1/n * sum_t || LN_h(x_K,t W_h + b_h) - (x_V,t - x_K,t) ||^2     (per head)

i.e. ``|| f(x_K) - x_V ||^2``; one inner step is ``W <- W - eta_h * dl/dW`` (and b alike) with
``eta_h = eta_base * sigmoid(lr_logit_h)``. The gradient is taken by autograd on detached
copies of W and b (the closed form is in the tests, which check it against this). The output
``f(x_Q)`` through the current fast weights, projected by ``o``, is what the model adds to its
final hidden state.

Fast weights are explicit state (:class:`FastWeights`), not module attributes, so a caller can
reset them per sequence, keep them across chunks and see exactly how many steps were taken.
Nothing in this package trains the slow parameters (projections, W0, b0, LN, lr_logit): they
keep their random init, and the inner steps run without an outer graph.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import TTTConfig


@dataclass
class FastWeights:
    """The per-sequence state: W (B, H, hd, hd), b (B, H, 1, hd), and inner steps taken."""
    W: torch.Tensor
    b: torch.Tensor
    steps: int = 0

    def clone(self) -> "FastWeights":
        return FastWeights(self.W.clone(), self.b.clone(), self.steps)


class TTTLinear(nn.Module):
    def __init__(self, cfg: TTTConfig):
        super().__init__()
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
        for w in (self.q.weight, self.k.weight, self.v.weight, self.o.weight, self.W0):
            nn.init.normal_(w, std=cfg.init_std)

    # -- state -------------------------------------------------------------------------------
    def init_state(self, batch: int = 1) -> FastWeights:
        """Fresh fast weights (W0, b0) for a new sequence; detached: no outer training here."""
        W = self.W0.detach().unsqueeze(0).expand(batch, -1, -1, -1).clone()
        b = self.b0.detach().unsqueeze(0).expand(batch, -1, -1, -1).clone()
        return FastWeights(W, b, 0)

    @property
    def eta(self) -> torch.Tensor:
        """Inner step size per head, shape (H,)."""
        return self.cfg.eta_base * torch.sigmoid(self.lr_logit.detach())

    # -- pieces ------------------------------------------------------------------------------
    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, n, _ = x.shape
        return x.view(B, n, self.cfg.n_heads, self.cfg.head_dim).transpose(1, 2)

    def _ln(self, z: torch.Tensor) -> torch.Tensor:
        # per-head LayerNorm over head_dim with per-head affine; F.layer_norm has no per-head
        # affine, so normalise without one and apply ours
        z = F.layer_norm(z, z.shape[-1:], eps=self.cfg.ln_eps)
        return z * self.ln_weight + self.ln_bias

    def project_kv(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x_K, x_V as (B, H, n, hd): computed once per chunk, reused by all k steps."""
        return self._heads(self.k(h)), self._heads(self.v(h))

    def inner_loss(self, state: FastWeights, xk: torch.Tensor, xv: torch.Tensor,
                   W: torch.Tensor | None = None, b: torch.Tensor | None = None) -> torch.Tensor:
        """Per (batch, head) inner loss, shape (B, H): squared error summed over head_dim,
        averaged over the chunk's tokens."""
        W = state.W if W is None else W
        b = state.b if b is None else b
        pred = self._ln(xk @ W + b)
        return (pred - (xv - xk)).pow(2).sum(-1).mean(-1)

    def inner_step(self, state: FastWeights, xk: torch.Tensor, xv: torch.Tensor) -> float:
        """One gradient step on the chunk, in place on ``state``; returns the loss before it
        (mean over batch and heads)."""
        with torch.enable_grad():
            W = state.W.detach().requires_grad_(True)
            b = state.b.detach().requires_grad_(True)
            loss = self.inner_loss(state, xk.detach(), xv.detach(), W, b)
            # heads and batch rows have separate fast weights, so the gradient of the sum is
            # each block's own gradient
            gW, gb = torch.autograd.grad(loss.sum(), (W, b))
        eta = self.eta.view(1, -1, 1, 1).to(gW.dtype)
        with torch.no_grad():
            state.W = state.W - eta * gW
            state.b = state.b - eta * gb
        state.steps += 1
        return float(loss.detach().mean())

    def update(self, state: FastWeights, h: torch.Tensor, k: int) -> list[float]:
        """k inner steps on the chunk whose hidden states are ``h``; returns the inner loss
        before each step (so element 0 is the loss before the update)."""
        if k <= 0:
            return []
        xk, xv = self.project_kv(h)
        return [self.inner_step(state, xk, xv) for _ in range(k)]

    def forward(self, h: torch.Tensor, state: FastWeights) -> torch.Tensor:
        """The residual to add to the hidden state: o(concat_h f(x_Q,h)) with current W, b."""
        xq = self._heads(self.q(h))
        z = xq + self._ln(xq @ state.W + state.b)
        B, H, n, hd = z.shape
        return self.o(z.transpose(1, 2).reshape(B, n, H * hd))
