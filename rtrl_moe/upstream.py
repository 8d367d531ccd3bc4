"""The upstream research code's recurrent MoE cell, as read, behind our step interface.

Written from a reading of ``moe.py`` in jmCabrillana/rtrl_moe at commit
``81120cfa0be34f91c57fad3da51673f5209110d9`` (the version whose three-value
``get_expert_latent_activated`` the documents' later scripts unpack; docs/UPSTREAM.md says why
and what differs from our :class:`rtrl_moe.RecurrentMoE`). Not a subclass of ours: the cell is
different, so the hand-derived Jacobian does not apply and the RTRL learners use torch.func's.

One step (one whole input chunk of ``chunk`` tokens):

1. the input chunk is embedded and given a Fourier position code (positions 0..chunk-1, base
   ``n_slots``: upstream's constants);
2. *every* slot attends (multi-head, pre-norm) over all slots and the chunk, then a pre-norm
   feed-forward block; a "read gate" scores each slot from its own content and its top
   ``topk_read`` picks are reported in ``route.read``, but they change nothing in the state
   (upstream computes them only for its RTRL bookkeeping);
3. an expert gate on the normalised slot mean picks ``topk`` experts; each picked expert is
   applied to every slot and the outputs are mixed with the softmax of the picked scores;
4. a write gate scores every updated slot and picks ``topk_write``; then
   ``h_new = beta * h + (1 - beta) * alpha * tanh(slots)`` with ``alpha`` the write weights on
   the picked slots and 0 elsewhere. An unwritten slot is therefore scaled by ``beta`` (0.6),
   not copied: the sparse RTRL recursion (which keeps an unwritten slot's rows of P) is not
   exact on this cell;
5. the output block embeds the chunk again, attends from it over itself and the new state,
   applies a feed-forward block and reads the logits from the chunk's last position.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .cell import Cell
from .moe import Route


@dataclass(frozen=True)
class UpstreamConfig:
    d_in: int = 8
    d_out: int = 8
    d_model: int = 32
    n_slots: int = 4
    n_experts: int = 4
    topk: int = 2
    topk_read: int = 2      # upstream hard-codes 2; the picks are reported, never used
    topk_write: int = 2     # upstream hard-codes 2
    n_heads: int = 2
    chunk: int = 1
    beta: float = 0.6       # share of the old state every slot keeps (upstream's constant)
    init_noise: float = 0.02
    #: seed of the initial state's noise: every init_state call draws the same numbers, so two
    #: learners start from the same h. None draws fresh noise each call (upstream's behaviour).
    init_seed: int | None = 0

    def __post_init__(self):
        for name in ("d_in", "d_out", "d_model", "n_slots", "n_experts", "topk", "topk_read",
                     "topk_write", "n_heads", "chunk"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"UpstreamConfig.{name} must be a positive integer, "
                                 f"got {value!r}")
        if self.d_model % 2:
            raise ValueError(f"UpstreamConfig.d_model={self.d_model} must be even (the "
                             "position code is half sines, half cosines)")
        if self.d_model % self.n_heads:
            raise ValueError(f"UpstreamConfig.d_model={self.d_model} is not a multiple of "
                             f"n_heads={self.n_heads}")
        if self.topk > self.n_experts:
            raise ValueError(f"UpstreamConfig.topk={self.topk} exceeds "
                             f"n_experts={self.n_experts}")
        for name in ("topk_read", "topk_write"):
            if getattr(self, name) > self.n_slots:
                raise ValueError(f"UpstreamConfig.{name}={getattr(self, name)} exceeds "
                                 f"n_slots={self.n_slots}")
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError(f"UpstreamConfig.beta must lie in [0, 1], got {self.beta!r}")
        if not self.init_noise >= 0.0:
            raise ValueError(f"UpstreamConfig.init_noise must be >= 0, got {self.init_noise!r}")
        if self.init_seed is not None and (not isinstance(self.init_seed, int)
                                           or isinstance(self.init_seed, bool)):
            raise ValueError(f"UpstreamConfig.init_seed must be an int or None, "
                             f"got {self.init_seed!r}")

    @property
    def H(self) -> int:
        return self.n_slots * self.d_model

    def to_dict(self) -> dict:
        return asdict(self)


def fourier_positions(length: int, d: int, base: float, like: torch.Tensor) -> torch.Tensor:
    """[length, d] code of positions 0..length-1: sines then cosines of ``pos / base**(j/(d/2))``.

    Computed in float64 and cast, so the float32 and float64 models see the same code.
    """
    pos = torch.arange(length, dtype=torch.float64).unsqueeze(-1)
    half = d // 2
    angle = pos / float(base) ** (torch.arange(half, dtype=torch.float64) / half)
    return torch.cat([angle.sin(), angle.cos()], dim=-1).to(dtype=like.dtype, device=like.device)


class Attention(nn.Module):
    """Multi-head attention with the parameters (names, shapes, initialisation) of
    ``nn.MultiheadAttention(d, n_heads, batch_first=True)``, written out so that ``torch.func``
    transforms see plain tensor ops (no fused fast path)."""

    def __init__(self, d: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d, d))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d))
        self.out_proj = nn.Linear(d, d)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, query, kv):
        B, Lq, d = query.shape
        h, hd = self.n_heads, d // self.n_heads
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)

        def heads(t, w, b):
            return F.linear(t, w, b).view(B, t.shape[1], h, hd).transpose(1, 2)

        q, k, v = heads(query, w_q, b_q), heads(kv, w_k, b_k), heads(kv, w_v, b_v)
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(hd), dim=-1)
        o = (att @ v).transpose(1, 2).reshape(B, Lq, d)
        return self.out_proj(o)


class FeedForward(nn.Module):
    """d -> d -> d with GELU (upstream's MLP at its default width multiplier 1)."""

    def __init__(self, d: int):
        super().__init__()
        self.fc1 = nn.Linear(d, d)
        self.fc2 = nn.Linear(d, d)

    def forward(self, z):
        return self.fc2(F.gelu(self.fc1(z)))


class Gate(nn.Module):
    """Expert scores from the pooled slots (upstream's TopKGate holds its weight as ``proj``)."""

    def __init__(self, d: int, n_experts: int):
        super().__init__()
        self.proj = nn.Linear(d, n_experts, bias=False)

    def forward(self, pooled):
        return self.proj(pooled)


class ExpertBank(nn.Module):
    """E one-layer experts ``relu(z @ W[e] + b[e])``, each applied to every slot.

    Only the picked experts' matrices are gathered, so an unpicked expert's parameters get
    exactly zero derivative.
    """

    def __init__(self, n_experts: int, d: int):
        super().__init__()
        self.W = nn.ParameterList(nn.Parameter(torch.empty(d, d)) for _ in range(n_experts))
        self.b = nn.ParameterList(nn.Parameter(torch.empty(d)) for _ in range(n_experts))
        for W, b in zip(self.W, self.b):
            nn.init.kaiming_uniform_(W, a=math.sqrt(5))
            bound = 1.0 / math.sqrt(d)
            nn.init.uniform_(b, -bound, bound)

    def forward(self, slots, weights, idx):
        B, k = idx.shape
        W = torch.stack(list(self.W)).index_select(0, idx.reshape(-1)).view(B, k, *self.W[0].shape)
        b = torch.stack(list(self.b)).index_select(0, idx.reshape(-1)).view(B, k, -1)
        y = F.relu(torch.einsum("bsi,bkio->bsko", slots, W) + b.unsqueeze(1))   # [B, S, k, d]
        return (y * weights.view(B, 1, k, 1)).sum(2)


def _pick(scores, k):
    """Top-k indices and the softmax of the picked scores (upstream's normalisation)."""
    top = scores.topk(k, dim=-1)
    return top.indices, torch.softmax(top.values, dim=-1)


class UpstreamMoE(Cell):
    """Upstream's recurrent MoE cell. Parameters named ``state_*`` touch the state; ``out_*``
    are the output block, which reads the new state but never feeds it."""

    #: behaviour version of its step (rtrl_moe/records/versions.py): bump when an output changes
    VERSIONS = {"model.upstream-moe": 1}

    #: an unwritten slot is scaled by ``beta``, not copied: the learners that keep its rows of
    #: the sensitivity unchanged (sparse-rtrl, sparse-rtrl-readonly, tree-rtrl, snap-*, uoro's
    #: written-slot noise) are not exact on this cell unless topk_write == n_slots
    copies_unwritten_slots = False

    def __init__(self, cfg: UpstreamConfig):
        super().__init__()
        self.cfg = cfg
        d, d_in = cfg.d_model, cfg.d_in
        # Registration order follows upstream's, so named_parameters() lists the same order.
        self.state_embedding = nn.Linear(d_in, d)
        self.state_mha = Attention(d, cfg.n_heads)
        self.state_ln_q = nn.LayerNorm(d)
        self.state_ln_kv = nn.LayerNorm(d)
        self.state_ffn = FeedForward(d)
        self.state_ln_ffn = nn.LayerNorm(d)
        self.state_gate = Gate(d, cfg.n_experts)
        self.state_experts = ExpertBank(cfg.n_experts, d)
        self.state_ln_moe_in = nn.LayerNorm(d)
        # Built but never used by upstream's forward: kept so the parameter count is upstream's;
        # its gradient is exactly zero.
        self.state_latent_proj = nn.Linear(d, d)
        self.state_read_gate = nn.Linear(d, 1, bias=False)
        self.state_ln_slot = nn.LayerNorm(d)
        self.state_slot_ctx = nn.Linear(d, 1, bias=False)

        self.out_embedding = nn.Linear(d_in, d)
        self.out_mha = Attention(d, cfg.n_heads)
        self.out_ln_q = nn.LayerNorm(d)
        self.out_ln_kv = nn.LayerNorm(d)
        self.out_ffn = FeedForward(d)
        self.out_ln_ffn = nn.LayerNorm(d)
        self.out_proj = nn.Linear(d, cfg.d_out)

    @property
    def H(self) -> int:
        return self.cfg.H

    def init_state(self, batch_size: int = 1, generator: torch.Generator | int | None = None
                   ) -> torch.Tensor:
        """[B, H] small noise (``init_noise`` times a standard normal), one draw per example.

        ``generator`` (a ``torch.Generator`` or an int seed) overrides ``cfg.init_seed``. Drawn
        in float64 on the CPU and cast, so every dtype and device starts from the same numbers.
        """
        cfg = self.cfg
        if isinstance(generator, int) and not isinstance(generator, bool):
            generator = torch.Generator().manual_seed(generator)
        elif generator is None and cfg.init_seed is not None:
            generator = torch.Generator().manual_seed(cfg.init_seed)
        noise = torch.randn(batch_size, cfg.H, generator=generator, dtype=torch.float64)
        p = self.state_embedding.weight
        return (cfg.init_noise * noise).to(dtype=p.dtype, device=p.device)

    def state_param_names(self) -> list[str]:
        return [n for n, _ in self.named_parameters() if n.startswith("state_")]

    def expert_param_groups(self) -> list[list[str]]:
        return [[f"state_experts.W.{e}", f"state_experts.b.{e}"]
                for e in range(self.cfg.n_experts)]

    def _positions(self, x_t):
        return fourier_positions(x_t.shape[1], self.cfg.d_model, self.cfg.n_slots, x_t)

    def transition(self, x_t, h):
        cfg = self.cfg
        B = h.shape[0]
        old = h.view(B, cfg.n_slots, cfg.d_model)
        read = self.state_read_gate(old).squeeze(-1).topk(cfg.topk_read, dim=-1).indices

        xe = self.state_embedding(x_t) + self._positions(x_t)                # [B, c, d]
        kv = self.state_ln_kv(torch.cat([old, xe], dim=1))
        slots = old + self.state_mha(self.state_ln_q(old), kv)              # [B, S, d]
        slots = slots + self.state_ffn(self.state_ln_ffn(slots))

        experts, expert_w = _pick(self.state_gate(self.state_ln_moe_in(slots.mean(1))), cfg.topk)
        slots = slots + self.state_experts(slots, expert_w, experts)

        write_scores = self.state_slot_ctx(self.state_ln_slot(slots)).squeeze(-1)   # [B, S]
        write, write_w = _pick(write_scores, cfg.topk_write)
        alpha = torch.zeros(B, cfg.n_slots, dtype=h.dtype, device=h.device).scatter(
            1, write, write_w)
        new = cfg.beta * old + (1.0 - cfg.beta) * alpha.unsqueeze(-1) * torch.tanh(slots)
        return new.reshape(B, cfg.H), Route(read, write, experts)

    def readout(self, x_t, h):
        cfg = self.cfg
        state = h.view(h.shape[0], cfg.n_slots, cfg.d_model)
        z = self.out_embedding(x_t) + self._positions(x_t)                  # [B, c, d]
        kv = self.out_ln_kv(torch.cat([z, state], dim=1))
        z = z + self.out_mha(self.out_ln_q(z), kv)
        z = z + self.out_ffn(self.out_ln_ffn(z))
        return self.out_proj(z[:, -1])
