"""Exact real-time recurrent learning: dense, and sparse using the step's routing.

RTRL carries the sensitivity ``P_t = dh_t / dtheta`` ([B, H, P] for the P parameters that touch
the state) forward in time:

    P_t = J_h P_{t-1} + J_theta,       dL/dtheta += (dl_t/dh_t) P_t + dl_t/dtheta (direct)

with ``J_h = dh_t/dh_{t-1}`` and ``J_theta = dh_t/dtheta``. On the MoE cell they come from its
backward written out by hand (:mod:`.moe_jacobian`, ``jacobian="analytic"``, the default there),
elsewhere from ``torch.func`` (``jacobian="torch.func"``). Nothing per-step is kept, so memory
does not depend on T. The output block touches no state: its gradient is taken
directly at each step.

The sparse learners (:mod:`.sparse_rtrl`, :mod:`.tree_rtrl`) build on this class.

``compile=True`` puts the Jacobian through ``torch.compile``: on the MoE cell the hand-derived
forward and factors (:func:`moe_jacobian.factors`, one graph, no host synchronisation), elsewhere
torch.func's; the readout's gradient is compiled too.
"""
from __future__ import annotations

import torch
from torch.func import functional_call, grad, vjp, vmap

from . import moe_jacobian
from .base import Learner

JACOBIANS = ("auto", "analytic", "torch.func")


class DenseRTRL(Learner):
    name = "rtrl"
    VERSIONS = {"learner.rtrl": 1, "timing.rtrl": 1}
    streaming = True
    uses_torch_func = True

    def __init__(self, model, compile: bool = False, jacobian: str = "auto"):
        super().__init__(model)
        self.state_names = model.state_param_names()
        params = dict(model.named_parameters())
        self.out_names = [n for n in params if n not in set(self.state_names)]
        self.params = params
        self.sizes = [params[n].numel() for n in self.state_names]
        self.n_state = sum(self.sizes)
        # Detached views share the parameters' storage, so they follow in-place updates.
        self._frozen = {n: p.detach() for n, p in params.items()}
        self._jac_batched = vmap(self._jac_single, in_dims=(None, 0, 0))
        self._static = False        # SparseRTRL's capturable step (cuda_graph=True)
        self.compile = bool(compile)
        #: seconds spent in calls that compiled (first call per shape / set of parameters)
        self.compile_s = 0.0
        if self.compile:
            self._jac = self._jac_from_flat
            self._jac_flat_compiled = _compiled(self._jac_flat, self)
            self._readout_compiled = _compiled(self._readout_fn, self)
        self._layouts: dict = {}
        # SparseRTRL sets cuda_graph before calling here
        self.jacobian = self._resolve_jacobian(jacobian, getattr(self, "cuda_graph", False))

    def _resolve_jacobian(self, jacobian: str, cuda_graph: bool) -> str:
        """``auto``: the hand-derived Jacobian on the MoE cell (compiled when compile=True),
        unless the step is captured in a CUDA graph: the update reads the step's expert
        selection on the host to skip the unselected experts' blocks, which a graph cannot,
        so a captured step takes torch.func's Jacobian."""
        if jacobian not in JACOBIANS:
            raise ValueError(f"{self.name}: jacobian must be one of {', '.join(JACOBIANS)}, "
                             f"got {jacobian!r}")
        routed = moe_jacobian.applies(self.model)
        if jacobian == "auto":
            jacobian = "analytic" if routed and not cuda_graph else "torch.func"
        if jacobian == "analytic":
            if not routed:
                raise ValueError(f"{self.name}: jacobian='analytic' is derived for RecurrentMoE "
                                 f"only, not {type(self.model).__name__}")
            if cuda_graph:
                raise ValueError(f"{self.name}: jacobian='analytic' cannot be combined with "
                                 "cuda_graph=True (the capture uses torch.func's)")
            self._jac = self._jac_analytic
            if self.compile:
                self._factors_compiled = _compiled(self._forward_factors, self)
        return jacobian

    def _forward_factors(self, diff, h, x_t):
        """The analytic forward and factors as one pure function (what compile=True takes)."""
        model = self.model
        fw = moe_jacobian.forward(model, self._frozen, x_t, h)
        G = moe_jacobian.basis(model, h.shape[0], h)
        J_h, F_ = moe_jacobian.factors(model, self._frozen, fw, G)
        return (fw.h_new, fw.read, fw.write, fw.experts), J_h, F_

    # -- the transition as a function of (state params, h) for one example --------------------
    def _transition_single(self, diff, h1, x1):
        h_new, route = functional_call(self.model, {**self._frozen, **diff}, (x1[None], h1[None]),
                                       {"part": "transition"})
        aux = (h_new[0],) if route is None else (h_new[0],) + tuple(r[0] for r in route)
        return h_new[0], aux

    def _rows(self, diff, h1, x1):
        """What to differentiate: every row of h_new (dense)."""
        h_new, aux = self._transition_single(diff, h1, x1)
        return h_new, aux

    def _jac_single(self, diff, h1, x1):
        """``(J_theta, J_h), aux`` of :meth:`_rows` for one example: one forward, then the
        backward vmapped over the rows' basis (what jacrev does, without its reshaping)."""
        out, backward, aux = vjp(lambda d, h: self._rows(d, h, x1), diff, h1, has_aux=True)
        basis = torch.eye(out.shape[0], dtype=out.dtype, device=out.device)
        return vmap(backward)(basis), aux

    def _jac(self, diff, h, x_t):
        """Per-example Jacobians for the batch. With one example the batch vmap is skipped:
        it is pure overhead there (about a third of the Jacobian's time on the CPU)."""
        if h.shape[0] > 1:
            return self._jac_batched(diff, h, x_t)
        (J_theta, J_h), aux = self._jac_single(diff, h[0], x_t[0])
        return ({n: j[None] for n, j in J_theta.items()}, J_h[None]), tuple(a[None] for a in aux)

    def _jac_looped(self, diff, h, x_t):
        """:meth:`_jac` with the batch as a Python loop, for ``torch.compile``: compiled, the
        nested vmap (batch over rows) gave wrong Jacobians for B > 1 (torch 2.13, CPU). Only
        called with B = 1 now (see :meth:`_jac_from_flat`); the loop keeps it correct for any B."""
        per = [self._jac_single(diff, h[b], x_t[b]) for b in range(h.shape[0])]
        J_theta = {n: torch.stack([p[0][0][n] for p in per]) for n in per[0][0][0]}
        J_h = torch.stack([p[0][1] for p in per])
        aux = tuple(torch.stack([p[1][i] for p in per]) for i in range(len(per[0][1])))
        return (J_theta, J_h), aux

    def _jac_flat(self, diff, h, x_t):
        """:meth:`_jac_looped` with J_theta laid out as one [B, rows, sum of sizes] tensor in
        ``diff``'s order: compiled, the Jacobian kernels write it in place, and the update
        then reads one operand per chunk instead of concatenating parameter pieces."""
        (J_theta, J_h), aux = self._jac_looped(diff, h, x_t)
        B, rows = J_h.shape[:2]
        flat = torch.cat([J_theta[n].reshape(B, rows, -1) for n in diff], dim=2)
        return (flat, J_h), aux

    def _jac_from_flat(self, diff, h, x_t):
        if h.shape[0] > 1:
            # Measured (docs model, B = 8, 1 thread): the compiled batch loop took 44 ms a step
            # against 15 ms for the eager batch vmap, so with a batch the Jacobian stays eager.
            return DenseRTRL._jac(self, diff, h, x_t)
        (flat, J_h), aux = self._jac_flat_compiled(diff, h, x_t)
        return (FlatJacobian(flat, diff, self.params), J_h), aux

    def _jac_analytic(self, diff, h, x_t):
        """:meth:`_jac` from :mod:`.moe_jacobian`. Sparse learners get J_theta as its factors
        (a ``moe_jacobian.LazyJacobian``, built chunk by chunk in the update); dense RTRL gets
        it laid out flat in ``diff``'s order."""
        model = self.model
        names = tuple(diff)
        if self.sparse:
            if self.compile:
                aux, J_h, F_ = self._factors_compiled(diff, h, x_t)
            else:
                fw = moe_jacobian.forward(model, self._frozen, x_t, h)
                G = moe_jacobian.basis(model, h.shape[0], h)
                J_h, F_ = moe_jacobian.factors(model, self._frozen, fw, G)
                aux = (fw.h_new, fw.read, fw.write, fw.experts)
            lazy = moe_jacobian.LazyJacobian(F_, aux[3], model.cfg.n_experts)
            moe_jacobian.check_experts(self._layout(names), lazy.where)
            return (lazy, J_h), aux
        layout = self._layout(names)
        B, R = h.shape[0], model.cfg.topk_write * model.cfg.d_model
        flat = self._buffer("J_theta", (B, R, layout.n))
        if self.compile:
            aux, J_h, F_ = self._factors_compiled(diff, h, x_t)
            moe_jacobian.materialise(model, self._frozen, layout, F_, aux[3], flat)
        else:
            fw = moe_jacobian.forward(model, self._frozen, x_t, h)
            G = moe_jacobian.basis(model, B, h)
            J_h = moe_jacobian.backward(model, self._frozen, fw, G, layout, flat)
            aux = (fw.h_new, fw.read, fw.write, fw.experts)
        return self._all_rows(flat, J_h, aux[2], names), aux

    def _layout(self, names):
        if names not in self._layouts:
            self._layouts[names] = moe_jacobian.ParamJacobian(self.model, names, self.params)
        return self._layouts[names]

    def _all_rows(self, flat, J_h, write, names):
        """Dense RTRL's Jacobians from the written rows': an unwritten slot is copied (its rows
        of J_h are the identity's, of J_theta zero)."""
        B, H, n = flat.shape[0], self.model.H, flat.shape[2]
        rows = _slot_elements(write, self.model.cfg.d_model)
        key = ("J_theta_all", (B, H, n))
        fresh = key not in self._buffers
        full = self._buffer(*key)
        if fresh:
            full.zero_()
        for b in range(B):      # row copies (a scatter_ over [B, rows, n] is 5x slower)
            if not fresh:       # zero outside last step's rows already: clear only those
                full[b].index_fill_(0, self._rows_before[b], 0.0)
            full[b].index_copy_(0, rows[b], flat[b])
        self._rows_before = rows
        J_full = torch.eye(H, dtype=J_h.dtype, device=J_h.device).repeat(B, 1, 1)
        J_full.scatter_(1, rows.unsqueeze(-1).expand(-1, -1, H), J_h)
        return FlatJacobian(full, names, self.params), J_full

    def _diff_params(self):
        return {n: self.params[n].detach() for n in self.state_names}

    def _flat(self, jac_theta: dict, names, rows: int, B: int, out) -> torch.Tensor:
        parts = [jac_theta[n].reshape(B, rows, -1) for n in names]
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
        self._lap("jacobian")
        start = self._timer_start()
        self._update_sensitivity(J_h, J_theta, aux, B)
        self._timer_stop(start)
        self._lap("update")
        self.h = h_new.detach()
        g = self._readout(x_t, y_t)
        if g is not None:
            self._accumulate(g)
        self._lap("readout")

    def _update_sensitivity(self, J_h, J_theta, aux, B):
        H = self.model.H
        # Double-buffered: the product cannot be written over its own input. J_theta is laid
        # out straight into the output, so the product accumulates onto it with no extra copy.
        key = ("P_next", tuple(self.P.shape))
        flat = J_theta.columns(self.state_names) if isinstance(J_theta, FlatJacobian) else None
        if flat is not None:
            out = torch.baddbmm(flat, J_h, self.P, out=self._buffer(*key))
        else:
            out = self._flat(J_theta, self.state_names, H, B, out=self._buffer(*key))
            out.baddbmm_(J_h, self.P)
        self.P, self._buffers[key] = out, self.P
        self.counters["sensitivity_flops"] += 2 * B * H * H * self.n_state

    def _accumulate(self, g):
        self.state_grad += (g.unsqueeze(1) @ self.P).sum((0, 1))

    def _readout_fn(self, outs, h, x_t, y_t):
        """Pure form of :meth:`_readout` for ``torch.compile``: ``((d outs, dl/dh), counts)``."""
        def loss(outs, h):
            logits = functional_call(self.model, {**self._frozen, **outs}, (x_t, h),
                                     {"part": "readout"})
            total = torch.nn.functional.cross_entropy(logits, y_t, ignore_index=-100,
                                                      reduction="sum")
            correct = ((logits.argmax(-1) == y_t) & (y_t != -100)).sum()
            return total, (total.detach(), correct)
        return grad(loss, argnums=(0, 1), has_aux=True)(outs, h)

    def _readout(self, x_t, y_t):
        """Direct gradient of this step's loss: into the output parameters, and dl/dh_t."""
        n = int((y_t != -100).sum())
        if n == 0:
            return None
        if self.compile:
            (d_outs, g), (total, correct) = self._readout_compiled(
                {k: self.params[k].detach() for k in self.out_names}, self.h, x_t, y_t)
            self._meter.add_counts(float(total), int(correct), n)
            for k, gr in d_outs.items():
                self.out_grads[k] = gr if k not in self.out_grads else self.out_grads[k] + gr
            return g
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
            if self._static:        # the sums are zeroed in place below: hand out copies
                summed[n] = summed[n].clone()
        self._zero_sums()
        return summed

    def _state_tensors(self):
        if not self._started:
            return []
        return [self.h, self.P, self.state_grad, *self.out_grads.values(),
                *self._buffers.values()]


class FlatJacobian(dict):
    """J_theta as ``{name: view}`` over one flat [B, rows, n] tensor (compile=True), so that
    a run of consecutive parameters can be read as one column slice (:meth:`columns`)."""

    def __init__(self, flat, names, params):
        super().__init__()
        self.flat, self.offset, at = flat, {}, 0
        B, rows = flat.shape[:2]
        for n in names:
            size = params[n].numel()
            self.offset[n] = at
            self[n] = flat[:, :, at:at + size].reshape(B, rows, *params[n].shape)
            at += size
        self.sizes = {n: params[n].numel() for n in names}

    def columns(self, names):
        """The flat slice holding ``names`` in this order, or None if they are not a run."""
        at = self.offset.get(names[0])
        if at is None:
            return None
        start = at
        for n in names:
            if self.offset.get(n) != at:
                return None
            at += self.sizes[n]
        return self.flat[:, :, start:at]


def _compiled(fn, learner):
    """``fn`` through ``torch.compile`` (inductor; fixed shapes, as the top-k sizes are fixed).

    The transition, the vmapped backward and the routing become a few fused kernels instead of
    hundreds of small dispatched ops. Compiling happens on the first call for each input shape
    and each set of differentiated parameters (tree-rtrl: each set of active experts); its
    time is added to ``learner.compile_s`` (and to the step it happens in). Inductor caches
    the generated code on disk (``TORCHINDUCTOR_CACHE_DIR``, by default
    ``/tmp/torchinductor_<user>``), so a later process compiles faster.
    """
    import time

    compiled = torch.compile(fn, dynamic=False)
    seen = set()

    def call(diff, h, *args):
        key = (tuple(diff), tuple(h.shape), h.dtype, h.device) + tuple(a.shape for a in args)
        if key in seen:
            return compiled(diff, h, *args)
        t0 = time.perf_counter()
        out = compiled(diff, h, *args)
        learner.compile_s += time.perf_counter() - t0
        seen.add(key)
        return out
    return call


def _slot_elements(slots: torch.Tensor, d: int) -> torch.Tensor:
    """[B, k] slot indices -> [B, k*d] indices of their elements in the flat state."""
    return (slots.unsqueeze(-1) * d + torch.arange(d, device=slots.device)).flatten(1)


def _owed(G: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """Rows W of P are about to change: take the loss gradient they owe out of ``G``.

    Returns it laid out over the column set C ([B, |C|], zero outside W), since W is inside C
    and the update's gather brings those rows in anyway.
    """
    in_w = (cols.unsqueeze(2) == rows.unsqueeze(1)).any(2)
    g_c = torch.where(in_w, G.gather(1, cols), torch.zeros((), dtype=G.dtype, device=G.device))
    G.scatter_(1, rows, 0.0)
    return g_c
