"""SnAp-1 and SnAp-2 (Menick et al. 2021): RTRL with the sensitivity kept on a fixed pattern.

    P_t = M ⊙ (J_h P_{t-1}) + J_theta,         dL/dtheta += (dl_t/dh_t) P_t

with ``M`` the pattern of :mod:`.snap_pattern`. Since each group of columns keeps the same units
in every slot, a group's block of P is ``[n_slots, u, n]`` and its update only needs ``J_h``
between its own units: ``P_g <- J_h[U_g, U_g] P_g + J_theta[U_g, cols_g]``, which is exactly the
masked product because P_g is zero outside U_g. On the MoE only the written slots' rows change:
an unwritten slot is copied, so its rows keep their values exactly, as in ``sparse-rtrl``; the
plain RNN is one slot, written every step.

Memory (numbers of sensitivity per example, :meth:`SnAp.state_numbers`):

* tanh RNN, snap-1: ``P`` (one unit per parameter: H·(d_in + H + 2)); GRU: ``P`` too.
* RNN, snap-2: ``sum over units i of |{i} ∪ {k : weight_hh[k, i] != 0}| · (P / H)``; with a
  dense ``weight_hh`` that is ``H·P``, dense RTRL's size (and its result: not cheaper there).
* MoE, snap-1: ``H·(P - P_c) + n_slots·P_c`` with ``P_c = 2·d_model² + d_model`` the
  ``cand_slot``/``cand_mix`` parameters (the rest reach whole slots); on the documents' config
  (P = 29728, P_c = 2080) that is 3,547,264 numbers against exact's 3,805,184: 7% less.
* MoE, snap-2: ``H·P``, exact sparse RTRL (the pattern is full): not cheaper there.

On the MoE cell the written rows' Jacobians come from the hand-derived backward
(:mod:`.moe_jacobian`, ``jacobian="analytic"``, the default there), as in the exact learners, so
the frontier's time column compares like with like; elsewhere from torch.func. A step costs at
least one transition's backward per written unit whatever the pattern: SnAp saves in the update
and in memory, not in the Jacobian.
"""
from __future__ import annotations

import torch
from torch.func import vjp, vmap

from . import moe_jacobian, snap_pattern
from .approx import ApproxLearner, resolve_jacobian, slot_layout, written_slots


class SnAp(ApproxLearner):
    uses_torch_func = True   # the written rows' Jacobians come from torch.func
    order = 1

    def __init__(self, model, jacobian: str = "auto"):
        super().__init__(model)
        self.jacobian = resolve_jacobian(self.name, model, jacobian, "torch.func")
        self.uses_torch_func = self.jacobian == "torch.func"
        self.S, self.d = slot_layout(model)
        dev = self._like.device
        by_shape: dict = {}
        for units, cols in snap_pattern.groups(model, self.state_names, self.order):
            by_shape.setdefault((units.numel(), cols.numel()), []).append((units, cols))
        # Groups of one shape are stacked so one batched matmul updates them all.
        self.buckets = [(torch.stack([u for u, _ in grp]).to(dev),
                         torch.stack([c for _, c in grp]).to(dev)) for grp in by_shape.values()]

    def state_numbers(self) -> int:
        """Sensitivity entries held per example: the pattern's size."""
        return sum(U.shape[0] * self.S * U.shape[1] * cols.shape[1]
                   for U, cols in self.buckets)

    # -- hooks ---------------------------------------------------------------------------------
    def _reset(self, batch_size, like):
        super()._reset(batch_size, like)
        p = self._like
        self.P = [torch.zeros(batch_size, U.shape[0], self.S, U.shape[1], cols.shape[1],
                              dtype=p.dtype, device=p.device) for U, cols in self.buckets]

    def _consume(self, x_t, y_t):
        if self.jacobian == "analytic":
            return self._consume_analytic(x_t, y_t)
        h_next = torch.empty_like(self.h)
        for b in range(x_t.shape[0]):
            J_theta, J_h, h_next[b], w = self._jacobian(self.h[b], x_t[b])
            start = self._timer_start()
            for P, (U, cols) in zip(self.P, self.buckets):
                self._update(P[b], U, cols, J_h, J_theta, w)
            self._timer_stop(start)
        self.h = h_next
        g = self._readout(x_t, y_t)
        if g is not None:
            self._accumulate(g)

    def _consume_analytic(self, x_t, y_t):
        """The batch's written rows' Jacobians in one hand-derived pass, then the updates."""
        model, B = self.model, x_t.shape[0]
        fw = moe_jacobian.forward(model, self._frozen, x_t, self.h)
        G = moe_jacobian.basis(model, B, self.h)
        if not hasattr(self, "_layout"):
            self._layout = moe_jacobian.ParamJacobian(model, self.state_names, self.params)
        key = (B, G.shape[1], self._layout.n)
        if getattr(self, "_jt_key", None) != key:
            self._jt, self._jt_key = torch.empty(key, dtype=self.h.dtype,
                                                 device=self.h.device), key
        J_h = moe_jacobian.backward(model, self._frozen, fw, G, self._layout, self._jt)
        start = self._timer_start()
        for b in range(B):
            for P, (U, cols) in zip(self.P, self.buckets):
                self._update(P[b], U, cols, J_h[b], self._jt[b], fw.write[b])
        self._timer_stop(start)
        self.h = fw.h_new.detach()
        g = self._readout(x_t, y_t)
        if g is not None:
            self._accumulate(g)

    def _jacobian(self, h1, x1):
        """Rows of ``J_theta`` ([k*d, P] flat) and ``J_h`` ([k*d, H]) for the k slots this step
        writes, with the new state and those slots."""
        S, d = self.S, self.d

        def rows(params, h):
            h_new, route = self.transition(params, h[None], x1[None])
            w = written_slots(self.model, route, 1, h.device)[0]
            return h_new[0].view(S, d)[w].reshape(-1), (h_new[0], w)

        out, back, (h_new, w) = vjp(rows, self.state_params(), h1, has_aux=True)
        basis = torch.eye(out.numel(), dtype=out.dtype, device=out.device)
        J_theta, J_h = vmap(back)(basis)
        return self.flat(J_theta, 1), J_h, h_new.detach(), w

    def _update(self, P, U, cols, J_h, J_theta, w):
        """``P[:, w] = J_h[w·U, all slots·U] P + J_theta[w·U, cols]`` for every group at once;
        ``P`` is one example's bucket, ``[G, S, u, n]``."""
        G, S, u, n = P.shape
        k = w.numel()
        if u == self.d and G == 1:
            return self._update_whole_slots(P[0], cols[0], J_h, J_theta, w)
        Jh = J_h.view(k, self.d, S, self.d).permute(1, 3, 0, 2)        # [d_row, d_col, k, S]
        Jh = Jh[U[:, :, None], U[:, None, :]]                         # [G, u, u, k, S]
        Jh = Jh.permute(0, 3, 1, 4, 2).reshape(G, k * u, S * u)
        Jt = J_theta.view(k, self.d, -1).permute(1, 2, 0)              # [d, P, k]
        Jt = Jt[U[:, :, None], cols[:, None, :]]                      # [G, u, n, k]
        Jt = Jt.permute(0, 3, 1, 2).reshape(G, k * u, n)
        new = torch.baddbmm(Jt, Jh, P.reshape(G, S * u, n))
        P.index_copy_(1, w, new.view(G, k, u, n))
        self.counters["sensitivity_flops"] += 2 * G * k * u * S * u * n

    def _update_whole_slots(self, P, cols, J_h, J_theta, w):
        """The block that keeps whole slots (``U`` = every unit): no gather of J_h's rows,
        and J_theta's columns as a view where they are contiguous (the MoE's dense block)."""
        S, d, n = P.shape
        c0 = int(cols[0])
        if int(cols[-1]) - c0 + 1 == n:
            Jt = J_theta[:, c0:c0 + n]
        else:
            Jt = J_theta.index_select(1, cols)
        new = torch.addmm(Jt, J_h, P.view(S * d, n))
        P.index_copy_(0, w, new.view(-1, d, n))
        self.counters["sensitivity_flops"] += 2 * J_h.shape[0] * S * d * n

    def _accumulate(self, g):
        B = g.shape[0]
        gs = g.view(B, self.S, self.d)
        for P, (U, cols) in zip(self.P, self.buckets):
            g_u = gs[:, :, U].permute(0, 2, 1, 3)                     # [B, G, S, u]
            contrib = torch.einsum("bgsu,bgsun->gn", g_u, P)
            self.state_grad.index_add_(0, cols.flatten(), contrib.flatten())

    def _estimate_tensors(self):
        return list(self.P)


class SnAp1(SnAp):
    """SnAp-1: each parameter keeps its influence on the units it writes directly."""
    name = "snap-1"
    VERSIONS = {"learner.snap-1": 1, "timing.snap-1": 1}
    order = 1


class SnAp2(SnAp):
    """SnAp-2: also the units those feed at the next step (see the module's memory notes)."""
    name = "snap-2"
    VERSIONS = {"learner.snap-2": 1, "timing.snap-2": 1}
    order = 2
