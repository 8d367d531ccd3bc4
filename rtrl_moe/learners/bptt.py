"""Backpropagation-through-time baselines: full, truncated and checkpointed."""
from __future__ import annotations

import math

import torch
from torch.utils.checkpoint import checkpoint

from .base import IGNORE, Learner


def _grads(model, loss) -> dict[str, torch.Tensor]:
    names, params = zip(*model.named_parameters())
    if not isinstance(loss, torch.Tensor):     # no target seen: nothing to differentiate
        return {}
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return {n: g for n, g in zip(names, grads) if g is not None}


def _add(into: dict, grads: dict):
    for n, g in grads.items():
        into[n] = g if n not in into else into[n] + g


class BPTT(Learner):
    """Full BPTT: the graph of the whole sequence is kept until the gradient is taken."""

    name = "bptt"
    VERSIONS = {"learner.bptt": 1, "timing.bptt": 1}

    def _reset(self, batch_size, like):
        self.h = self.model.init_state(batch_size)
        self.loss = 0.0

    def _consume(self, x_t, y_t):
        logits, self.h, _ = self.model.step(x_t, self.h)
        loss = self._meter.add(logits, y_t)
        if loss is not None:
            self.loss = self.loss + loss

    def _collect(self):
        grads = _grads(self.model, self.loss)
        self.loss = 0.0
        self.h = self.h.detach()
        return grads

    def _state_tensors(self):
        return [self.h] if hasattr(self, "h") else []


class TBPTT(BPTT):
    """Truncated BPTT: backpropagate every ``k`` steps through the last ``k`` steps only.

    Streams: it holds at most ``k`` steps of graph. Its gradient is biased (dependencies longer
    than ``k`` are cut); the harness measures how much.
    """

    name = "tbptt"
    VERSIONS = {"learner.tbptt": 1, "timing.tbptt": 1}
    streaming = True
    exact = False

    def __init__(self, model, k: int = 16):
        super().__init__(model)
        if int(k) < 1:
            raise ValueError(f"tbptt window k must be >= 1, got {k}")
        self.k = int(k)

    def _reset(self, batch_size, like):
        super()._reset(batch_size, like)
        self.sums: dict = {}
        self.in_window = 0

    def _consume(self, x_t, y_t):
        super()._consume(x_t, y_t)
        self.in_window += 1
        if self.in_window == self.k:
            self._truncate()

    def _truncate(self):
        _add(self.sums, _grads(self.model, self.loss))
        self.loss = 0.0
        self.h = self.h.detach()
        self.in_window = 0

    def _collect(self):
        self._truncate()
        sums, self.sums = self.sums, {}
        return sums


class CheckpointBPTT(BPTT):
    """Exact BPTT that keeps only segment-boundary states and recomputes each segment.

    Segment length ``k`` defaults to ceil(sqrt(T)) when T is known, else 32.
    """

    name = "ckpt-bptt"
    VERSIONS = {"learner.ckpt-bptt": 1, "timing.ckpt-bptt": 1}
    hides_saved_tensors = True

    def __init__(self, model, k: int | None = None):
        super().__init__(model)
        if k is not None and int(k) < 1:
            raise ValueError(f"ckpt-bptt segment k must be >= 1, got {k}")
        self.k = None if k is None else int(k)

    def _reset(self, batch_size, like):
        super()._reset(batch_size, like)
        T = self._seq_len_hint
        self.segment = self.k or (math.ceil(math.sqrt(T)) if T else 32)
        self.pending: list = []

    def _consume(self, x_t, y_t):
        self.pending.append((x_t, y_t))
        if len(self.pending) == self.segment:
            self._run_segment()

    def _run_segment(self):
        if not self.pending:
            return
        xs = torch.stack([x for x, _ in self.pending])
        ys = torch.stack([y for _, y in self.pending])
        self.pending = []
        # Reentrant checkpointing runs the segment under no_grad, so it keeps neither saved
        # tensors nor autograd nodes; the non-reentrant variant drops the tensors but keeps one
        # node per op, which for a small model costs as much resident memory as plain BPTT.
        # Reentrant mode only differentiates through inputs that require grad, hence the state.
        if not self.h.requires_grad:
            self.h = self.h.detach().requires_grad_(True)
        h, loss, correct, n = checkpoint(self._segment, self.h, xs, ys, use_reentrant=True)
        self.h = h
        if int(n):
            self._meter.add_counts(float(loss.detach()), int(correct), int(n))
            self.loss = self.loss + loss

    def _segment(self, h, xs, ys):
        loss = h.new_zeros(())
        correct = torch.zeros((), dtype=torch.long, device=h.device)
        n = torch.zeros((), dtype=torch.long, device=h.device)
        for x_t, y_t in zip(xs, ys):
            logits, h, _ = self.model.step(x_t, h)
            mask = y_t != IGNORE
            if bool(mask.any()):
                loss = loss + torch.nn.functional.cross_entropy(
                    logits, y_t, ignore_index=IGNORE, reduction="sum")
                correct = correct + (logits.detach().argmax(-1) == y_t)[mask].sum()
                n = n + mask.sum()
        return h, loss, correct, n

    def _collect(self):
        self._run_segment()
        # Reentrant checkpoints only support .backward(): run it on cleared .grad fields and
        # put the caller's .grad back afterwards.
        params = dict(self.model.named_parameters())
        saved = {n: p.grad for n, p in params.items()}
        for p in params.values():
            p.grad = None
        if isinstance(self.loss, torch.Tensor):
            self.loss.backward()
        grads = {n: p.grad for n, p in params.items() if p.grad is not None}
        for n, p in params.items():
            p.grad = saved[n]
        self.loss = 0.0
        self.h = self.h.detach()
        return grads
