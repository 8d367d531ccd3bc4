"""Where the time goes: each timed RTRL step split into its phases, beside its floor.

From `measure` records that carry `metrics.phase_ns_per_step` (the learner's own phase clock:
Jacobian, sensitivity update, readout/gradient term, the rest) and `metrics.floor_ns_per_step`
(the update's FLOPs at the same process's matmul rate). One bar per (machine, model config,
learner, batch): the median over its records at the longest length measured; a bar never mixes
two configs. `floor_fraction` = floor / step: 1.0 is a step that does nothing but the update at
the matmul rate.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .data import col, num, select

PHASES = ("jacobian", "update", "readout", "other")
COLORS = {"jacobian": "#1f77b4", "update": "#ff7f0e", "readout": "#2ca02c", "other": "#7f7f7f"}


def _config_label(model: dict, batch) -> str:
    keys = ("d_model", "n_slots", "n_experts", "topk", "topk_read", "topk_write",  # the MoE
            "cell", "hidden")                                                      # the RNN
    return ", ".join(f"{k} {model[k]}" for k in keys if k in model) + f", B={int(batch)}"


def bars(df: pd.DataFrame) -> list[dict]:
    """One dict per bar: config, learner, T, ms per phase, step ms, floor ms, floor fraction."""
    d = select(df, kind="measure")
    if len(d) == 0 or "metrics.phase_ns_per_step" not in d.columns:
        return []
    d = d[col(d, "metrics.phase_ns_per_step").map(lambda v: isinstance(v, dict))]
    if len(d) == 0:
        return []
    out = []
    model = col(d, "config.model").map(lambda m: json.dumps(m, sort_keys=True))
    groups = d.groupby([col(d, "machine.machine_id").astype(str), model,
                        col(d, "config.learner").astype(str), num(d, "config.batch")], sort=True)
    for (mid, mj, learner, batch), g in groups:
        T = num(g, "config.seq_len").max()
        g = g[num(g, "config.seq_len") == T]
        ph = {p: float(np.median([r.get(p, 0.0) for r in g["metrics.phase_ns_per_step"]])) / 1e6
              for p in PHASES}
        step = float(num(g, "metrics.time_per_token_ns").median()) / 1e6
        floor = num(g, "metrics.floor_ns_per_step").median()
        out.append({"machine": mid, "config": _config_label(json.loads(mj), batch),
                    "learner": learner, "T": int(T), "records": len(g), **ph,
                    "step": step, "floor": None if floor != floor else float(floor) / 1e6,
                    "floor_fraction": None if floor != floor or not step
                    else float(floor) / 1e6 / step})
    return out


def figure(rows: list[dict]):
    """Stacked bars of the phases, the floor marked on each; one panel per config."""
    if not rows:
        return None
    configs = sorted({(r["machine"], r["config"]) for r in rows})
    fig = Figure(figsize=(7, 2.6 * len(configs)), dpi=100)
    for i, cfg in enumerate(configs):
        ax = fig.add_subplot(len(configs), 1, i + 1)
        rs = [r for r in rows if (r["machine"], r["config"]) == cfg]
        y = np.arange(len(rs))
        left = np.zeros(len(rs))
        for p in PHASES:
            w = np.array([r[p] for r in rs])
            ax.barh(y, w, left=left, color=COLORS[p], label=p if i == 0 else None)
            left += w
        for j, r in enumerate(rs):
            if r["floor"]:
                ax.plot([r["floor"], r["floor"]], [j - 0.4, j + 0.4], color="k", lw=2)
        ax.set_yticks(y, [f"{r['learner']} (T={r['T']})" for r in rs], fontsize=8)
        ax.set_xlabel("ms per token step (black: the update's floor)")
        ax.set_title(f"{cfg[1]} [{cfg[0]}]", fontsize=9)
        ax.grid(True, axis="x", alpha=0.3)
    fig.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    return fig
