"""One point of the `longrange` preset, run in this process: train on delayed recall at delay D
within the token budget, measure memory and time on the way, score held-out episodes.

The order of one point:

1. build the task, the model (weights from ``torch.manual_seed(seed)``), the learner and Adam;
   a few discarded gradient steps warm up lazy initialisation (as the bench's prefix warm-up);
2. **calibration**: the first :data:`~.registry.CALIBRATION_STEPS` training steps, timed. If the
   whole budget would take longer than the preset's per-point cap, the point stops here after a
   short accounting pass and says so (``not_run``: the runner stores it as ``skipped``, "not
   run: over the preset's time budget, est. N s"), with the memory and ms/token it measured;
3. **accounting**: the next training steps under the bench's tensor trackers
   (``rtrl_moe.bench.probes.tensors``, called, not changed): autograd's saved tensors through
   hooks, or, for learners that run torch.func or checkpoint (which refuse or hide the hooks),
   live tensors through a dispatch mode; ``learner.state_bytes()`` sampled at every step.
   ``tensor_bytes_peak = params + grads + optimizer state + learner state + saved (or
   transient) peak``, as in ``rtrl_moe/bench/kinds/step.py``;
4. the rest of the budget, timed; peak RSS over the whole training (``RssMonitor``);
5. the held-out score: :data:`~.registry.EVAL_STREAMS` fresh streams of
   :data:`~.registry.EVAL_EPISODES_PER_STREAM` episodes from the held-out seed, forward only.

Training is ``learner.online(stream, Adam, every)`` (an optimizer step every ``every`` steps of
the ``B`` parallel streams, the state and sensitivities carried across updates), except for
full BPTT (``mode="episode"``): one gradient over each batch of aligned episodes, the state
reset at each episode, an optimizer step per episode. ms/token is training wall time (steps,
updates, optimizer) per token, over the untracked steps, a token being one step of one stream.
"""
from __future__ import annotations

import gc
import math
import time

import torch

from .registry import (ACCOUNT_STEPS, CALIBRATION_STEPS, EVAL_EPISODES_PER_STREAM, EVAL_STREAMS,
                       LR, POINT_CAP_S, STEPS, WARMUP_STEPS, Point, build_model, task_of)

CURVE_POINTS = 16


def _tracker_kind(learner) -> str:
    return "live" if (learner.uses_torch_func or learner.hides_saved_tensors) else "hooks"


class _Stream:
    """The training stream, counting steps and sampling the learner's state bytes."""

    def __init__(self, task, n_steps, learner, stagger=True):
        self.it = task.stream(n_steps, "train", stagger=stagger)
        self.learner = learner
        self.steps = 0
        self.sample = False
        self.state_max = 0
        self.hits = [0, 0]

    def __iter__(self):
        for x_t, y_t in self.it:
            if self.sample:
                self._sample()
            self.steps += 1
            yield x_t, y_t

    def _sample(self):
        b = int(self.learner.state_bytes())
        if b > self.state_max:
            self.state_max = b


def evaluate(model, task) -> dict:
    """Held-out accuracy, forward only, from fresh states."""
    correct, n = 0, 0
    p = next(model.parameters())
    with torch.no_grad():
        h = model.init_state(EVAL_STREAMS)
        for x_t, y_t in task.heldout_stream(EVAL_EPISODES_PER_STREAM, EVAL_STREAMS):
            logits, h, _ = model.step(x_t.to(p.dtype), h)
            mask = y_t >= 0
            if bool(mask.any()):
                correct += int((logits.argmax(-1) == y_t)[mask].sum())
                n += int(mask.sum())
    return {"heldout_accuracy": correct / n if n else math.nan, "heldout_targets": n}


def run_point(point: Point, steps: int = STEPS, cap_s: float = POINT_CAP_S) -> dict:
    from rtrl_moe import make_learner
    from rtrl_moe.bench.probes.load import LoadMonitor
    from rtrl_moe.bench.probes.rss import RssMonitor
    from rtrl_moe.bench.probes.tensors import (LiveTensorTracker, SavedTensorTracker,
                                               optimizer_state_tensors, unique_bytes)

    torch.set_num_threads(1)
    task = task_of(point)
    model = build_model(point.model, task, point.seed)
    learner = make_learner(point.learner, model, **point.learner_kwargs())
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    params = list(model.parameters())
    B = task.batch

    # warm-up: a discarded gradient over a few steps of a throwaway (held-out-seeded) stream
    learner.gradient(task.stream(WARMUP_STEPS, "heldout"))
    gc.collect()
    rss = RssMonitor().start()
    load = LoadMonitor().start()

    stream = _Stream(task, steps, learner, stagger=point.mode == "online")
    curve: list = []
    ns_timed, steps_timed = 0, 0

    if point.mode == "online":
        updates = learner.online(iter(stream), opt, point.every)
    else:
        updates = _episodes(learner, opt, stream, task.episode_len)

    mark = max(1, steps // CURVE_POINTS)

    def advance(until: int) -> bool:
        """Run updates until ``until`` steps are consumed; False once the stream has ended."""
        for s in updates:
            if s and s.get("n_targets"):
                stream.hits[0] += round(s["accuracy"] * s["n_targets"])
                stream.hits[1] += s["n_targets"]
            if stream.steps >= (len(curve) + 1) * mark:
                # [tokens so far, training accuracy on the queries since the last mark, queries]
                curve.append([stream.steps * B, stream.hits[0] / max(stream.hits[1], 1),
                              stream.hits[1]])
                stream.hits = [0, 0]
            if stream.steps >= until:
                return True
        return False

    out: dict = {"tracker": None}
    # 2. calibration
    t0 = time.perf_counter_ns()
    more = advance(min(CALIBRATION_STEPS, steps))
    cal_ns, cal_steps = time.perf_counter_ns() - t0, stream.steps
    ns_timed += cal_ns
    steps_timed += cal_steps
    per_step_s = cal_ns / 1e9 / max(cal_steps, 1)
    est_s = per_step_s * steps
    out["est_train_s"] = est_s
    over = est_s > cap_s

    # 3. accounting
    window = ACCOUNT_STEPS if not over else max(point.every, CALIBRATION_STEPS)
    kind = _tracker_kind(learner)
    gc.collect()
    stream.sample = True
    tracker = (SavedTensorTracker(exclude=params) if kind == "hooks"
               else LiveTensorTracker(exclude=params))
    if more:
        with tracker:
            more = advance(stream.steps + window)
    stream.sample = False
    held = stream.state_max + unique_bytes(p.grad for p in params)
    transient = int(tracker.peak) if kind == "hooks" else int(max(0, tracker.peak - held))
    comp = {"tensor_bytes_params": unique_bytes(params),
            "tensor_bytes_grads": unique_bytes(p.grad for p in params),
            "tensor_bytes_optimizer": unique_bytes(optimizer_state_tensors(opt)),
            "tensor_bytes_learner_state": int(stream.state_max)}
    out.update(comp)
    out["tensor_bytes_transient_peak"] = transient
    out["tensor_bytes_method"] = "saved_tensors_hooks" if kind == "hooks" else "dispatch_live"
    out["tensor_bytes_peak"] = int(sum(comp.values()) + transient)
    out["tracker"] = kind
    del tracker

    if over:
        out["not_run"] = "budget"
        out["not_run_message"] = (f"not run: over the preset's time budget, est. {est_s:.0f} s "
                                  f"for {steps * B} tokens (cap {cap_s:.0f} s per point)")
    else:
        # 4. the rest, timed
        t0 = time.perf_counter_ns()
        s0 = stream.steps
        if more:
            advance(steps)
        for _ in updates:      # the stream's tail (a last partial update)
            pass
        ns_timed += time.perf_counter_ns() - t0
        steps_timed += stream.steps - s0
    out.update(rss.stop())
    out.update(load.stop())
    out["time_per_token_ns"] = ns_timed / max(steps_timed * B, 1)
    out["ms_per_token"] = out["time_per_token_ns"] / 1e6
    out["steps_done"] = stream.steps
    out["tokens_done"] = stream.steps * B
    out["curve"] = curve
    if not over:
        t0 = time.perf_counter()
        out.update(evaluate(model, task))
        out["eval_s"] = time.perf_counter() - t0
    out["chance_accuracy"] = task.chance_accuracy
    out["n_params"] = int(sum(p.numel() for p in params))
    out["n_state_params"] = int(sum(p.numel() for n, p in model.named_parameters()
                                    if n in set(model.state_param_names())))
    out["H"] = int(model.init_state(1).shape[-1])
    out["threads"] = torch.get_num_threads()
    return out


def _episodes(learner, opt, stream, episode_len):
    """Full BPTT over aligned episodes: a gradient and an optimizer step per episode."""
    it = iter(stream)
    while True:
        chunk = []
        for x_t, y_t in it:
            chunk.append((x_t, y_t))
            if len(chunk) == episode_len:
                break
        if not chunk:
            return
        grads = learner.gradient(iter(chunk))
        for name, p in learner.model.named_parameters():
            p.grad = grads[name]
        opt.step()
        yield learner.stats
        if len(chunk) < episode_len:
            return
