"""UORO (Tallec & Ollivier 2018): an unbiased rank-one estimate of the sensitivity.

The estimate is ``P_t ≈ s_t theta_t^T`` with ``s_t`` the size of the state and ``theta_t`` the
size of the parameters. Each step draws ``nu`` of random signs and sets

    s_t     = rho0 · J_h s_{t-1} + rho1 · nu
    theta_t = theta_{t-1} / rho0 + (nu^T J_theta) / rho1

    rho0 = sqrt((|theta_{t-1}| + eps) / (|J_h s_{t-1}| + eps)),
    rho1 = sqrt((|nu^T J_theta| + eps) / (|nu| + eps))

(the paper's variance-reducing scalings, with eps on both sides so the zero start is defined).
``E[s_t theta_t^T] = J_h P_{t-1} + J_theta``: the cross terms have a lone ``nu`` and vanish in
expectation, because ``rho1`` is even in ``nu`` and everything else does not depend on it; the
product is unbiased for any positive scalings, they only set the variance. The gradient term
``(dl_t/dh_t · s_t) theta_t`` is then unbiased for ``dl_t/dh_t P_t`` as long as the parameters
stay fixed.

The batch is treated as one system whose state is all examples' states, so the estimate is rank
one over the whole batch: ``nu^T J_theta`` is one vector-Jacobian product and ``J_h s`` one
Jacobian-vector product per step, and the learner holds ``B·H + P`` numbers of estimate.

On the MoE the noise is drawn on the written slots' units only: an unwritten unit is a copy,
with zero ``J_theta`` rows, so noise there would add variance and no information; the product
stays unbiased because ``J_theta`` vanishes on exactly the rows the noise leaves out.
"""
from __future__ import annotations

import torch
from torch.func import jvp, vjp

from .approx import ApproxLearner, slot_layout, written_slots


class UORO(ApproxLearner):
    name = "uoro"
    #: keeps the scalings finite when an estimate is zero (the start) or vanishes
    EPS = 1e-7

    def __init__(self, model, seed: int = 0):
        super().__init__(model)
        self.seed = int(seed)

    def state_numbers(self, batch_size: int = 1) -> int:
        """Numbers of estimate held: ``s`` and ``theta``."""
        return batch_size * self.model.H + self.n_state

    def _reset(self, batch_size, like):
        super()._reset(batch_size, like)
        p = self._like
        # Reseeded per run, so gradient() with one seed is repeatable.
        self.gen = torch.Generator(device=p.device).manual_seed(self.seed)
        self.s = torch.zeros(batch_size, self.model.H, dtype=p.dtype, device=p.device)
        self.theta = torch.zeros(self.n_state, dtype=p.dtype, device=p.device)

    def _consume(self, x_t, y_t):
        params = self.state_params()
        h = self.h
        B = h.shape[0]

        def step(ps):
            h_new, route = self.transition(ps, h, x_t)
            return h_new, written_slots(self.model, route, B, h.device)

        h_new, back, written = vjp(step, params, has_aux=True)
        nu = self._noise(written)
        d_theta = self.flat(back(nu)[0], 0)
        _, Js = jvp(lambda hh: self.transition(params, hh, x_t)[0], (h,), (self.s,))
        eps = self.EPS
        rho0 = torch.sqrt((self.theta.norm() + eps) / (Js.norm() + eps))
        rho1 = torch.sqrt((d_theta.norm() + eps) / (nu.norm() + eps))
        self.s = rho0 * Js + rho1 * nu
        self.theta = self.theta / rho0 + d_theta / rho1
        self.h = h_new.detach()
        g = self._readout(x_t, y_t)
        if g is not None:
            self.state_grad += (g * self.s).sum() * self.theta

    def _noise(self, written) -> torch.Tensor:
        """Random signs on the units of the ``written`` slots ([B, k]), zero elsewhere."""
        B, H = self.h.shape
        S, d = slot_layout(self.model)
        p = self._like
        signs = torch.randint(0, 2, (B, H), generator=self.gen, device=p.device).to(p.dtype)
        signs = 2 * signs - 1
        mask = torch.zeros(B, S, dtype=p.dtype, device=p.device).scatter_(1, written, 1.0)
        return signs * mask.repeat_interleave(d, dim=1)

    def _estimate_tensors(self):
        return [self.s, self.theta]
