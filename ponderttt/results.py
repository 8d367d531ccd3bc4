"""A finished run as one results record (docs/RESULTS.md, schema 1, ``config.kind "ponder"``).

Everything in ``metrics`` is measured by this process or computed from its config (the
analytic FLOPs and the nominal units, which are labelled as such); nothing is filled in.
"""
from __future__ import annotations

import math
import os
import resource
import statistics
from typing import Optional

from ._harness import SCHEMA, git_info, machine_info, utc_now
from .actions import Action
from .flops import chunk_flops
from .stream import StreamResult


def rss_now() -> Optional[int]:
    try:
        import psutil
        return int(psutil.Process().memory_info().rss)
    except Exception:
        return None


def max_rss() -> int:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def load_avg() -> Optional[float]:
    try:
        return float(os.getloadavg()[0])
    except OSError:
        return None


def _quantiles(xs: list) -> tuple[float, float]:
    """(median, interquartile range); IQR 0 for fewer than 2 values."""
    if len(xs) < 2:
        return (xs[0] if xs else math.nan), 0.0
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return statistics.median(xs), q[2] - q[0]


def stream_metrics(res: StreamResult, scale, profiler_flops: dict) -> dict:
    """Per-chunk lists and their summaries."""
    chunks = res.chunks
    secs = [c.seconds for c in chunks]
    med, iqr = _quantiles(secs)
    acts = sorted({c.action for c in chunks})
    return {
        "chunk_losses": res.losses,
        "inner_losses": [c.inner_losses for c in chunks],
        "inner_loss_before": [c.inner_loss_before for c in chunks],
        "chunk_steps": [c.steps for c in chunks],
        "chunk_actions": [c.action for c in chunks],
        "chunk_seconds": secs,
        "backbone_seconds": [c.backbone_seconds for c in chunks],
        "update_seconds": [c.update_seconds for c in chunks],
        "head_seconds": [c.head_seconds for c in chunks],
        "chunk_flops_analytic": [c.flops_analytic for c in chunks],
        "flops_analytic_breakdown": {a: chunk_flops(scale, res.chunk_size, a, res.batch).to_dict()
                                     for a in acts},
        # torch.utils.flop_counter on one untimed chunk per action (the warm-up pass)
        "flops_profiler_per_chunk": profiler_flops or None,
        "average_loss": res.average_loss,
        "loss": res.average_loss,
        "total_cost": res.total_cost,
        "nominal_cost_per_chunk": {a: Action(a).nominal_cost for a in acts},
        "rule_cost_per_chunk": {a: Action(a).rule_cost for a in acts},
        "total_flops_analytic": res.total_flops,
        "time_total_s": res.total_seconds,
        "seconds_per_chunk_median": med,
        "seconds_per_chunk_iqr": iqr,
        "seconds_per_chunk_mean": res.total_seconds / len(chunks),
        "tokens_per_s": res.tokens_per_s,
        "loss_floor_uniform": math.log(scale.vocab_size),
        **_by_action(res),
    }


def _by_action(res: StreamResult) -> dict:
    """Per action: median and IQR of chunk seconds, mean loss, and the time and analytic-FLOP
    ratios to SKIP where SKIP ran in the same process (the comparable kind of ratio)."""
    by: dict = {}
    for c in res.chunks:
        by.setdefault(c.action, []).append(c)
    q = {a: _quantiles([c.seconds for c in cs]) for a, cs in by.items()}
    out = {"seconds_per_chunk_by_action": {a: m for a, (m, _) in q.items()},
           "seconds_per_chunk_iqr_by_action": {a: i for a, (_, i) in q.items()},
           "loss_by_action": {a: sum(c.loss for c in cs) / len(cs) for a, cs in by.items()},
           "chunks_by_action": {a: len(cs) for a, cs in by.items()}}
    if "SKIP" in by and len(by) > 1:
        t0, f0 = q["SKIP"][0], by["SKIP"][0].flops_analytic
        out["time_ratio_to_skip"] = {a: m / t0 for a, (m, _) in q.items()}
        out["flops_ratio_to_skip"] = {a: cs[0].flops_analytic / f0 for a, cs in by.items()}
    return out


def build_record(*, run_id: str, config: dict, metrics: dict, status: str = "ok",
                 message: Optional[str] = None, wall_s: Optional[float] = None) -> dict:
    g = git_info()
    rec = {"schema": SCHEMA, "run_id": run_id, "commit": g["commit"], "dirty": g["dirty"],
           "created": utc_now(), "machine": machine_info(), "config": {"kind": "ponder", **config},
           "status": status, "metrics": metrics}
    if message is not None:
        rec["message"] = message
    if wall_s is not None:
        rec["wall_s"] = wall_s
    return rec
