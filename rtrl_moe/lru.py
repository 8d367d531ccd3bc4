"""An element-wise recurrent cell: a real diagonal linear recurrent unit with an MLP readout.

    u_t = W x̄_t + b                                  (x̄_t: the chunk's mean input)
    h_t = λ ⊙ h_{t-1} + γ ⊙ u_t,    λ = exp(-exp(ν)),  γ = sqrt(1 - λ²)
    logits_t = W₂ tanh(W₁ [h_t; x̄_t] + b₁) + b₂

Why this cell. Zucchet, Meier, Schug, Mujika and Sacramento (2023, "Online learning of
long-range dependencies") show that when the recurrence is element-wise (each unit feeds back
only onto itself) exact RTRL needs one sensitivity number per recurrent parameter, not H per
parameter: ``dh_i/dθ`` is non-zero only for the parameters of unit i, so the sensitivity is as
big as the parameters (O(P)) and its update is a few element-wise products, about the cost of
the forward pass. They use the linear recurrent unit (LRU, Orvieto et al. 2023) with a
non-linear readout; Irie, Gopalakrishnan and Schmidhuber (2023, "Exploring the Promise and
Limits of Real-Time Recurrent Learning") reach the same property with an element-wise LSTM
(eLSTM), whose gates make the recurrence non-linear but still diagonal. We take the LRU form,
real-valued rather than complex: the delayed-recall task only has to *hold* a value, which a
real decay close to 1 does, and the real form keeps the exact RTRL short enough to check by
hand (``rtrl_moe.learners.elementwise_rtrl``). The non-linearity sits in the readout, which
touches no state, so its gradient is taken directly at each step and costs no sensitivity.
The input map is linear for the same reason: an MLP *before* the recurrence would make every
unit depend on all its weights, and the sensitivity would be dense again.

Decays: ``ν`` is initialised so that ``1 - λ`` is log-uniform in ``[decay_min, decay_max]``;
with the defaults the slowest units keep ``λ^4096 ≈ 0.66`` of a value over 4096 steps.
``γ`` (computed as ``sqrt(-expm1(-2 exp ν))``, stable as λ -> 1) keeps the state's size
independent of λ, as in the LRU.

The step interface (``init_state``, ``transition``, ``readout``, ``step``, ``state_param_names``)
is the one RecurrentMoE and RecurrentRNN have, so BPTT and truncated BPTT run on it unchanged.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from .cell import Cell

#: the parameters the recurrence depends on (their sensitivities are what RTRL carries)
STATE_PARAMS = ("nu", "in_proj.weight", "in_proj.bias")


@dataclass(frozen=True)
class LRUConfig:
    d_in: int = 8
    d_out: int = 8
    hidden: int = 64
    d_ff: int = 64
    decay_min: float = 1e-4
    decay_max: float = 0.5
    chunk: int = 1

    def __post_init__(self):
        for name in ("d_in", "d_out", "hidden", "d_ff", "chunk"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"LRUConfig.{name} must be a positive integer, got {value!r}")
        if not (0 < self.decay_min <= self.decay_max < 1):
            raise ValueError(f"LRUConfig needs 0 < decay_min <= decay_max < 1, got "
                             f"{self.decay_min!r}, {self.decay_max!r}")

    @property
    def H(self) -> int:
        return self.hidden

    def to_dict(self) -> dict:
        return asdict(self)


class Readout(nn.Module):
    def __init__(self, cfg: LRUConfig):
        super().__init__()
        self.fc1 = nn.Linear(cfg.hidden + cfg.d_in, cfg.d_ff)
        self.fc2 = nn.Linear(cfg.d_ff, cfg.d_out)

    def forward(self, xm, h):
        return self.fc2(torch.tanh(self.fc1(torch.cat([h, xm], dim=-1))))


class RecurrentLRU(Cell):
    """Diagonal linear recurrence, linear input map, MLP readout (parameters under ``out.``)."""

    #: behaviour version of its step (rtrl_moe/records/versions.py): bump when an output changes
    VERSIONS = {"model.lru": 1}

    def __init__(self, cfg: LRUConfig):
        super().__init__()
        self.cfg = cfg
        H = cfg.hidden
        lo, hi = math.log(cfg.decay_min), math.log(cfg.decay_max)
        one_minus = torch.exp(lo + (hi - lo) * torch.rand(H, dtype=torch.float64))
        lam = 1 - one_minus
        self.nu = nn.Parameter(torch.log(-torch.log(lam)).float())
        self.in_proj = nn.Linear(cfg.d_in, H)
        self.out = Readout(cfg)

    @property
    def H(self) -> int:
        return self.cfg.hidden

    def init_state(self, batch_size: int = 1) -> torch.Tensor:
        p = self.nu
        return torch.zeros(batch_size, self.cfg.hidden, dtype=p.dtype, device=p.device)

    def state_param_names(self) -> list[str]:
        return list(STATE_PARAMS)

    def decay(self):
        """``(λ, γ)``, each ``[H]``."""
        a = torch.exp(self.nu)
        return torch.exp(-a), torch.sqrt(-torch.expm1(-2 * a))

    def transition(self, x_t, h):
        lam, gam = self.decay()
        return lam * h + gam * self.in_proj(x_t.mean(1)), None

    def readout(self, x_t, h):
        return self.out(x_t.mean(1), h)
