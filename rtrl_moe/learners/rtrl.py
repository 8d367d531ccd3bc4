"""Exact real-time recurrent learning: dense, and sparse using the step's routing.

RTRL carries the sensitivity ``P_t = dh_t / dtheta`` ([B, H, P] for the P parameters that touch
the state) forward in time:

    P_t = J_h P_{t-1} + J_theta,       dL/dtheta += (dl_t/dh_t) P_t + dl_t/dtheta (direct)

with ``J_h = dh_t/dh_{t-1}`` and ``J_theta = dh_t/dtheta``. On the MoE cell they come from its
backward written out by hand (:mod:`.moe_jacobian`, ``jacobian="analytic"``, the default there),
elsewhere from ``torch.func`` (``jacobian="torch.func"``). Nothing per-step is kept, so memory
does not depend on T. The output block touches no state: its gradient is taken
directly at each step.

Sparse RTRL uses the routing: unwritten slots are copied, so their rows of P stay as they are, and
written slots depend only on the read and written slots, so

    P_t[W] = J_h[W, R ∪ W] P_{t-1}[R ∪ W] + J_theta[W],     P_t[not W] = P_{t-1}[not W].

Because a row of P only changes when its slot is written, the gradient term ``sum_t g_t P_t`` is
regrouped too: ``g`` is summed per row and multiplied into P only when that row is about to change
(while the update has it in cache anyway) or when the gradient is collected. That replaces a pass
over all of P every step, which costs as much as the sparse update's own memory traffic.

``sparse-rtrl-readonly`` drops the written-but-unread columns (the analysis document's formula
``P[W] = J[W, R] P[R] + J_theta[W]``); it is not exact and exists to measure that formula's error.
"""
from __future__ import annotations

import torch
from torch.func import functional_call, grad, vjp, vmap

from . import moe_jacobian
from .base import Learner

JACOBIANS = ("auto", "analytic", "torch.func")


class DenseRTRL(Learner):
    name = "rtrl"
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
        """``auto``: the hand-derived Jacobian on the MoE cell, unless the step is compiled
        (compile=True compiles torch.func's) or captured (its expert bookkeeping reads the
        routing on the host, which a CUDA graph cannot)."""
        if jacobian not in JACOBIANS:
            raise ValueError(f"{self.name}: jacobian must be one of {', '.join(JACOBIANS)}, "
                             f"got {jacobian!r}")
        routed = moe_jacobian.applies(self.model)
        if jacobian == "auto":
            jacobian = "analytic" if routed and not (self.compile or cuda_graph) else "torch.func"
        if jacobian == "analytic":
            if not routed:
                raise ValueError(f"{self.name}: jacobian='analytic' is derived for RecurrentMoE "
                                 f"only, not {type(self.model).__name__}")
            if self.compile or cuda_graph:
                raise ValueError(f"{self.name}: jacobian='analytic' cannot be combined with "
                                 "compile=True or cuda_graph=True (they use torch.func's)")
            self._jac = self._jac_analytic
        return jacobian

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

    def _jac_analytic(self, diff, h, x_t, fw=None):
        """:meth:`_jac` from :mod:`.moe_jacobian`: J_theta laid out flat in ``diff``'s order."""
        model = self.model
        if fw is None:
            fw = moe_jacobian.forward(model, self._frozen, x_t, h)
        names = tuple(diff)
        if names not in self._layouts:
            self._layouts[names] = moe_jacobian.ParamJacobian(model, names, self.params)
        layout = self._layouts[names]
        B = h.shape[0]
        G = moe_jacobian.basis(model, B, h)
        flat = self._buffer("J_theta", (B, G.shape[1], layout.n))
        J_h = moe_jacobian.backward(model, self._frozen, fw, G, layout, flat)
        aux = (fw.h_new, fw.read, fw.write, fw.experts)
        if self.sparse:
            return (FlatJacobian(flat, names, self.params), J_h), aux
        return self._all_rows(flat, J_h, fw.write, names), aux

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


class SparseRTRL(DenseRTRL):
    """Exact RTRL that recomputes only written rows of P, from read and written columns."""

    name = "sparse-rtrl"
    sparse = True
    read_only = False
    #: most columns of P per chunk of the update (cache-sized; see :meth:`_chunk_width`)
    CHUNK = 4096

    def __init__(self, model, compile: bool = False, cuda_graph: bool = False,
                 jacobian: str = "auto"):
        if not model.expert_param_groups() and not hasattr(model.cfg, "topk_write"):
            raise ValueError(f"{self.name} needs a routed model (RecurrentMoE); use 'rtrl' "
                             "for the plain RNN")
        #: capture the step in a CUDA graph (see _consume); implies the static step
        self.cuda_graph = bool(cuda_graph)
        super().__init__(model, compile=compile, jacobian=jacobian)
        cfg = model.cfg
        self.d = cfg.d_model
        # Fixed-size column set per example: R ∪ W padded with other slots. A padding slot was
        # neither read nor written, so its columns of J are exactly zero: the product stays exact.
        self.m = cfg.topk_read if self.read_only else min(cfg.n_slots,
                                                           cfg.topk_read + cfg.topk_write)
        self._plans: dict = {}
        #: C = all slots in order (m == n_slots): the update reads P in place, no gather
        self._all_columns = not self.read_only and self.m == cfg.n_slots
        self._static = self.cuda_graph
        self._graph = None

    def _rows(self, diff, h1, x1):
        h_new, aux = self._transition_single(diff, h1, x1)
        write = aux[2]
        rows = (write.unsqueeze(-1) * self.d + torch.arange(self.d, device=write.device)).flatten()
        return h_new[rows], aux

    def _columns(self, read, write):
        if self.read_only:
            return read
        n_slots = self.model.cfg.n_slots
        if self.m == n_slots:
            # Every slot is a column: in their own order, so the update multiplies P as it lies
            # (no gather, see _sparse_update).
            return torch.arange(n_slots, device=read.device).expand(read.shape[0], -1)
        used = torch.zeros(read.shape[0], n_slots, dtype=torch.bool, device=read.device)
        used.scatter_(1, read, True).scatter_(1, write, True)
        order = torch.argsort((~used).to(torch.int8), dim=1, stable=True)
        return order[:, :self.m]

    def _column_groups(self) -> list[slice]:
        """Column slices of P whose owed gradient is kept apart (tree-rtrl: core and experts)."""
        return [slice(0, self.n_state)]

    def _reset(self, batch_size, like):
        if self.cuda_graph and not self._like.is_cuda:
            raise ValueError(f"{self.name}: cuda_graph=True needs the model on a CUDA device")
        if self._static and self._started_once(batch_size):
            return self._reset_in_place()
        self._graph = None          # new tensors: a captured graph would point at the old ones
        super()._reset(batch_size, like)
        # Per column group: dl/dh summed per row since that row of P last changed (_accumulate).
        groups = len(self._column_groups())
        self.owed = torch.zeros(groups, batch_size, self.model.H, dtype=self._like.dtype,
                                device=self._like.device)
        self.owes = [False] * groups
        if self._static:
            self._static_sums()

    def _owe(self, grp: int, g):
        self.owed[grp] += g
        self.owes[grp] = True

    def _owed_rows(self, grp: int, rows, cols):
        """What rows W of group ``grp`` owe, over the column set C (None if nothing is owed)."""
        return _owed(self.owed[grp], rows, cols) if self.owes[grp] else None

    def _take_owed(self, grp: int):
        """All that group ``grp`` owes, [B, H], cleared (None if nothing)."""
        if not self.owes[grp]:
            return None
        out = self.owed[grp].clone()
        self.owed[grp].zero_()
        self.owes[grp] = False
        return out

    def _update_sensitivity(self, J_h, J_theta, aux, B):
        _, read, write, _ = aux
        rows = _slot_elements(write, self.d)                  # [B, kw*d]
        cols = _slot_elements(self._columns(read, write), self.d)   # [B, m*d]
        J_wc = J_h.gather(2, cols.unsqueeze(1).expand(-1, rows.shape[1], -1))
        self._sparse_update(self.P, rows, cols, J_wc, J_theta, self.state_names,
                            self._owed_rows(0, rows, cols), self.state_grad)

    def _accumulate(self, g):
        if self.read_only:          # W is not inside C there: no free pass over the old rows
            return super()._accumulate(g)
        # sum_t g_t P_t, regrouped: a row of P is constant between writes, so its share of the
        # gradient is (sum of g over those steps) @ P[row], paid once when the row is next
        # written (or at collect) instead of reading all of P at every step.
        self._owe(0, g)

    def _collect_sparse(self):
        self._lap("update")          # tree-rtrl's last flushes, when called from its _collect
        for grp, cs in enumerate(self._column_groups()):
            owed = self._take_owed(grp)
            if owed is not None:
                self.state_grad[cs] += (owed.unsqueeze(1) @ self.P[:, :, cs]).sum((0, 1))
        self._lap("readout")         # the regrouped loss-gradient term, paid here
        return super()._collect()

    def _state_tensors(self):
        return super()._state_tensors() + ([self.owed] if self._started else [])

    def _scratch(self, key: str, numel: int) -> torch.Tensor:
        """A flat work buffer of at least ``numel`` elements, grown when needed."""
        buf = self._buffers.get(key)
        if buf is None or buf.numel() < numel:
            buf = self._buffers[key] = torch.empty(numel, dtype=self._like.dtype,
                                                   device=self._like.device)
        return buf

    def _chunk_width(self, n: int, rows: int) -> int:
        """Columns per chunk: at most :attr:`CHUNK` (cache-sized), and narrow enough that the
        two scratch blocks ([|C|, w] and [|W|, w]) stay within a quarter of P ([H, n])."""
        fair = -(-n * self.model.H // (4 * rows))
        return max(1, min(n, self.CHUNK, max(256, fair)))

    def _chunks(self, names, width: int) -> list[tuple[int, int, list[tuple[str, int, int]]]]:
        """Column chunks of P for the update: ``(start, stop, [(param, from, to), ...])``.

        Chunks are ``width`` columns, so the gathered rows, the product and J_theta's piece stay
        in cache; they follow parameter boundaries, so J_theta is used as torch.func returned it
        (a view) wherever one parameter fills the chunk.
        """
        key = ("chunks", tuple(names), width)
        if key not in self._plans:
            chunks, pieces, start, filled = [], [], 0, 0
            for name in names:
                numel = self.params[name].numel()
                at = 0
                while at < numel:
                    take = min(numel - at, width - filled)
                    pieces.append((name, at, at + take))
                    at, filled = at + take, filled + take
                    if filled == width:
                        chunks.append((start, start + filled, pieces))
                        pieces, start, filled = [], start + filled, 0
            if pieces:
                chunks.append((start, start + filled, pieces))
            self._plans[key] = chunks
        return self._plans[key]

    def _sparse_update(self, P, rows, cols, J_wc, J_theta=None, names=None, g_c=None,
                       grad=None):
        """P[W] = J[W, C] P[C] + J_theta[W] in place; P may be a column slice of self.P.

        ``J_theta`` is torch.func's ``{name: [B, |W|, *shape]}`` for ``names`` (P's columns in
        order), or None for a pure propagation. With ``g_c`` ([B, |C|]), also
        ``grad += g_c @ P_old[C]``, while those rows are in cache.
        """
        B, n = P.shape[0], P.shape[2]
        k, m = rows.shape[1], cols.shape[1]
        width = self._chunk_width(n, m + k)
        flat = J_theta.columns(names) if isinstance(J_theta, FlatJacobian) else None
        if J_theta is None:
            chunks = [(c, min(c + width, n), None) for c in range(0, n, width)]
        elif flat is not None:
            chunks = [(c, min(c + width, n), [("flat", c, min(c + width, n))])
                      for c in range(0, n, width)]
            jac = {"flat": flat}
        else:
            chunks = self._chunks(names, width)
            jac = {name: J_theta[name].reshape(B, k, -1) for name in names}
        P_c_all = None if self._all_columns else self._scratch("P_c", m * width)
        new_all = self._scratch("P_w", k * width)
        for b in range(B):          # per-example slots
            for c0, c1, pieces in chunks:
                w = c1 - c0
                P_b = P[b, :, c0:c1]
                if self._all_columns:
                    P_c = P_b           # C is every row, in order: P's chunk is the operand
                else:
                    P_c = torch.index_select(P_b, 0, cols[b], out=P_c_all[:m * w].view(m, w))
                new = new_all[:k * w].view(k, w)
                if pieces is None:
                    torch.mm(J_wc[b], P_c, out=new)
                else:
                    if len(pieces) == 1:
                        name, a, z = pieces[0]
                        torch.addmm(jac[name][b, :, a:z], J_wc[b], P_c, out=new)
                    else:
                        torch.cat([jac[name][b, :, a:z] for name, a, z in pieces], dim=1,
                                  out=new)
                        new.addmm_(J_wc[b], P_c)
                if g_c is not None:
                    grad[c0:c1].addmv_(P_c.t(), g_c[b])
                P_b.index_copy_(0, rows[b], new)
        self.counters["sensitivity_flops"] += 2 * B * k * m * n

    # -- the static step: no host synchronisation, fixed tensors (cuda_graph=True) ----------
    # A CUDA graph replays kernels on the same memory, so the step may neither read values on
    # the host (the loss and target counts, "is anything owed") nor allocate the tensors it
    # keeps. The static step keeps the loss counts on the device, always settles the owed
    # gradient (zero when nothing is owed: exact), and updates h, P and the sums in place. It
    # runs eagerly on any device (that is how the CPU tests check it) and is captured on CUDA.

    def _static_sums(self):
        p = self._like
        self._out_sum = {n: torch.zeros_like(self.params[n]) for n in self.out_names}
        self._loss_sum = torch.zeros((), dtype=p.dtype, device=p.device)
        self._hits = torch.zeros(2, dtype=torch.long, device=p.device)    # correct, targets

    def _started_once(self, batch_size) -> bool:
        return getattr(self, "P", None) is not None and self.P.shape[0] == batch_size

    def _reset_in_place(self):
        self.h.copy_(self.model.init_state(self.P.shape[0]))
        for t in (self.P, self.owed, self.state_grad, self._loss_sum, self._hits,
                  *self._out_sum.values()):
            t.zero_()

    def _zero_sums(self):
        if not self._static or getattr(self, "state_grad", None) is None:
            return super()._zero_sums()
        self.state_grad.zero_()
        self.out_grads = {}

    def _static_consume(self, x_t, y_t):
        (J_theta, J_h), aux = self._jac(self._diff_params(), self.h, x_t)
        self._lap("jacobian")
        self.owes = [True] * len(self.owes)
        self._update_sensitivity(J_h, J_theta, aux, x_t.shape[0])
        self._lap("update")
        self.h.copy_(aux[0])
        outs = {n: self.params[n].detach() for n in self.out_names}
        readout = self._readout_compiled if self.compile else self._readout_fn
        (d_outs, g), (total, correct) = readout(outs, self.h, x_t, y_t)
        for n, d in d_outs.items():
            self._out_sum[n].add_(d)
        self._loss_sum.add_(total)
        self._hits[0].add_(correct)
        self._hits[1].add_((y_t != -100).sum())
        self._accumulate(g)
        self._lap("readout")

    def _consume(self, x_t, y_t):
        if not self._static:
            return super()._consume(x_t, y_t)
        if not self.cuda_graph:
            return self._static_consume(x_t, y_t)
        if self._graph is None:
            self._graph = self._capture(x_t, y_t)
            if self._graph is None:            # that was the eager warm-up step
                return
        graph, x_s, y_s, flops = self._graph
        x_s.copy_(x_t)
        y_s.copy_(y_t)
        graph.replay()
        self.counters["sensitivity_flops"] += flops
        # One replay is one phase: it is charged to "update" (phases need profile=True on CUDA).
        self._lap("update")

    def _capture(self, x_t, y_t):
        """First call after a reset: one eager static step on a side stream (CUDA graphs want
        a warm-up for lazy initialisation), returning None. Second: capture, returning
        ``(graph, static x, static y, flops per step)``; the caller replays it for this step."""
        side = torch.cuda.Stream(device=x_t.device)
        side.wait_stream(torch.cuda.current_stream(x_t.device))
        if not getattr(self, "_warm", False):
            with torch.cuda.stream(side):
                self._static_consume(x_t, y_t)
            torch.cuda.current_stream(x_t.device).wait_stream(side)
            self._warm = True
            return None
        x_s, y_s = x_t.clone(), y_t.clone()
        before, lap_at = self.counters["sensitivity_flops"], self._lap_at
        self._lap_at = None                  # capturing runs nothing: no phase to time
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=side):
            self._static_consume(x_s, y_s)
        flops = self.counters["sensitivity_flops"] - before
        self.counters["sensitivity_flops"], self._lap_at = before, lap_at
        return graph, x_s, y_s, flops

    def _collect(self):
        if self._static:                      # the device-side loss counts, once per window
            loss, (correct, n) = float(self._loss_sum), self._hits.tolist()
            self._meter.add_counts(loss, correct, n)
            self.out_grads = {k: v.clone() for k, v in self._out_sum.items()} if n else {}
            for t in (self._loss_sum, self._hits, *self._out_sum.values()):
                t.zero_()
        return self._collect_sparse()


class SparseReadOnlyRTRL(SparseRTRL):
    """The documented formula P[W] = J[W, R] P[R] + J_theta[W]: inexact when W is not in R."""

    name = "sparse-rtrl-readonly"
    exact = False
    read_only = True
