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

from . import plotstyle as ps
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
    """Stacked bars of the phases, the floor marked on each; one panel per config, its height
    following its number of bars, its title wrapped to the panel; the phases' key on top."""
    if not rows:
        return None
    configs = sorted({(r["machine"], r["config"]) for r in rows})
    # bars in the families' order (bptt first, then the RTRL learners, then the approximations)
    per = [sorted((r for r in rows if (r["machine"], r["config"]) == cfg),
                  key=lambda r: ps.sort_key(r["learner"]), reverse=True) for cfg in configs]
    floor_named = False
    heights = [0.9 + 0.28 * len(rs) for rs in per]
    fig = Figure(figsize=(9.0, sum(heights) + 0.8), dpi=ps.DPI, layout="constrained")
    axes = fig.subplots(len(configs), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for i, (ax, cfg, rs) in enumerate(zip(axes, configs, per)):
        y = np.arange(len(rs))
        left = np.zeros(len(rs))
        for p in PHASES:
            w = np.array([r[p] for r in rs])
            ax.barh(y, w, left=left, color=COLORS[p], label=p if i == 0 else None)
            left += w
        for j, r in enumerate(rs):
            if r["floor"]:
                ax.plot([r["floor"], r["floor"]], [j - 0.4, j + 0.4], color="k", lw=2,
                        label=None if floor_named else "the update's floor (its FLOPs at the matmul rate)")
                floor_named = True
        ax.set_yticks(y, [f"{r['learner']} (T={r['T']})" for r in rs], fontsize=ps.FONT)
        ax.tick_params(axis="x", labelsize=ps.FONT)
        ax.set_ylim(-0.6, len(rs) - 0.4)
        ax.set_xlabel("ms per token step", fontsize=ps.FONT)
        ps.title(ax, f"{cfg[1]} [machine {cfg[0]}]", width=110)
        ax.grid(True, axis="x", alpha=0.3)
    handles = [h for ax in axes for h in ax.get_legend_handles_labels()[0]]
    labels = [lab for ax in axes for lab in ax.get_legend_handles_labels()[1]]
    fig.legend(handles, labels, loc="outside upper center", ncols=len(labels), fontsize=ps.FONT + 1,
               frameon=False)
    return fig
