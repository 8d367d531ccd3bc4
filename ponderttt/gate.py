"""A training-free gate: UPDATE when the TTT layer's own inner loss says the chunk is new.

Before anything is updated, the TTT layer's reconstruction (inner) loss on the chunk,
``l(W0, b0)`` (:meth:`TTTLinear.inner_loss`, ``OutcomeTable.inner_before``), is what the gate
looks at: a chunk the fast weights reconstruct badly is one an update could help. The gate
chooses ``update_action`` (default UPDATE_1) when that loss exceeds a threshold ``tau``,
SKIP otherwise.

The threshold is tuned online toward a target update rate ``r``. It is kept in the loss's own
running units, ``threshold_t = m_t + tau_t * s_t``, with ``m_t`` an exponential moving average
(EMA) of the inner loss and ``s_t`` an EMA of |x - m| (so a level shift of the loss is followed
within ~1/ema_beta chunks), and ``tau`` is moved by stochastic approximation (Robbins-Monro on
the (1 - r) quantile of the standardised loss)::

    u_t       = 1 if x_t > m_t + tau_t * s_t else 0     (the decision on chunk t)
    tau_{t+1} = tau_t + eta_t * (u_t - r)               (too many updates -> raise tau)

with ``eta_t = max(eta_min, eta0 / (1 + t / t0))``. The EMA of ``u_t`` (``rate_ema``) is
reported. At a fixed point P(x > threshold) = r, so the average nominal cost per chunk is
``1 + r * (cost(update_action) - 1)``: with UPDATE_1, rate r <-> budget 1 + 2r. Nothing is
trained; the only state is (tau, the EMAs, t).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from .actions import Action

#: behaviour version (rtrl_moe.records.versions): bump when the reconstruction-loss gate changes
VERSIONS = {"ponder.gate": 1}


@dataclass
class InnerLossGate:
    target_rate: float
    update_action: Action = Action.UPDATE_1
    eta0: float = 0.5
    eta_min: float = 0.02
    t0: float = 50.0
    ema_beta: float = 0.05           # weight of the newest sample in the EMAs
    tau: float = 0.0                 # threshold in running-scale units above the running mean
    mean: Optional[float] = None     # None: set from the first loss seen
    scale: Optional[float] = None
    rate_ema: Optional[float] = None
    t: int = 0

    def __post_init__(self):
        if not 0.0 <= self.target_rate <= 1.0:
            raise ValueError(f"target_rate must be in [0, 1], got {self.target_rate}")
        self.update_action = Action.parse(self.update_action)

    @classmethod
    def for_budget(cls, budget: float, update_action: Action | str = Action.UPDATE_1, **kw):
        """The gate whose target rate spends ``budget`` units per chunk on average."""
        a = Action.parse(update_action)
        rate = (budget - Action.SKIP.nominal_cost) / (a.nominal_cost - Action.SKIP.nominal_cost)
        return cls(min(1.0, max(0.0, rate)), a, **kw)

    def decide(self, x: float) -> Action:
        """The action for a chunk whose inner loss before update is ``x``; then adapts tau."""
        x = float(x)
        if self.mean is None:
            self.mean, self.scale = x, max(abs(x) * 0.05, 1e-8)
        u = 1.0 if x > self.threshold else 0.0
        b = self.ema_beta
        self.scale = (1 - b) * self.scale + b * max(abs(x - self.mean), 1e-12)
        self.mean = (1 - b) * self.mean + b * x
        self.rate_ema = u if self.rate_ema is None else (1 - b) * self.rate_ema + b * u
        eta = max(self.eta_min, self.eta0 / (1.0 + self.t / self.t0))
        self.tau += eta * (u - self.target_rate)
        self.t += 1
        return self.update_action if u else Action.SKIP

    @property
    def threshold(self) -> float:
        """The current threshold in the inner loss's units (inf before the first loss)."""
        return float("inf") if self.mean is None else self.mean + self.tau * self.scale

    def run(self, xs: Iterable[float]) -> list:
        return [self.decide(x) for x in xs]

    def state(self) -> dict:
        return {"tau": self.tau, "threshold": self.threshold, "rate_ema": self.rate_ema, "t": self.t,
                "target_rate": self.target_rate, "update_action": self.update_action.value}
