"""Sparse RTRL with lazy expert columns over a circular segment tree of Jacobians.

An expert that was not selected at a step has ``J_theta = 0`` for its parameters, so its columns
of P only undergo ``P <- J_h P``. ``tree-rtrl`` leaves them stale while the expert is idle and
keeps the last ``n`` steps' Jacobians (sparse rows for replay, dense in a ``CircularTree`` for
range products). When the expert becomes active again, or before its window would leave the
buffer, it is brought up to date ("flushed"):

* columns: ``P[:, e] <- J_u ... J_{tau+1} P[:, e]``, either by replaying the sparse row updates
  (short windows) or by one range product from the tree (long windows: cheaper once
  ``L * |W| * |R∪W| > H * H``);
* gradient: the idle steps' contributions ``sum_s g_s J_s ... J_{tau+1} P_tau[:, e]`` are summed
  backwards as one row vector per example (Horner's rule over the buffer), then multiplied by
  ``P_tau`` once.

Only the always-active ("core") parameters and the active experts' parameters are differentiated
at a step. With a batch, an expert counts as active when any example selects it. The result
equals ``sparse-rtrl`` up to rounding.
"""
from __future__ import annotations

from collections import deque

import torch

from ..tree import CircularTree
from .rtrl import _slot_elements
from .sparse_rtrl import SparseRTRL


class TreeRTRL(SparseRTRL):
    name = "tree-rtrl"
    VERSIONS = {"learner.tree-rtrl": 1, "timing.tree-rtrl": 1}

    def __init__(self, model, n: int = 16, flush: str = "auto", compile: bool = False,
                 jacobian: str = "auto"):
        groups = model.expert_param_groups()
        if not groups:
            raise ValueError("tree-rtrl needs a model with experts (RecurrentMoE)")
        if int(n) < 1:
            raise ValueError(f"tree-rtrl buffer n must be >= 1, got {n}")
        if flush not in ("auto", "tree", "replay"):
            raise ValueError(f"tree-rtrl flush must be auto, tree or replay, got {flush!r}")
        super().__init__(model, compile=compile, jacobian=jacobian)
        self.n = int(n)
        self.flush = flush
        expert_names = {name for g in groups for name in g}
        self.core_names = [s for s in self.state_names if s not in expert_names]
        self.groups = groups
        # Columns of P: core first, then one contiguous slice per expert.
        self.state_names = self.core_names + [name for g in groups for name in g]
        self.sizes = [self.params[s].numel() for s in self.state_names]
        core = sum(self.params[s].numel() for s in self.core_names)
        self.core_slice = slice(0, core)
        self.slices, start = [], core
        for g in groups:
            width = sum(self.params[s].numel() for s in g)
            self.slices.append(slice(start, start + width))
            start += width
        self._all_state = {s: self.params[s].detach() for s in self.state_names}

    def _reset(self, batch_size, like):
        super()._reset(batch_size, like)
        E = len(self.groups)
        self.t = 0
        self.last = [-1] * E             # step up to which each expert's columns are current
        self.touched = [False] * E       # columns still exactly zero until first active
        self.steps: deque = deque(maxlen=self.n)   # (t, rows, cols, J_wc, g) of recent steps
        self.tree = CircularTree(self.n)
        p = self._like
        self._eye = torch.eye(self.model.H, dtype=p.dtype, device=p.device)

    def _column_groups(self) -> list[slice]:
        # Owed gradient is kept per group: an idle expert's columns owe nothing for idle steps
        # (the Horner adjoint covers those), so its account must not mix with the core's.
        return [self.core_slice] + self.slices

    def _consume(self, x_t, y_t):
        B = x_t.shape[0]
        if self.jacobian == "analytic":
            # The factors of every parameter cost about what the active ones' do (only the
            # selected experts' factors are formed), so one call gives the routing and all.
            (J_theta, J_h), aux = self._jac_analytic(self._all_state, self.h, x_t)
            experts = aux[3]
            active = sorted(set(experts.flatten().tolist()))
        else:
            # The routing first: only the active experts' columns are differentiated.
            with torch.no_grad():
                experts = self.model.transition(x_t, self.h)[1].experts
            active = sorted(set(experts.flatten().tolist()))
            diff = {s: self.params[s].detach() for s in self.core_names}
            for e in active:
                diff.update({s: self.params[s].detach() for s in self.groups[e]})
            (J_theta, J_h), aux = self._jac(diff, self.h, x_t)
        h_new, read, write, _ = aux
        self._lap("jacobian")         # with the routing pre-pass above

        start = self._timer_start()
        for e in active:
            if self.last[e] < self.t - 1:
                self._flush(e, self.t - 1)
        rows = _slot_elements(write, self.d)
        cols = _slot_elements(self._columns(read, write), self.d)
        J_wc = J_h.gather(2, cols.unsqueeze(1).expand(-1, rows.shape[1], -1))
        for i, (cs, names) in enumerate([(self.core_slice, self.core_names)]
                                        + [(self.slices[e], self.groups[e]) for e in active]):
            grp = 0 if i == 0 else 1 + active[i - 1]
            self._sparse_update(self.P[:, :, cs], rows, cols, J_wc, J_theta, names,
                                self._owed_rows(grp, rows, cols), self.state_grad[cs])
        for e in active:
            self.last[e] = self.t
            self.touched[e] = True
        leaf = self._eye.expand(B, -1, -1).clone()
        leaf.scatter_(1, rows.unsqueeze(-1).expand(-1, -1, leaf.shape[2]), J_h)
        self.tree.push(leaf)
        self._timer_stop(start)
        self._lap("update")

        self.h = h_new.detach()
        g = self._readout(x_t, y_t)
        self.steps.append((self.t, rows, cols, J_wc, g))
        if g is not None:
            for grp in [0] + [1 + e for e in range(len(self.groups)) if self.last[e] == self.t]:
                self._owe(grp, g)
        self._lap("readout")
        # An idle expert's window may not outgrow the buffer: flush it while it still fits.
        for e in range(len(self.groups)):
            if self.t - self.last[e] >= self.n:
                self._flush(e, self.t)
        self._lap("update")
        self.t += 1

    def _flush(self, e: int, upto: int):
        """Bring expert e's columns (and its idle-step gradient) from step last[e] to ``upto``."""
        tau = self.last[e]
        self.last[e] = upto
        if not self.touched[e] or upto <= tau:
            return                           # columns are exactly zero: nothing to carry
        cs = self.slices[e]
        window = [s for s in self.steps if tau < s[0] <= upto]
        if len(window) != upto - tau:
            raise RuntimeError(f"tree-rtrl: expert {e} window ({tau}, {upto}] left the buffer")
        P_e = self.P[:, :, cs]
        lam = self._idle_adjoint(window)
        # Before the columns move on: the idle steps' gradient and what the columns owed from
        # their active steps both multiply P_tau.
        owed = self._take_owed(1 + e)
        if owed is not None:
            lam = owed if lam is None else lam + owed
        if lam is not None:
            self.state_grad[cs] += (lam.unsqueeze(1) @ P_e).sum((0, 1))
            self.counters["sensitivity_flops"] += 2 * lam.shape[0] * lam.shape[1] * P_e.shape[2]
        H = self.model.H
        replay_cost = sum(r.shape[1] * c.shape[1] for _, r, c, _, _ in window)
        use_tree = replay_cost > H * H if self.flush == "auto" else self.flush == "tree"
        if use_tree:
            before = self.tree.products
            M = self.tree.product(tau + 1, upto)
            B = M.shape[0]
            self.counters["sensitivity_flops"] += 2 * B * H ** 3 * (self.tree.products - before)
            self.P[:, :, cs] = torch.bmm(M, P_e, out=self._buffer("flush", P_e.shape))
            self.counters["sensitivity_flops"] += 2 * B * H * H * P_e.shape[2]
        else:
            for _, rows, cols, J_wc, _ in window:
                self._sparse_update(P_e, rows, cols, J_wc, None)

    def _idle_adjoint(self, window):
        """``sum_s g_s J_s ... J_{tau+1}`` over the window, backwards; None if no target."""
        lam = None
        for _, rows, cols, J_wc, g in reversed(window):
            if g is not None:
                lam = g.clone() if lam is None else lam + g
            if lam is None:
                continue
            lam_w = lam.gather(1, rows)
            lam.scatter_(1, rows, 0.0)
            lam.scatter_add_(1, cols, (lam_w.unsqueeze(1) @ J_wc).squeeze(1))
            self.counters["sensitivity_flops"] += 2 * lam.shape[0] * rows.shape[1] * cols.shape[1]
        return lam

    def _collect(self):
        for e in range(len(self.groups)):
            if self.last[e] < self.t - 1:
                self._flush(e, self.t - 1)
        return super()._collect()

    def _state_tensors(self):
        if not self._started:
            return []
        held = super()._state_tensors() + self.tree.nodes()
        for _, rows, cols, J_wc, g in self.steps:
            held += [rows, cols, J_wc] + ([g] if g is not None else [])
        return held
