"""What every learner shares: walking a sequence step by step, the loss, the online loop.

A learner turns a sequence into the gradient of
``F.cross_entropy(logits.reshape(-1, d_out), y.reshape(-1), ignore_index=-100)`` (the mean over
positions with a target) with the parameters held fixed over the sequence. Subclasses implement
three hooks: ``_reset(batch_size, like)``, ``_consume(x_t, y_t)`` (one step) and ``_collect()``
(the summed gradient so far, as ``{name: tensor}``, with per-window accumulators cleared and the
recurrent state kept). Everything else lives here.
"""
from __future__ import annotations

import math
import time
from typing import Iterable, Iterator

import torch
import torch.nn.functional as F

IGNORE = -100


def iter_steps(x, y=None, chunk: int = 1) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``(x_t [B, chunk, d_in], y_t [B])`` pairs from tensors or from a stream of such pairs.

    From tensors, a chunk's target is ``y`` at the chunk's last position.
    """
    if isinstance(x, torch.Tensor):
        if x.dim() != 3:
            raise ValueError(f"x must be [B, T, d_in], got shape {tuple(x.shape)}")
        if y is None or y.shape != x.shape[:2]:
            raise ValueError(f"y must be [B, T] = {tuple(x.shape[:2])}, got "
                             f"{None if y is None else tuple(y.shape)}")
        T = x.shape[1]
        if T < chunk or T % chunk:
            raise ValueError(f"sequence length {T} is not a positive multiple of chunk={chunk}")
        for t in range(0, T, chunk):
            yield x[:, t:t + chunk], y[:, t + chunk - 1]
    else:
        if y is not None:
            raise ValueError("pass either tensors (x, y) or a stream of (x_t, y_t) pairs")
        yield from x


class LossMeter:
    """Summed loss and accuracy over the positions that have a target."""

    def __init__(self):
        self.loss_sum = 0.0
        self.correct = 0
        self.n = 0

    def add_counts(self, loss_sum: float, correct: int, n: int):
        self.loss_sum += loss_sum
        self.correct += correct
        self.n += n

    def add(self, logits, y_t):
        mask = y_t != IGNORE
        n = int(mask.sum())
        if n == 0:
            return None
        loss = F.cross_entropy(logits, y_t, ignore_index=IGNORE, reduction="sum")
        self.loss_sum += float(loss.detach())
        self.correct += int((logits.detach().argmax(-1) == y_t)[mask].sum())
        self.n += n
        return loss

    def stats(self, steps: int) -> dict:
        return {"loss": self.loss_sum / self.n if self.n else math.nan,
                "accuracy": self.correct / self.n if self.n else math.nan,
                "n_targets": self.n, "steps": steps}


class Learner:
    """Base class. Class attributes say what a learner is, so callers never keep name lists:

    * ``streaming``: holds no per-step tensors across steps (memory flat in T, ``online`` works);
    * ``exact``: its gradient equals BPTT's up to rounding (rel. error <= 1e-10 in float64);
    * ``sparse``: updates only the routed rows of the sensitivities (MoE models);
    * ``uses_torch_func``: runs ``torch.func`` transforms, which refuse saved-tensor hooks;
    * ``hides_saved_tensors``: installs its own saved-tensor hooks (``torch.utils.checkpoint``),
      so a tracker of saved tensors cannot see what it recomputes.

    Each registered learner declares, in its own class body, the behaviour versions its records
    store (``rtrl_moe/records/versions.py``): ``VERSIONS = {"learner.<name>": n,
    "timing.<name>": m}``; bump n when its gradient, FLOP count or tensor-byte accounting
    changes, m when only its timed path does.
    """

    name = ""
    streaming = False
    exact = True
    sparse = False
    uses_torch_func = False
    hides_saved_tensors = False

    def __init__(self, model):
        self.model = model
        self.stats: dict = {}
        self.counters = {"sensitivity_flops": 0, "sensitivity_ns": 0, "steps": 0}
        self.profile = False
        self.reset_phases()
        self._meter = LossMeter()
        self._steps = 0
        self._started = False
        self._seq_len_hint = None
        self._like = next(model.parameters())

    # -- public API --------------------------------------------------------------------------
    def gradient(self, x, y=None) -> dict[str, torch.Tensor]:
        """Gradient of the mean loss over the whole sequence, ``{name: tensor}``."""
        self._started = False
        self.counters = {"sensitivity_flops": 0, "sensitivity_ns": 0, "steps": 0}
        self.reset_phases()
        self._seq_len_hint = x.shape[1] if isinstance(x, torch.Tensor) else None
        for x_t, y_t in iter_steps(x, y, self.model.cfg.chunk):
            self._step(x_t, y_t)
        if not self._started:
            raise ValueError("empty sequence: a learner needs at least one step")
        return self._finish()

    def online(self, stream: Iterable, optimizer, every: int) -> Iterator[dict]:
        """Truly online training: an optimizer step every ``every`` steps.

        The recurrent state (and, for RTRL, the sensitivities) is carried across updates, so
        after the first update the gradient mixes Jacobians taken under older parameters: this
        is the usual online-RTRL approximation, exact only while the parameters stay fixed.
        Yields ``self.stats`` after each update.
        """
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self._started = False
        pending = 0
        for x_t, y_t in stream:
            self._step(x_t, y_t)
            pending += 1
            if pending == every:
                self._apply(self._finish(), optimizer)
                pending = 0
                yield self.stats
        if pending:
            self._apply(self._finish(), optimizer)
            yield self.stats

    PHASES = ("jacobian", "update", "readout", "other")
    #: the clock of :attr:`phase_ns`: wall time. ``time.thread_time_ns`` (this thread's CPU
    #: time) is steadier on a shared, oversubscribed machine, for single-threaded runs.
    clock = staticmethod(time.perf_counter_ns)

    def reset_phases(self):
        """Zero :attr:`phase_ns`: nanoseconds spent per phase of the steps since, and ``steps``.

        Every nanosecond of a step goes to exactly one phase (consecutive clock reads, see
        :meth:`_lap`), so the phases sum to the step time. On the CPU this costs a few
        ``perf_counter_ns`` calls a step and is always on. On CUDA a phase boundary needs a
        synchronisation, so phases are recorded only while ``profile`` is True.
        """
        self.phase_ns = dict.fromkeys(self.PHASES, 0)
        self.phase_ns["steps"] = 0
        self._lap_at = None

    def _phases_on(self) -> bool:
        return self.profile or not self._like.is_cuda

    def _lap(self, phase: str):
        """Charge the time since the previous lap to ``phase`` (a no-op when phases are off)."""
        if self._lap_at is None:
            return
        if self.profile:
            _sync(self.model)
        now = self.clock()
        self.phase_ns[phase] += now - self._lap_at
        self._lap_at = now

    def _lap_begin(self):
        if self._phases_on():
            if self.profile:
                _sync(self.model)
            self._lap_at = self.clock()

    def _lap_end(self, phase: str = "other"):
        self._lap(phase)
        self._lap_at = None

    def state_bytes(self) -> int:
        """Bytes of the tensors the learner itself holds now (state, sensitivities, buffers)."""
        return sum(t.numel() * t.element_size() for t in self._state_tensors())

    # -- internals ----------------------------------------------------------------------------
    def _step(self, x_t, y_t):
        p = self._like
        x_t = x_t.to(device=p.device, dtype=p.dtype)
        y_t = y_t.to(device=p.device)
        if not self._started:
            d_in = self.model.cfg.d_in
            if x_t.dim() != 3 or x_t.shape[-1] != d_in:
                raise ValueError(f"x_t must be [B, chunk, d_in={d_in}], got {tuple(x_t.shape)}:"
                                 " does the model's d_in match the task's?")
            self._reset(x_t.shape[0], x_t)
            self._started = True
        self._lap_begin()
        self._consume(x_t, y_t)
        if self._lap_at is not None:
            self.phase_ns["steps"] += 1
        self._lap_end("other")
        self._steps += 1
        self.counters["steps"] += 1

    def _finish(self) -> dict[str, torch.Tensor]:
        # What _collect pays (owed gradient terms, tree-rtrl's last flushes) is per-step work
        # paid late; it is charged to the phases too, so that they add up to the wall time.
        self._lap_begin()
        summed = self._collect()
        self._lap_end("other")
        n = self._meter.n
        self.stats = self._meter.stats(self._steps)
        self._meter = LossMeter()
        self._steps = 0
        grads = {}
        for name, p in self.model.named_parameters():
            g = summed.get(name)
            grads[name] = torch.zeros_like(p) if g is None or n == 0 else g / n
        return grads

    def _apply(self, grads, optimizer):
        # The optimizer holds the model's own parameter objects, so setting .grad by name works.
        for name, p in self.model.named_parameters():
            p.grad = grads[name]
        optimizer.step()

    def _timer_start(self):
        if not self.profile:
            return 0
        _sync(self.model)
        return time.perf_counter_ns()

    def _timer_stop(self, start):
        if self.profile:
            _sync(self.model)
            self.counters["sensitivity_ns"] += time.perf_counter_ns() - start

    def _reset(self, batch_size: int, like: torch.Tensor):
        raise NotImplementedError

    def _consume(self, x_t, y_t):
        raise NotImplementedError

    def _collect(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _state_tensors(self) -> list[torch.Tensor]:
        return []


def _sync(model):
    p = next(model.parameters())
    if p.is_cuda:
        torch.cuda.synchronize(p.device)

