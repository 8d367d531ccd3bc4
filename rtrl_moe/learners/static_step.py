"""The static step of ``sparse-rtrl``: no host synchronisation, fixed tensors.

``cuda_graph=True`` captures it in a CUDA graph and replays it; on any device it also runs
eagerly, which is how the CPU tests check it. Kept apart from :mod:`.sparse_rtrl` so each file
has one job; :class:`StaticStep` is a mixin of :class:`~.sparse_rtrl.SparseRTRL`.
"""
from __future__ import annotations

import torch


class StaticStep:
    """The static step's hooks; they fall through to the eager learner unless ``_static``."""

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
