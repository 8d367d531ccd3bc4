"""kind "agree": the learner's gradient beside BPTT's, same parameters, sequence and routing.

One model built from ``seed`` and deep-copied, the same ``x, y`` from ``task.batch(0)``;
relative L2 error, max abs error and cosine, overall and per parameter tensor. "Exact" is
``rel_err <= 1e-10`` in float64 (../shared/conventions.md).
"""
from __future__ import annotations

import copy
import time
from typing import Optional

from ... import build
from .. import spec
from ..budget import Budget
from ..config import PointConfig

#: behaviour version of what this kind measures (rtrl_moe/records/versions.py)
VERSIONS = {"kind.agree": 1}

EXACT_REL_ERR = 1e-10


def compare(g: dict, ref: dict) -> dict:
    """Agreement of gradients ``g`` with ``ref``, overall and per parameter tensor."""
    import torch

    def stats(a, b):
        a = a.detach().double().flatten()
        b = b.detach().double().flatten()
        d = a - b
        nb, na, nd = float(b.norm()), float(a.norm()), float(d.norm())
        rel = nd / nb if nb > 0 else (0.0 if nd == 0 else None)
        if na > 0 and nb > 0:
            cos = float(torch.dot(a, b) / (na * nb))
        else:
            cos = 1.0 if na == nb == 0 else None
        return {"rel_err": rel, "max_abs_err": float(d.abs().max()) if d.numel() else 0.0,
                "cosine": cos, "norm": na, "ref_norm": nb}

    per = {}
    flat_a, flat_b = [], []
    for name, b in ref.items():
        a = g.get(name)
        if a is None:
            a = torch.zeros_like(b)
        per[name] = stats(a, b)
        flat_a.append(a.detach().double().flatten().cpu())
        flat_b.append(b.detach().double().flatten().cpu())
    missing = sorted(set(g) - set(ref))
    overall = stats(torch.cat(flat_a), torch.cat(flat_b))
    overall["per_param"] = per
    if missing:
        overall["extra_params"] = missing
    return overall


def measure_agreement(learner: str, seq_len: int, *, dtype: str = "float64", batch: int = 1,
                      seed: int = 0, task: str = "anbn", model_type: str = "moe",
                      model: Optional[dict] = None, learner_kwargs: Optional[dict] = None,
                      task_kwargs: Optional[dict] = None, device: str = "cpu") -> dict:
    """Gradient agreement of ``learner`` with ``bptt`` (in this process): the metrics dict."""
    cfg = PointConfig(kind="agree", learner=learner, seq_len=seq_len, dtype=dtype, batch=batch,
                      seed=seed, task=task, model_type=model_type, model=dict(model or {}),
                      learner_kwargs=dict(learner_kwargs or {}),
                      task_kwargs=dict(task_kwargs or {}), device=device)
    return run(cfg, Budget(None, device))


def run(cfg: PointConfig, budget: Budget) -> dict:
    """The ``agree`` metrics of ``cfg`` (docs/RESULTS.md)."""
    task = spec.make_task(cfg)
    x, y = task.batch(0)
    model = spec.make_model(cfg, spec.model_config(cfg, task))
    ref_model = copy.deepcopy(model)
    dtype = build.torch_dtype(cfg.dtype)
    x = x.to(device=cfg.device, dtype=dtype)
    y = y.to(device=cfg.device)
    budget.apply()
    try:
        ref = build.make_learner("bptt", ref_model)
        t0 = time.perf_counter()
        g_ref = ref.gradient(x, y)
        t_ref = time.perf_counter() - t0
        lrn = spec.make_learner(cfg, model)
        t0 = time.perf_counter()
        g = lrn.gradient(x, y)
        t_l = time.perf_counter() - t0
    finally:
        budget.lift()
    out = compare(g, g_ref)
    out.update({"loss": (lrn.stats or {}).get("loss"), "loss_ref": (ref.stats or {}).get("loss"),
                "n_targets": (ref.stats or {}).get("n_targets"),
                "time_s": t_l, "time_ref_s": t_ref, "exact": None})
    if cfg.dtype == "float64" and out["rel_err"] is not None:
        out["exact"] = bool(out["rel_err"] <= EXACT_REL_ERR)
    out.update(spec.env_metrics())
    out.update(spec.model_metrics(model))
    return out
