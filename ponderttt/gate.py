"""A training-free gate: UPDATE when the TTT layer's own inner loss says the chunk is new.

Before anything is updated, the TTT layer's reconstruction (inner) loss on the chunk,
``l(W0, b0)`` (:meth:`TTTLinear.inner_loss`, ``OutcomeTable.inner_before``), is what the gate
looks at: a chunk the fast weights reconstruct badly is one an update could help. The gate
chooses ``update_action`` (default UPDATE_1) when that loss exceeds a threshold ``tau``,
SKIP otherwise.

The threshold is tuned online toward a target update rate ``r`` by stochastic approximation
(Robbins-Monro on the (1 - r) quantile of the inner loss)::

    u_t   = 1 if x_t > tau_t else 0                 (the decision on chunk t)
    tau_{t+1} = tau_t + eta_t * s_t * (u_t - r)     (too many updates -> raise tau)

with ``s_t`` an exponential moving average of |x - EMA(x)| (so the step is in the loss's own
units whatever the scale) and ``eta_t = eta0 / (1 + t / t0)`` decaying slowly. The EMA of
``u_t`` (``rate_ema``) is reported. At a fixed point, P(x > tau) = r, so the average nominal
cost per chunk is ``1 + r * (cost(update_action) - 1)``: with UPDATE_1, rate r <-> budget
1 + 2r. Nothing is trained; the only state is (tau, the EMAs, t).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from .actions import Action


@dataclass
class InnerLossGate:
    target_rate: float
    update_action: Action = Action.UPDATE_1
    eta0: float = 0.5
    t0: float = 50.0
    ema_beta: float = 0.05           # weight of the newest sample in the EMAs
    tau: Optional[float] = None      # None: set from the first loss seen
    mean: Optional[float] = None
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
        if self.tau is None:
            self.tau, self.mean, self.scale = x, x, max(abs(x) * 0.1, 1e-8)
        u = 1.0 if x > self.tau else 0.0
        b = self.ema_beta
        self.scale = (1 - b) * self.scale + b * max(abs(x - self.mean), 1e-12)
        self.mean = (1 - b) * self.mean + b * x
        self.rate_ema = u if self.rate_ema is None else (1 - b) * self.rate_ema + b * u
        eta = self.eta0 / (1.0 + self.t / self.t0)
        self.tau += eta * self.scale * (u - self.target_rate)
        self.t += 1
        return self.update_action if u else Action.SKIP

    def run(self, xs: Iterable[float]) -> list:
        return [self.decide(x) for x in xs]

    def state(self) -> dict:
        return {"tau": self.tau, "rate_ema": self.rate_ema, "t": self.t,
                "target_rate": self.target_rate, "update_action": self.update_action.value}
