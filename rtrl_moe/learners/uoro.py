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

from . import moe_jacobian
from .approx import ApproxLearner, resolve_jacobian, slot_layout, written_slots


class UORO(ApproxLearner):
    name = "uoro"
    VERSIONS = {"learner.uoro": 1, "timing.uoro": 1}
    #: keeps the scalings finite when an estimate is zero (the start) or vanishes
    EPS = 1e-7

    def __init__(self, model, seed: int = 0, jacobian: str = "auto"):
        super().__init__(model)
        self.seed = int(seed)
        #: "analytic" on the MoE cell (both products from the hand-derived backward, as the
        #: exact learners take theirs), "autograd" elsewhere
        self.jacobian = resolve_jacobian(self.name, model, jacobian, "autograd")

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
        d_theta, Js, h_new, nu = self._products(x_t)
        eps = self.EPS
        rho0 = torch.sqrt((self.theta.norm() + eps) / (Js.norm() + eps))
        rho1 = torch.sqrt((d_theta.norm() + eps) / (nu.norm() + eps))
        self.s = rho0 * Js + rho1 * nu
        self.theta = self.theta / rho0 + d_theta / rho1
        self.h = h_new.detach()
        g = self._readout(x_t, y_t)
        if g is not None:
            self.state_grad += (g * self.s).sum() * self.theta

    def _products(self, x_t):
        if self.jacobian == "analytic":
            return self._products_analytic(x_t)
        return self._products_autograd(x_t)

    def _products_analytic(self, x_t):
        """:meth:`_products` from :mod:`.moe_jacobian`: ``nu^T J_theta`` is the backward with
        ``nu``'s written rows as the cotangent (one row per example, summed over the batch);
        ``J_h s`` changes only the written rows, which the identity basis' ``J_h`` gives."""
        model, B = self.model, x_t.shape[0]
        fw = moe_jacobian.forward(model, self._frozen, x_t, self.h)
        nu = self._noise(fw.write)
        kw, d = model.cfg.topk_write, model.cfg.d_model
        rows = (fw.write.unsqueeze(-1) * d + torch.arange(d, device=nu.device)).flatten(1)
        if not hasattr(self, "_layout"):
            self._layout = moe_jacobian.ParamJacobian(model, self.state_names, self.params)
        G = nu.gather(1, rows).view(B, 1, kw, d)
        _, F_ = moe_jacobian.factors(model, self._frozen, fw, G)
        flat = torch.empty(B, 1, self._layout.n, dtype=nu.dtype, device=nu.device)
        moe_jacobian.materialise(model, self._frozen, self._layout, F_, fw.experts, flat)
        J_h, _ = moe_jacobian.factors(model, self._frozen, fw, moe_jacobian.basis(model, B, nu),
                                      want=())
        Js = self.s.clone()
        Js.scatter_(1, rows, (J_h @ self.s.unsqueeze(-1)).squeeze(-1))
        return flat.sum((0, 1)), Js, fw.h_new.detach(), nu

    def _products_autograd(self, x_t):
        """``nu^T J_theta`` (flat), ``J_h s``, the new state and ``nu``, from one forward.

        ``J_h s`` is taken as the derivative, in ``v``, of ``v^T J_h s`` (double backward):
        on the CPU that runs about three times faster than torch.func.jvp, whose forward-mode
        rules for layer norm and friends are Python decompositions.
        """
        names = self.state_names
        with torch.enable_grad():
            h = self.h.detach().requires_grad_(True)
            h_new, route = self.model.transition(x_t, h)
            nu = self._noise(written_slots(self.model, route, h.shape[0], h.device))
            d_theta = torch.autograd.grad(h_new, [self.params[n] for n in names], nu,
                                          retain_graph=True, allow_unused=True)
            v = torch.zeros_like(h_new, requires_grad=True)
            vJ, = torch.autograd.grad(h_new, h, v, create_graph=True, allow_unused=True)
            # A cell that ignores its state has no J_h to push s through.
            Js = (torch.zeros_like(h_new) if vJ is None or not vJ.requires_grad
                  else torch.autograd.grad(vJ, v, self.s)[0])
        d_theta = {n: torch.zeros_like(self._frozen[n]) if g is None else g
                   for n, g in zip(names, d_theta)}
        return self.flat(d_theta, 0), Js, h_new.detach(), nu

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
