"""The recurrent mixture-of-experts cell with sparse read/write latent slots.

The state ``h`` is ``n_slots`` latent slots of ``d_model`` numbers each (``H = n_slots * d_model``).
One step:

1. a read gate scores every slot against the input and picks ``topk_read`` of them;
2. the read slots attend over themselves and the input chunk (attention, layer norm,
   feed-forward), and are pooled with the read weights;
3. an expert gate picks ``topk`` of ``n_experts`` experts whose outputs are mixed into the pooled
   vector;
4. a write gate picks ``topk_write`` slots, each blended with a candidate built from itself and the
   mixed vector; unwritten slots are copied unchanged;
5. an output block attends over the input and the new state and produces logits.

Every routing softmax runs over the *selected* scores only, so an unselected slot or expert has
exactly zero influence on the step: ``h_new[W]`` depends on ``h[R ∪ W]`` alone and on the active
experts' parameters alone. The sparse RTRL learners rely on that; ``route`` tells them which slots
and experts a step used.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
from torch import nn

from .cell import Cell


@dataclass(frozen=True)
class MoEConfig:
    d_in: int = 8
    d_out: int = 8
    d_model: int = 32
    n_slots: int = 4
    n_experts: int = 4
    topk: int = 2
    topk_read: int = 2
    topk_write: int = 2
    chunk: int = 1
    d_ff: int = 64

    def __post_init__(self):
        for name in ("d_in", "d_out", "d_model", "n_slots", "n_experts", "topk", "topk_read",
                     "topk_write", "chunk", "d_ff"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"MoEConfig.{name} must be a positive integer, got {value!r}")
        if self.topk > self.n_experts:
            raise ValueError(f"MoEConfig.topk={self.topk} exceeds n_experts={self.n_experts}")
        if self.topk_read > self.n_slots:
            raise ValueError(f"MoEConfig.topk_read={self.topk_read} exceeds n_slots={self.n_slots}")
        if self.topk_write > self.n_slots:
            raise ValueError(
                f"MoEConfig.topk_write={self.topk_write} exceeds n_slots={self.n_slots}")

    @property
    def H(self) -> int:
        return self.n_slots * self.d_model

    def to_dict(self) -> dict:
        return asdict(self)


class Route(NamedTuple):
    """Which slots and experts one step used, per example: ``[B, k]`` long tensors."""
    read: torch.Tensor
    write: torch.Tensor
    experts: torch.Tensor


class Expert(nn.Module):
    def __init__(self, d_model: int, d_ff: int):
        super().__init__()
        self.w1 = nn.Linear(d_model, d_ff)
        self.w2 = nn.Linear(d_ff, d_model)

    def forward(self, z):
        return self.w2(torch.tanh(self.w1(z)))


class OutputBlock(nn.Module):
    """Attends from the input over the input and the new state; touches no state."""

    def __init__(self, cfg: MoEConfig):
        super().__init__()
        d = cfg.d_model
        self.in_proj = nn.Linear(cfg.d_in, d)
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d, bias=False)
        self.value = nn.Linear(d, d, bias=False)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, cfg.d_out)

    def forward(self, x_t, slots):
        xe = self.in_proj(x_t)                                   # [B, c, d]
        q = self.query(xe.mean(1, keepdim=True))                 # [B, 1, d]
        src = torch.cat([slots, xe], dim=1)                      # [B, N + c, d]
        att = torch.softmax(q @ self.key(src).transpose(1, 2) / math.sqrt(q.shape[-1]), dim=-1)
        o = (att @ self.value(src)).squeeze(1)                   # [B, d]
        return self.head(self.norm(o + q.squeeze(1)))


def _pick(scores, k):
    """Top-k indices and a softmax over the selected scores only (exactly zero elsewhere)."""
    idx = scores.topk(k, dim=-1).indices
    return idx, torch.softmax(scores.gather(-1, idx), dim=-1)


def _gather_slots(slots, idx):
    return slots.gather(1, idx.unsqueeze(-1).expand(-1, -1, slots.shape[-1]))


class RecurrentMoE(Cell):
    """Recurrent MoE cell. Parameters under ``out.`` never touch the state; the rest do."""

    #: behaviour version of its step (rtrl_moe/records/versions.py): bump when an output changes
    VERSIONS = {"model.moe": 1}

    def __init__(self, cfg: MoEConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.in_proj = nn.Linear(cfg.d_in, d)
        self.read_gate = nn.Linear(d, d, bias=False)
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.norm1 = nn.LayerNorm(d)
        self.ff1 = nn.Linear(d, cfg.d_ff)
        self.ff2 = nn.Linear(cfg.d_ff, d)
        self.norm2 = nn.LayerNorm(d)
        self.expert_gate = nn.Linear(d, cfg.n_experts, bias=False)
        self.experts = nn.ModuleList(Expert(d, cfg.d_ff) for _ in range(cfg.n_experts))
        self.write_gate = nn.Linear(d, d, bias=False)
        self.cand_slot = nn.Linear(d, d, bias=False)
        self.cand_mix = nn.Linear(d, d)
        self.out = OutputBlock(cfg)

    @property
    def H(self) -> int:
        return self.cfg.H

    def init_state(self, batch_size: int = 1) -> torch.Tensor:
        p = self.in_proj.weight
        g = torch.Generator().manual_seed(0)
        # A fixed, non-zero start so the first step's routing is not a tie between equal slots.
        h0 = 0.1 * torch.randn(self.cfg.H, generator=g, dtype=torch.float64)
        return h0.to(device=p.device, dtype=p.dtype).expand(batch_size, -1).clone()

    def state_param_names(self) -> list[str]:
        return [n for n, _ in self.named_parameters() if not n.startswith("out.")]

    def expert_param_groups(self) -> list[list[str]]:
        """Names of each expert's parameters: an inactive expert's columns of P can wait."""
        return [[f"experts.{e}.{n}" for n, _ in ex.named_parameters()]
                for e, ex in enumerate(self.experts)]

    def transition(self, x_t, h):
        cfg = self.cfg
        B = h.shape[0]
        slots = h.view(B, cfg.n_slots, cfg.d_model)
        xe = self.in_proj(x_t)                                              # [B, c, d]
        xm = xe.mean(1)                                                     # [B, d]

        read_scores = (slots @ self.read_gate(xm).unsqueeze(-1)).squeeze(-1)   # [B, N]
        read, read_w = _pick(read_scores, cfg.topk_read)
        s_r = _gather_slots(slots, read)                                    # [B, kr, d]
        src = torch.cat([s_r, xe], dim=1)
        att = torch.softmax(self.q(s_r) @ self.k(src).transpose(1, 2) / math.sqrt(cfg.d_model),
                            dim=-1)
        u = self.norm1(s_r + self.o(att @ self.v(src)))
        u = self.norm2(u + self.ff2(torch.tanh(self.ff1(u))))
        pooled = (read_w.unsqueeze(-1) * u).sum(1)                          # [B, d]

        experts, expert_w = _pick(self.expert_gate(pooled), cfg.topk)
        # Dense mixing weights that are exactly 0 for unselected experts: their parameters and
        # the state get exactly zero derivative through them.
        mix = torch.zeros(B, cfg.n_experts, dtype=h.dtype, device=h.device).scatter(
            1, experts, expert_w)
        z = pooled + sum(mix[:, e:e + 1] * ex(pooled) for e, ex in enumerate(self.experts))

        write_scores = (slots @ self.write_gate(z).unsqueeze(-1)).squeeze(-1)  # [B, N]
        write, write_w = _pick(write_scores, cfg.topk_write)
        s_w = _gather_slots(slots, write)                                   # [B, kw, d]
        cand = torch.tanh(self.cand_slot(s_w) + self.cand_mix(z).unsqueeze(1))
        ww = write_w.unsqueeze(-1)
        new_w = (1 - ww) * s_w + ww * cand
        idx = write.unsqueeze(-1).expand(-1, -1, cfg.d_model)
        h_new = slots.scatter(1, idx, new_w).reshape(B, cfg.H)
        return h_new, Route(read, write, experts)

    def readout(self, x_t, h):
        B = h.shape[0]
        return self.out(x_t, h.view(B, self.cfg.n_slots, self.cfg.d_model))
