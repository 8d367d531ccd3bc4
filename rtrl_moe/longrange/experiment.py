"""One long-range point, run in this process, under the protocol of ``protocol`` (issue 30).

1. the model (weights from ``torch.manual_seed(seed)``), the learner, Adam at the model's
   declared rate;
2. ``n_updates`` optimizer updates. Each draws ``batch`` fresh aligned training episodes at the
   curriculum's current delay; the episodic arm starts each from the initial state
   (``Learner.gradient`` resets it), the streaming arm carries the state across. An update
   whose episodes hold no target takes no optimizer step (:func:`update`). Wall time of the
   updates after the first (which pays lazy set-up) gives ms/token;
3. the memory of one update at delay D, not applied: the bench's tensor trackers
   (``rtrl_moe.bench.probes.tensors``), ``tensor_bytes_peak = params + grads + optimizer state +
   learner state (its peak, sampled each step) + saved (or transient) tensors``, as
   ``rtrl_moe/bench/kinds/step.py`` counts them;
4. held-out accuracy on :data:`~.protocol.EVAL_EPISODES` fresh episodes of the held-out
   generator, from the initial state, forward only, with its 95% Wilson interval.
"""
from __future__ import annotations

import gc
import itertools
import math
import time

import torch

from .protocol import EVAL_EPISODES, Point, split_label

#: training curve: this many (update, accuracy) marks; every loss is kept up to FULL_LOSSES
CURVE_POINTS = 32
FULL_LOSSES = 200


def wilson(correct: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion."""
    if n <= 0:
        return math.nan, math.nan
    p = correct / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def build_model(point: Point):
    import rtrl_moe as rm
    from rtrl_moe.lru import LRUConfig, RecurrentLRU
    p = point.proto
    task = point.task()
    cfg_cls, model_cls = {"lru": (LRUConfig, RecurrentLRU),
                          "rnn": (rm.RNNConfig, rm.RecurrentRNN),
                          "moe": (rm.MoEConfig, rm.RecurrentMoE)}[p.model_type]
    torch.manual_seed(point.seed)
    model = model_cls(cfg_cls(d_in=task.d_in, d_out=task.d_out, **p.model))
    return model.to(device=point.device, dtype=getattr(torch, point.dtype))


def make(point: Point, model):
    from rtrl_moe import make_learner
    base, k = split_label(point.learner)
    kwargs = {"k": k} if k is not None else {}
    if base in ("uoro", "rflo"):
        kwargs["seed"] = point.seed
    return make_learner(base, model, **kwargs)


def episodes(task, split: str = "train", salt: str = ""):
    """Aligned episodes, one list of ``(x_t, y_t)`` steps at a time, fresh each time."""
    E = task.episode_len
    it = task.stream(10 ** 12, split, stagger=False, salt=salt)
    while True:
        yield list(itertools.islice(it, E))


def gradient(learner, episode, arm: str) -> dict:
    """The learner's gradient over one episode: from the initial state (episodic), or carried
    on from the previous episode's state (streaming)."""
    if arm == "episodic":
        return learner.gradient(iter(episode))
    for x_t, y_t in episode:                # streaming: Learner.online's loop, one window
        learner._step(x_t, y_t)
    return learner._finish()


def update(learner, optimizer, grads: dict) -> bool:
    """One optimizer step on ``grads``, only where the window had a target (an Adam step on a
    zero gradient would still move the weights by its momentum)."""
    if not learner.stats.get("n_targets"):
        return False
    for name, p in learner.model.named_parameters():
        p.grad = grads[name]
    optimizer.step()
    return True


def evaluate(model, task, n_episodes: int = EVAL_EPISODES) -> dict:
    """Held-out accuracy, forward only, on ``n_episodes`` fresh aligned episodes from the
    initial state."""
    p = next(model.parameters())
    correct, n = 0, 0
    with torch.no_grad():
        h = model.init_state(n_episodes)
        for x_t, y_t in task.heldout_stream(1, n_episodes):
            logits, h, _ = model.step(x_t.to(device=p.device, dtype=p.dtype), h)
            y_t = y_t.to(p.device)
            mask = y_t >= 0
            if bool(mask.any()):
                correct += int((logits.argmax(-1) == y_t)[mask].sum())
                n += int(mask.sum())
    lo, hi = wilson(correct, n)
    return {"heldout_accuracy": correct / n if n else math.nan, "heldout_correct": correct,
            "heldout_targets": n, "heldout_ci95": [lo, hi]}


class _Sampler:
    """Walks an episode, sampling the learner's state bytes at every step."""

    def __init__(self, episode, learner):
        self.episode, self.learner, self.peak = episode, learner, 0

    def __iter__(self):
        for step in self.episode:
            yield step
            self.peak = max(self.peak, int(self.learner.state_bytes()))


def memory(learner, optimizer, episode, arm: str) -> dict:
    """Tensor bytes of one update at the point's delay (the gradient is taken, not applied)."""
    from rtrl_moe.bench.probes.tensors import (
        LiveTensorTracker,
        SavedTensorTracker,
        optimizer_state_tensors,
        unique_bytes,
    )
    params = list(learner.model.parameters())
    live = learner.uses_torch_func or learner.hides_saved_tensors
    gc.collect()
    tracker = LiveTensorTracker(exclude=params) if live else SavedTensorTracker(exclude=params)
    sampler = _Sampler(episode, learner)
    with tracker:
        grads = gradient(learner, sampler, arm)
    g_bytes = unique_bytes(g for g in grads.values())
    held = sampler.peak + g_bytes
    out = {"tensor_bytes_params": unique_bytes(params), "tensor_bytes_grads": g_bytes,
           "tensor_bytes_optimizer": unique_bytes(optimizer_state_tensors(optimizer)),
           "tensor_bytes_learner_state": int(sampler.peak),
           "tensor_bytes_transient_peak": int(tracker.peak) if not live
           else int(max(0, tracker.peak - held)),
           "tensor_bytes_method": "dispatch_live" if live else "saved_tensors_hooks"}
    out["tensor_bytes_peak"] = int(sum(out[k] for k in (
        "tensor_bytes_params", "tensor_bytes_grads", "tensor_bytes_optimizer",
        "tensor_bytes_learner_state", "tensor_bytes_transient_peak")))
    return out


def train(point: Point, model, learner, optimizer, log=None) -> dict:
    """The point's updates; returns what they measured (curve, time, steps)."""
    cur = point.proto.curriculum
    D = point.delay
    delay = cur.first(D)
    stream = episodes(point.task(delay), salt="" if delay == D else f"stage-{delay}")
    hits: list = []                        # per-update training accuracy, for the curriculum
    losses, curve, stages = [], [], [[0, delay]]
    n_up = point.n_updates
    mark = max(1, n_up // CURVE_POINTS)
    stepped = skipped = 0
    tokens_timed, ns_timed = 0, 0
    window = [0, 0]
    for u in range(n_up):
        episode = next(stream)
        t0 = time.perf_counter_ns()
        grads = gradient(learner, episode, point.arm)
        did = update(learner, optimizer, grads)
        if point.device != "cpu":
            torch.cuda.synchronize()
        dt = time.perf_counter_ns() - t0
        if u > 0:                                  # the first update pays lazy set-up
            ns_timed += dt
            tokens_timed += len(episode) * point.n_batch
        stepped += did
        skipped += not did
        st = learner.stats
        losses.append(st.get("loss"))
        if st.get("n_targets"):
            acc = st["accuracy"]
            hits.append(acc)
            window[0] += acc * st["n_targets"]
            window[1] += st["n_targets"]
        if (u + 1) % mark == 0 or u + 1 == n_up:
            curve.append([u + 1, delay, window[0] / max(window[1], 1)])
            window = [0, 0]
            if log:
                log(f"  update {u + 1}/{n_up} D_train={delay} acc={curve[-1][2]:.3f}")
        if (cur.start is not None and delay < D and len(hits) >= cur.window
                and sum(hits[-cur.window:]) / cur.window >= cur.threshold):
            delay = min(2 * delay, D)
            stream = episodes(point.task(delay), salt="" if delay == D else f"stage-{delay}")
            hits = []
            stages.append([u + 1, delay])
    out = {"updates_done": stepped + skipped, "optimizer_steps": stepped,
           "updates_without_target": skipped, "curve": curve, "curriculum_stages": stages,
           "final_train_delay": delay, "tokens_timed": tokens_timed,
           "ms_per_token": ns_timed / 1e6 / max(tokens_timed, 1)}
    if n_up <= FULL_LOSSES or point.role == "equivalence":
        out["losses"] = losses
    return out


def run_point(point: Point, log=None) -> dict:
    from rtrl_moe.bench.probes.load import LoadMonitor
    from rtrl_moe.bench.probes.rss import RssMonitor
    torch.set_num_threads(1)
    if point.device != "cpu" and not torch.cuda.is_available():
        raise RuntimeError(f"device {point.device} asked for, but CUDA is not available")
    model = build_model(point)
    learner = make(point, model)
    opt = torch.optim.Adam(model.parameters(), lr=point.learning_rate)
    rss = RssMonitor().start()
    load = LoadMonitor().start()
    t0 = time.perf_counter()
    out = train(point, model, learner, opt, log)
    out["train_s"] = time.perf_counter() - t0
    task = point.task()
    out.update(memory(learner, opt, next(episodes(task, salt="memory")), point.arm))
    out.update(rss.stop())
    out.update(load.stop())
    t0 = time.perf_counter()
    out.update(evaluate(model, task))
    out["eval_s"] = time.perf_counter() - t0
    out["chance"] = out["chance_accuracy"] = task.chance_accuracy
    params = list(model.parameters())
    out["n_params"] = int(sum(p.numel() for p in params))
    out["H"] = int(model.init_state(1).shape[-1])
    out["threads"] = torch.get_num_threads()
    out["under_load"] = bool((out.get("load_avg_1m") or 0) > 1.0)
    return out
