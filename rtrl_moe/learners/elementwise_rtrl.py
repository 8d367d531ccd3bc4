"""Exact RTRL for the element-wise recurrent cell (:class:`rtrl_moe.lru.RecurrentLRU`), O(P).

The cell's recurrence is diagonal, ``h_t = λ ⊙ h_{t-1} + γ ⊙ (W x̄_t + b)`` with
``λ = exp(-a)``, ``a = exp(ν)``, ``γ = sqrt(1 - λ²)``, so unit i depends only on ``ν_i``,
row i of ``W`` and ``b_i``. Every other entry of the sensitivity ``dh_t/dθ`` is exactly zero, and
the non-zero ones obey their own scalar recurrences (Zucchet et al. 2023; Irie et al. 2023):

    e^ν_t  = λ ⊙ e^ν_{t-1} + (dλ/dν) ⊙ h_{t-1} + (dγ/dν) ⊙ u_t,
             dλ/dν = -a λ,   dγ/dν = a λ² / γ
    e^W_t  = λ[:, None] ⊙ e^W_{t-1} + γ[:, None] x̄_t[None, :]       ([H, d_in])
    e^b_t  = λ ⊙ e^b_{t-1} + γ

and the gradient is ``dL/dν += g_t ⊙ e^ν_t``, ``dL/dW += (g_t[:, None]) ⊙ e^W_t``,
``dL/db += g_t ⊙ e^b_t`` with ``g_t = dl_t/dh_t`` from the readout's backward. The readout (an
MLP on ``[h_t; x̄_t]``) touches no state and gets its gradient directly at each step.

Per example the learner holds the state (H numbers) and one sensitivity number per recurrent
parameter (H·(d_in + 2)): memory O(P), flat in T; a step costs a few element-wise products
over those numbers plus the readout's forward and backward. Like every exact learner its
gradient equals BPTT's while the parameters are held fixed (tests/learners/test_elementwise_rtrl).
"""
from __future__ import annotations

import torch

from .base import IGNORE, Learner


class ElementwiseRTRL(Learner):
    name = "lru-rtrl"
    VERSIONS = {"learner.lru-rtrl": 1, "timing.lru-rtrl": 1}
    streaming = True

    def __init__(self, model):
        from ..lru import STATE_PARAMS, RecurrentLRU
        if not isinstance(model, RecurrentLRU):
            raise ValueError(f"lru-rtrl needs the element-wise cell rtrl_moe.lru.RecurrentLRU "
                             f"(its sensitivity is diagonal only there); got "
                             f"{type(model).__name__}")
        super().__init__(model)
        self.params = dict(model.named_parameters())
        self.state_names = list(STATE_PARAMS)
        self.out_names = [n for n in self.params if n not in self.state_names]

    def _reset(self, batch_size, like):
        H, d_in = self.model.cfg.hidden, self.model.cfg.d_in
        z = dict(dtype=like.dtype, device=like.device)
        self.h = self.model.init_state(batch_size)
        self.e_nu = torch.zeros(batch_size, H, **z)
        self.e_w = torch.zeros(batch_size, H, d_in, **z)
        self.e_b = torch.zeros(batch_size, H, **z)
        self._zero_sums()

    def _zero_sums(self):
        self.sums = {n: torch.zeros_like(self.params[n]) for n in self.state_names}
        self.out_grads: dict = {}

    def _consume(self, x_t, y_t):
        m = self.model
        with torch.no_grad():
            xm = x_t.mean(1)                                        # [B, d_in]
            a = torch.exp(m.nu)
            lam = torch.exp(-a)
            gam = torch.sqrt(-torch.expm1(-2 * a))
            u = torch.nn.functional.linear(xm, m.in_proj.weight, m.in_proj.bias)
            self.e_nu = lam * self.e_nu - (a * lam) * self.h + (a * lam * lam / gam) * u
            self.e_w = lam[:, None] * self.e_w + gam[:, None] * xm[:, None, :]
            self.e_b = lam * self.e_b + gam
            self.h = lam * self.h + gam * u
        self._lap("update")
        if not bool((y_t != IGNORE).any()):
            return
        with torch.enable_grad():
            leaf = self.h.detach().requires_grad_(True)
            loss = self._meter.add(m.readout(x_t, leaf), y_t)
            outs = [self.params[n] for n in self.out_names]
            g_h, *g_out = torch.autograd.grad(loss, [leaf] + outs)
        for n, g in zip(self.out_names, g_out):
            self.out_grads[n] = g if n not in self.out_grads else self.out_grads[n] + g
        with torch.no_grad():
            self.sums["nu"] += (g_h * self.e_nu).sum(0)
            self.sums["in_proj.weight"] += torch.einsum("bh,bhi->hi", g_h, self.e_w)
            self.sums["in_proj.bias"] += (g_h * self.e_b).sum(0)
        self._lap("readout")

    def _collect(self):
        out = {**self.sums, **self.out_grads}
        self._zero_sums()
        return out

    def _state_tensors(self):
        if not hasattr(self, "h"):
            return []
        return [self.h, self.e_nu, self.e_w, self.e_b, *self.sums.values(),
                *self.out_grads.values()]

    def state_numbers(self) -> int:
        """Sensitivity numbers per example: one per recurrent parameter."""
        return sum(self.params[n].numel() for n in self.state_names)
