"""Exact real-time recurrent learning: dense, and sparse using the step's routing.

RTRL carries the sensitivity ``P_t = dh_t / dtheta`` ([B, H, P] for the P parameters that touch
the state) forward in time:

    P_t = J_h P_{t-1} + J_theta,       dL/dtheta += (dl_t/dh_t) P_t + dl_t/dtheta (direct)

with ``J_h = dh_t/dh_{t-1}`` and ``J_theta = dh_t/dtheta`` from ``torch.func``. Nothing per-step is
kept, so memory does not depend on T. The output block touches no state: its gradient is taken
directly at each step.

Sparse RTRL uses the routing: unwritten slots are copied, so their rows of P stay as they are, and
written slots depend only on the read and written slots, so

    P_t[W] = J_h[W, R ∪ W] P_{t-1}[R ∪ W] + J_theta[W],     P_t[not W] = P_{t-1}[not W].

``sparse-rtrl-readonly`` drops the written-but-unread columns (the analysis document's formula
``P[W] = J[W, R] P[R] + J_theta[W]``); it is not exact and exists to measure that formula's error.
"""
from __future__ import annotations

import torch
from torch.func import functional_call, jacrev, vmap

from .base import Learner


class DenseRTRL(Learner):
    name = "rtrl"
    streaming = True

    def __init__(self, model):
        super().__init__(model)
        self.state_names = model.state_param_names()
        params = dict(model.named_parameters())
        self.out_names = [n for n in params if n not in set(self.state_names)]
        self.params = params
        self.sizes = [params[n].numel() for n in self.state_names]
        self.n_state = sum(self.sizes)
        self._jac = vmap(jacrev(self._rows, argnums=(0, 1), has_aux=True), in_dims=(None, 0, 0))

    # -- the transition as a function of (state params, h) for one example --------------------
    def _transition_single(self, diff, h1, x1):
        frozen = {n: p.detach() for n, p in self.params.items()}
        frozen.update(diff)
        h_new, route = functional_call(self.model, frozen, (x1[None], h1[None]),
                                       {"part": "transition"})
        aux = (h_new[0],) if route is None else (h_new[0],) + tuple(r[0] for r in route)
        return h_new[0], aux

    def _rows(self, diff, h1, x1):
        """What to differentiate: every row of h_new (dense)."""
        h_new, aux = self._transition_single(diff, h1, x1)
        return h_new, aux

    def _diff_params(self):
        return {n: self.params[n].detach() for n in self.state_names}

    def _flat(self, jac_theta: dict, names, rows: int, B: int) -> torch.Tensor:
        parts = [jac_theta[n].reshape(B, rows, -1) for n in names]
        out = self._buffer("J_theta", (B, rows, sum(p.shape[2] for p in parts)))
        return torch.cat(parts, dim=2, out=out)

    def _buffer(self, key: str, shape) -> torch.Tensor:
        """A reused work buffer. Fresh multi-MB tensors every step cost more in page faults
        (the allocator hands large blocks back to the OS) than the matmul itself."""
        key = (key, tuple(shape))
        if key not in self._buffers:
            p = self._like
            self._buffers[key] = torch.empty(shape, dtype=p.dtype, device=p.device)
        return self._buffers[key]

    # -- learner hooks ---------------------------------------------------------------------------
    def _reset(self, batch_size, like):
        p = self._like
        self.h = self.model.init_state(batch_size).detach()
        self.P = torch.zeros(batch_size, self.model.H, self.n_state, dtype=p.dtype, device=p.device)
        self._buffers: dict = {}
        self._zero_sums()

    def _zero_sums(self):
        p = self._like
        self.state_grad = torch.zeros(self.n_state, dtype=p.dtype, device=p.device)
        self.out_grads: dict = {}

    def _consume(self, x_t, y_t):
        B = x_t.shape[0]
        (J_theta, J_h), aux = self._jac(self._diff_params(), self.h, x_t)
        h_new = aux[0]
        start = self._timer_start()
        self._update_sensitivity(J_h, J_theta, aux, B)
        self._timer_stop(start)
        self.h = h_new.detach()
        g = self._readout(x_t, y_t)
        if g is not None:
            self._accumulate(g)

    def _update_sensitivity(self, J_h, J_theta, aux, B):
        H = self.model.H
        J_theta = self._flat(J_theta, self.state_names, H, B)
        # Double-buffered: the product cannot be written over its own input.
        key = ("P_next", tuple(self.P.shape))
        out = self._buffer(*key)
        self.P, self._buffers[key] = torch.baddbmm(J_theta, J_h, self.P, out=out), self.P
        self.counters["sensitivity_flops"] += 2 * B * H * H * self.n_state

    def _accumulate(self, g):
        self.state_grad += (g.unsqueeze(1) @ self.P).sum((0, 1))

    def _readout(self, x_t, y_t):
        """Direct gradient of this step's loss: into the output parameters, and dl/dh_t."""
        if not bool((y_t != -100).any()):
            return None
        with torch.enable_grad():
            h = self.h.detach().requires_grad_(True)
            logits = self.model.readout(x_t, h)
            loss = self._meter.add(logits, y_t)
            outs = [self.params[n] for n in self.out_names]
            grads = torch.autograd.grad(loss, [h] + outs, allow_unused=True)
        for n, gr in zip(self.out_names, grads[1:]):
            if gr is not None:
                self.out_grads[n] = gr if n not in self.out_grads else self.out_grads[n] + gr
        return grads[0]

    def _collect(self):
        summed = dict(self.out_grads)
        for n, g in zip(self.state_names, self.state_grad.split(self.sizes)):
            summed[n] = g.view_as(self.params[n])
        self._zero_sums()
        return summed

    def _state_tensors(self):
        if not self._started:
            return []
        return [self.h, self.P, self.state_grad, *self.out_grads.values(),
                *self._buffers.values()]


def _slot_elements(slots: torch.Tensor, d: int) -> torch.Tensor:
    """[B, k] slot indices -> [B, k*d] indices of their elements in the flat state."""
    return (slots.unsqueeze(-1) * d + torch.arange(d, device=slots.device)).flatten(1)


class SparseRTRL(DenseRTRL):
    """Exact RTRL that recomputes only written rows of P, from read and written columns."""

    name = "sparse-rtrl"
    read_only = False

    def __init__(self, model):
        if not model.expert_param_groups() and not hasattr(model.cfg, "topk_write"):
            raise ValueError(f"{self.name} needs a routed model (RecurrentMoE); use 'rtrl' "
                             "for the plain RNN")
        super().__init__(model)
        cfg = model.cfg
        self.d = cfg.d_model
        # Fixed-size column set per example: R ∪ W padded with other slots. A padding slot was
        # neither read nor written, so its columns of J are exactly zero: the product stays exact.
        self.m = cfg.topk_read if self.read_only else min(cfg.n_slots,
                                                           cfg.topk_read + cfg.topk_write)

    def _rows(self, diff, h1, x1):
        h_new, aux = self._transition_single(diff, h1, x1)
        write = aux[2]
        rows = (write.unsqueeze(-1) * self.d + torch.arange(self.d, device=write.device)).flatten()
        return h_new[rows], aux

    def _columns(self, read, write):
        if self.read_only:
            return read
        n_slots = self.model.cfg.n_slots
        used = torch.zeros(read.shape[0], n_slots, dtype=torch.bool, device=read.device)
        used.scatter_(1, read, True).scatter_(1, write, True)
        order = torch.argsort((~used).to(torch.int8), dim=1, stable=True)
        return order[:, :self.m]

    def _update_sensitivity(self, J_h, J_theta, aux, B):
        _, read, write, _ = aux
        rows = _slot_elements(write, self.d)                  # [B, kw*d]
        cols = _slot_elements(self._columns(read, write), self.d)   # [B, m*d]
        J_wc = J_h.gather(2, cols.unsqueeze(1).expand(-1, rows.shape[1], -1))
        self._sparse_update(self.P, rows, cols, J_wc,
                            self._flat(J_theta, self.state_names, rows.shape[1], B))

    def _sparse_update(self, P, rows, cols, J_wc, J_theta_w):
        """P[W] = J[W, C] P[C] + J_theta[W] in place; P may be a column slice of self.P."""
        B, n = P.shape[0], P.shape[2]
        P_c = self._buffer("P_c", (B, cols.shape[1], n))
        for b in range(B):          # per-example slots; index_select copies whole rows
            torch.index_select(P[b], 0, cols[b], out=P_c[b])
        new = self._buffer("P_w", (B, rows.shape[1], n))
        if J_theta_w is None:
            torch.bmm(J_wc, P_c, out=new)
        else:
            torch.baddbmm(J_theta_w, J_wc, P_c, out=new)
        for b in range(B):
            P[b].index_copy_(0, rows[b], new[b])
        self.counters["sensitivity_flops"] += 2 * P.shape[0] * rows.shape[1] * cols.shape[1] * n


class SparseReadOnlyRTRL(SparseRTRL):
    """The documented formula P[W] = J[W, R] P[R] + J_theta[W]: inexact when W is not in R."""

    name = "sparse-rtrl-readonly"
    read_only = True
