"""Exact sparse RTRL: only the written rows of P change, from the read and written columns.

On the MoE cell unwritten slots are copied, so their rows of P stay as they are, and written
slots depend only on the read and written slots, so

    P_t[W] = J_h[W, R ∪ W] P_{t-1}[R ∪ W] + J_theta[W],     P_t[not W] = P_{t-1}[not W].

Because a row of P only changes when its slot is written, the gradient term ``sum_t g_t P_t`` is
regrouped too: ``g`` is summed per row and multiplied into P only when that row is about to change
(while the update has it in cache anyway) or when the gradient is collected. That replaces a pass
over all of P every step, which costs as much as the sparse update's own memory traffic.

On the analytic path J_theta[W] is never written out: its weight blocks are outer products of a
cotangent and the layer's input (:func:`moe_jacobian.factors`), and the update builds each
column chunk of it straight into the product's output (``moe_jacobian.LazyJacobian``), where the
``addmm`` then adds ``J_h[W, C] P[C]`` while that block is still in cache.

``sparse-rtrl-readonly`` drops the written-but-unread columns (the analysis document's formula
``P[W] = J[W, R] P[R] + J_theta[W]``); it is not exact and exists to measure that formula's error.
"""
from __future__ import annotations

import torch

from . import moe_jacobian
from .rtrl import DenseRTRL, FlatJacobian, _owed, _slot_elements  # noqa: F401
from .static_step import StaticStep


class SparseRTRL(StaticStep, DenseRTRL):
    """Exact RTRL that recomputes only written rows of P, from read and written columns."""

    name = "sparse-rtrl"
    VERSIONS = {"learner.sparse-rtrl": 1, "timing.sparse-rtrl": 1}
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
        return DenseRTRL._collect(self)   # past StaticStep._collect, which called here

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

    def _chunks(self, names, width: int, whole_rows: bool = False):
        """Column chunks of P for the update: ``(start, stop, [(param, from, to, Block), ...])``,
        planned once per (names, width).

        Chunks are ``width`` columns, so the gathered rows, the product and J_theta's piece stay
        in cache; they follow parameter boundaries, so a torch.func J_theta is used as it was
        returned (a view) wherever one parameter fills the chunk. ``whole_rows`` (a
        :class:`LazyJacobian`): a weight's pieces cover whole rows of it (its ``Block.step``,
        so :func:`moe_jacobian.fill` builds them as one product); a chunk may then run over a
        few rows past ``width`` rather than split one.
        """
        key = ("chunks", tuple(names), width, whole_rows)
        if key not in self._plans:
            chunks, pieces, start, filled = [], [], 0, 0
            for name in names:
                shape = tuple(self.params[name].shape)
                block = moe_jacobian.block_of(name, shape) if whole_rows else None
                step = block.step if whole_rows else 1
                numel = self.params[name].numel()
                at = 0
                while at < numel:
                    take = min(numel - at, width - filled) // step * step
                    if take == 0 and filled:          # no room for a row: close the chunk
                        chunks.append((start, start + filled, pieces))
                        pieces, start, filled = [], start + filled, 0
                        continue
                    take = max(take, step)
                    pieces.append((name, at, at + take, block))
                    at, filled = at + take, filled + take
                    if filled >= width:
                        chunks.append((start, start + filled, pieces))
                        pieces, start, filled = [], start + filled, 0
            if pieces:
                chunks.append((start, start + filled, pieces))
            self._plans[key] = chunks
        return self._plans[key]

    def _sparse_update(self, P, rows, cols, J_wc, J_theta=None, names=None, g_c=None,
                       grad=None):
        """P[W] = J[W, C] P[C] + J_theta[W] in place; P may be a column slice of self.P.

        ``J_theta``: a :class:`moe_jacobian.LazyJacobian` (the analytic path: each chunk's block is built
        from its factors into the product's output, while it is in cache, so J_theta is never
        written out whole), torch.func's ``{name: [B, |W|, *shape]}`` for ``names`` (P's
        columns in order), or None for a pure propagation. With ``g_c`` ([B, |C|]), also
        ``grad += g_c @ P_old[C]``, while those rows are in cache.
        """
        B, n = P.shape[0], P.shape[2]
        k, m = rows.shape[1], cols.shape[1]
        width = self._chunk_width(n, m + k)
        lazy = isinstance(J_theta, moe_jacobian.LazyJacobian)
        flat = J_theta.columns(names) if isinstance(J_theta, FlatJacobian) else None
        if J_theta is None:
            chunks = [(c, min(c + width, n), None) for c in range(0, n, width)]
        elif lazy:
            chunks = self._chunks(names, width, whole_rows=True)
        elif flat is not None:
            chunks = [(c, min(c + width, n), [("flat", c, min(c + width, n), None)])
                      for c in range(0, n, width)]
            jac = {"flat": flat}
        else:
            chunks = self._chunks(names, width)
            jac = {name: J_theta[name].reshape(B, k, -1) for name in names}
        widest = max(c1 - c0 for c0, c1, _ in chunks)     # a lazy chunk may pass ``width``
        P_c_all = None if self._all_columns else self._scratch("P_c", m * widest)
        new_all = self._scratch("P_w", k * widest)
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
                elif lazy:
                    if J_theta.zero(b, pieces):
                        torch.mm(J_wc[b], P_c, out=new)
                    else:
                        J_theta.fill(b, pieces, new)
                        new.addmm_(J_wc[b], P_c)
                else:
                    if len(pieces) == 1:
                        name, a, z, _ = pieces[0]
                        torch.addmm(jac[name][b, :, a:z], J_wc[b], P_c, out=new)
                    else:
                        torch.cat([jac[name][b, :, a:z] for name, a, z, _ in pieces], dim=1,
                                  out=new)
                        new.addmm_(J_wc[b], P_c)
                if g_c is not None:
                    grad[c0:c1].addmv_(P_c.t(), g_c[b])
                P_b.index_copy_(0, rows[b], new)
        self.counters["sensitivity_flops"] += 2 * B * k * m * n


class SparseReadOnlyRTRL(SparseRTRL):
    """The documented formula P[W] = J[W, R] P[R] + J_theta[W]: inexact when W is not in R."""

    name = "sparse-rtrl-readonly"
    VERSIONS = {"learner.sparse-rtrl-readonly": 1, "timing.sparse-rtrl-readonly": 1}
    exact = False
    read_only = True
