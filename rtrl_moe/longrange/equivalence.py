"""Exact online learners against BPTT under the episodic protocol (issue 30): the same seed, the
same episodes, one update per episode, at a fixed delay D (no curriculum, so every update is an
episode of length D + 2), every update's training loss kept. An exact learner's curve equals
BPTT's up to rounding while the routing decisions agree; the report gives the largest relative
difference, with each learner's memory (``experiment.memory``) and ms/token.
"""
from __future__ import annotations

import time

import torch

from . import experiment
from .protocol import Point


def run(point: Point) -> dict:
    """``point.n_updates`` episodic updates at ``point.delay``; the point's metrics."""
    from rtrl_moe.bench.probes.load import LoadMonitor
    torch.set_num_threads(1)
    model = experiment.build_model(point)
    learner = experiment.make(point, model)
    opt = torch.optim.Adam(model.parameters(), lr=point.learning_rate)
    stream = experiment.episodes(point.task())
    load = LoadMonitor().start()
    losses, ns, tokens, steps = [], 0, 0, 0
    for u in range(point.n_updates):
        episode = next(stream)
        t0 = time.perf_counter_ns()
        did = experiment.update(learner, opt, experiment.gradient(learner, episode, point.arm))
        dt = time.perf_counter_ns() - t0
        if u > 0:
            ns += dt
            tokens += len(episode) * point.n_batch
        steps += did
        losses.append(learner.stats.get("loss"))
    out = {"losses": losses, "updates_done": point.n_updates, "optimizer_steps": steps,
           "train_delay": point.delay, "curriculum": "none (fixed D)",
           "ms_per_token": ns / 1e6 / max(tokens, 1)}
    out.update(experiment.memory(learner, opt, next(experiment.episodes(point.task(),
                                                                       salt="memory")),
                                 point.arm))
    out.update(load.stop())
    out["under_load"] = bool((out.get("load_avg_1m") or 0) > 1.0)
    out["threads"] = torch.get_num_threads()
    return out
