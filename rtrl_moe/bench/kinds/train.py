"""kind "train": task quality after ``steps`` Adam steps, with a loss curve and a held-out
evaluation (``rtrl_moe.build.evaluate`` on held-out batches until at least
``EVAL_MIN_TARGETS`` targets are scored, so an accuracy is never a handful of tokens)."""
from __future__ import annotations

import time

from ... import build
from .. import spec
from ..budget import Budget
from ..config import DEFAULT_LR, PointConfig
from ..probes.load import LoadMonitor
from .step import StepRunner

#: behaviour version of what this kind measures (rtrl_moe/records/versions.py)
VERSIONS = {"kind.train": 1}

EVAL_MIN_TARGETS = 1000
EVAL_MAX_BATCHES = 4096    # haystack has one target per sequence: 1000 batches at B=1


def held_out(model, task, device, dtype) -> dict:
    """Loss and accuracy over held-out batches -1, -2, ... until >= EVAL_MIN_TARGETS targets."""
    loss, correct, n = 0.0, 0.0, 0
    for i in range(1, EVAL_MAX_BATCHES + 1):
        ev = build.evaluate(model, task, device, dtype, (-i,))
        if ev["n_targets"]:
            loss += ev["loss"] * ev["n_targets"]
            correct += ev["accuracy"] * ev["n_targets"]
            n += ev["n_targets"]
        if n >= EVAL_MIN_TARGETS:
            break
    nan = float("nan")
    return {"loss": loss / n if n else nan, "accuracy": correct / n if n else nan, "n_targets": n,
            "batches": i}


def run(cfg: PointConfig, budget: Budget) -> dict:
    """The ``train`` metrics of ``cfg`` (docs/RESULTS.md)."""
    import torch
    task = spec.make_task(cfg)
    model = spec.make_model(cfg, spec.model_config(cfg, task))
    learner = spec.make_learner(cfg, model)
    lr = cfg.lr if cfg.lr is not None else DEFAULT_LR
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    tr = StepRunner(cfg, task, model, learner, opt)
    every = cfg.eval_every or max(1, cfg.steps // 20)
    curve = []
    m: dict = {}
    tr.prefix_warmup()
    budget.apply()
    load = LoadMonitor().start()
    t0 = time.perf_counter()
    try:
        for step in range(cfg.steps):
            if step == 0:
                m.update(tr.accounted_step())
            else:
                tr.step(tr.stream(index=step))
            if (step + 1) % every == 0 or step + 1 == cfg.steps or step == 0:
                s = learner.stats or {}
                curve.append([step + 1, s.get("loss"), s.get("accuracy")])
        t_train = time.perf_counter() - t0
        m.update(load.stop())
        ev = held_out(model, task, cfg.device, cfg.dtype)
    finally:
        budget.lift()
    m.update({"final_loss": ev["loss"], "final_accuracy": ev["accuracy"],
              "eval_targets": ev["n_targets"], "eval_batches": ev["batches"], "curve": curve, "time_total_s": t_train,
              "train_loss_last": curve[-1][1], "train_accuracy_last": curve[-1][2]})
    try:
        m["chance_accuracy"] = float(task.chance_accuracy)
    except Exception:
        pass
    m.update(spec.env_metrics())
    m.update(spec.model_metrics(model))
    return m
