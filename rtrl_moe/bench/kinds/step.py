"""The training step a point measures, and its exact tensor accounting (the memory pass).

A step is ``opt.zero_grad(); grads = learner.gradient(task.stream()); p.grad = grads[name];
opt.step()`` (Adam). :meth:`StepRunner.accounted_step` runs one such step under a tensor
tracker (``tensor_tracking``):

* "hooks": autograd's saved tensors through ``saved_tensors_hooks`` (each storage once, live
  peak) and ``learner.state_bytes()`` sampled at every step;
* "live" (automatic for learners that hide their saved tensors, like ckpt-bptt, and for
  learners that use torch.func, which refuses to run under saved-tensor hooks): every tensor
  the ``gradient()`` call creates, through a dispatch mode; the transient peak is the live peak
  minus the gradients and the learner state.  Streaming learners may be tracked over their first
  ``track_steps`` steps, the state at every step of the whole sequence.

``tensor_bytes_peak = params + grads + optimizer state + learner state + saved (or transient)
peak``: the sum of each component's own peak (an upper bound on the simultaneous peak,
deterministic).
"""
from __future__ import annotations

import gc
import itertools
from typing import Optional

from ... import build
from ..config import PointConfig

PREFIX_WARMUP_STEPS = 4


class StepRunner:
    """Runs training steps of one learner on one task; one of them with tensor accounting."""

    def __init__(self, cfg: PointConfig, task, model, learner, opt):
        self.cfg, self.task, self.model, self.learner, self.opt = cfg, task, model, learner, opt
        self.state_max = 0

    def stream(self, index: int = 0, track_state: bool = False, limit: Optional[int] = None):
        it = self.task.stream(index)
        if limit is not None:
            it = itertools.islice(it, limit)
        for x_t, y_t in it:
            if track_state:
                self._sample_state()
            yield x_t, y_t

    def _sample_state(self):
        try:
            b = int(self.learner.state_bytes())
        except Exception:
            return
        if b > self.state_max:
            self.state_max = b

    def prefix_warmup(self, n: int = PREFIX_WARMUP_STEPS) -> None:
        """Gradient over the first few steps, discarded: lazy one-off initialisation (autograd
        engine, torch.func, kernels, code pages, threads) happens before the RSS baseline and
        the address-space budget, so neither measures it."""
        import torch
        dtype = build.torch_dtype(self.cfg.dtype)
        (torch.ones(64, 64, dtype=dtype) @ torch.ones(64, 64, dtype=dtype)).sum().item()
        self.learner.gradient(self.stream(limit=min(n, self.cfg.seq_len)))
        self.opt.zero_grad(set_to_none=True)
        gc.collect()

    def step(self, stream) -> None:
        self.opt.zero_grad(set_to_none=True)
        self._apply(self.learner.gradient(stream))

    def _apply(self, grads) -> None:
        for name, p in self.model.named_parameters():
            p.grad = grads[name]
        self.opt.step()

    def accounted_step(self) -> dict:
        """One training step with exact tensor accounting (the memory pass)."""
        from ..probes.tensors import (
            LiveTensorTracker,
            SavedTensorTracker,
            hooks_refused,
            optimizer_state_tensors,
            unique_bytes,
        )
        params = list(self.model.parameters())
        out: dict = {}
        mode = self.cfg.tensor_tracking
        if mode == "auto":
            mode = "live" if self.learner.hides_saved_tensors else "hooks"
        reason = None
        if mode == "hooks":
            try:
                with SavedTensorTracker(exclude=params) as tr:
                    self.step(self.stream(track_state=True))
                out["tensor_bytes_method"] = "saved_tensors_hooks"
                out["tensor_bytes_saved_peak"] = int(tr.peak)
                out["saved_tensors_packed"] = tr.n_packed
                out["saved_tensors_live_after"] = int(tr.current)
                out["tensor_bytes_tracked_steps"] = self.cfg.seq_len
                transient = int(tr.peak)
            except RuntimeError as e:
                if not hooks_refused(e):
                    raise
                # torch.func inside the learner: the step stopped before the optimizer step,
                # so the parameters are unchanged; run it again under the live-tensor tracker
                self.opt.zero_grad(set_to_none=True)
                self.state_max = 0
                mode = "live"
                reason = ("saved_tensors_hooks refused by torch.func in the learner; transient "
                          "peak from live tensors instead")
        elif self.cfg.tensor_tracking == "auto":
            reason = ("torch.utils.checkpoint's own saved-tensor hooks hide the recomputed "
                      "segment from ours; transient peak from live tensors instead")
        if mode == "live":
            window = self.cfg.track_steps
            full = window is None or window >= self.cfg.seq_len or not self.learner.streaming
            self.opt.zero_grad(set_to_none=True)
            self.state_max = 0
            gc.collect()
            # the gradient only: the optimizer's state is created after the peak and is
            # counted on its own (tensor_bytes_optimizer)
            with LiveTensorTracker(exclude=params) as lt:
                grads = self.learner.gradient(self.stream(track_state=True,
                                                          limit=None if full else window))
            self._sample_state()
            held = unique_bytes(grads.values()) + self.state_max
            self._apply(grads)
            del grads
            gc.collect()
            if not full:
                # the whole sequence once more, untracked, sampling the learner state each step
                self.step(self.stream(track_state=True))
            out["tensor_bytes_method"] = "dispatch_live"
            out["tensor_bytes_saved_peak"] = None
            out["tensor_bytes_live_peak"] = int(lt.peak)
            out["tensor_bytes_transient_peak"] = int(max(0, lt.peak - held))
            out["tensor_bytes_tracked_steps"] = self.cfg.seq_len if full else window
            out["saved_tracking"] = reason or "tensor_tracking='live' requested"
            transient = out["tensor_bytes_transient_peak"]
        self._sample_state()
        comp = {
            "tensor_bytes_params": unique_bytes(params),
            "tensor_bytes_grads": unique_bytes(p.grad for p in params),
            "tensor_bytes_optimizer": unique_bytes(optimizer_state_tensors(self.opt)),
            "tensor_bytes_learner_state": int(self.state_max),
        }
        out.update(comp)
        out["tensor_bytes_peak"] = int(sum(comp.values()) + transient)
        return out
