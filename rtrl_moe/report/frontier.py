"""Online learners side by side: bias versus cost (the `frontier` preset; not a documented
claim, so it is kept apart from the verdicts).

For each model (the documents' MoE and the plain tanh RNN) and each learner (with its keywords:
tbptt at several windows is several learners), one row: gradient cosine and relative error
against BPTT at every length measured (`frontier-agree`), learner-state bytes and ms/token at
T=256 (`frontier-cost`), and held-out accuracy on a^n b^n and haystack as mean and 95% interval
over seeds with chance beside it (`frontier-train`). One model per table and per figure panel:
records of two models are never on one axis.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from . import plotstyle as ps
from .checks.accuracy import t95
from .data import col, kwargs_json, num, select
from .figures import label
from .fmt import fmt_bytes

LABELS = ("frontier-agree", "frontier-cost", "frontier-train")
COST_T = 256


def interval(values) -> tuple[float, float]:
    """Mean and the half-width of its 95% t-interval (nan with fewer than 2 values)."""
    v = np.asarray([x for x in values if x == x], dtype=float)
    if len(v) == 0:
        return math.nan, math.nan
    if len(v) < 2:
        return float(v.mean()), math.nan
    t = t95(len(v) - 1)
    return float(v.mean()), float(t * v.std(ddof=1) / math.sqrt(len(v)))


def _rows_of(df: pd.DataFrame, label: str) -> pd.DataFrame:
    if len(df) == 0 or "config.label" not in df.columns:
        return df.iloc[0:0]
    return df[col(df, "config.label").astype(str) == label]


def table(df: pd.DataFrame) -> dict:
    """``{model_type: [row, ...]}``, one row per (learner, keywords); empty without records."""
    out: dict = {}
    parts = {lab: _rows_of(df, lab) for lab in LABELS}
    everything = pd.concat(list(parts.values())) if any(len(p) for p in parts.values()) else None
    if everything is None:
        return out
    for mt in sorted(set(col(everything, "config.model_type").fillna("moe").astype(str))):
        rows = []
        sub = {lab: p[col(p, "config.model_type").fillna("moe").astype(str) == mt]
               for lab, p in parts.items()}
        learners = sorted({(lr, kw) for p in sub.values() if len(p)
                           for lr, kw in zip(col(p, "config.learner").astype(str),
                                             kwargs_json(p).astype(str))})
        lengths = sorted({int(t) for t in num(select(sub["frontier-agree"], kind="agree"),
                                               "config.seq_len").dropna()})
        for lr, kw in learners:
            row = {"learner": label(lr, kw), "model": mt}
            a = select(sub["frontier-agree"], kind="agree", learner=lr)
            a = a[kwargs_json(a).astype(str) == kw] if len(a) else a
            for T in lengths:
                at = a[num(a, "config.seq_len") == T] if len(a) else a
                row[f"cos T={T}"] = float(num(at, "metrics.cosine").median()) if len(at) else None
            c = select(sub["frontier-cost"], kind="measure", learner=lr)
            c = c[(kwargs_json(c).astype(str) == kw) & (num(c, "config.seq_len") == COST_T)] \
                if len(c) else c
            row["state bytes"] = (float(num(c, "metrics.tensor_bytes_learner_state").median())
                                  if len(c) else None)
            row["ms/token"] = (float(num(c, "metrics.time_per_token_ns").median()) / 1e6
                               if len(c) else None)
            tr = select(sub["frontier-train"], kind="train", learner=lr)
            tr = tr[kwargs_json(tr).astype(str) == kw] if len(tr) else tr
            for task in ("anbn", "haystack"):
                t = tr[col(tr, "config.task").astype(str) == task] if len(tr) else tr
                mean, half = interval(num(t, "metrics.final_accuracy")) if len(t) else (None, None)
                chance = float(num(t, "metrics.chance_accuracy").median()) if len(t) else None
                row[f"{task} acc"] = mean
                row[f"{task} ±95%"] = half
                row[f"{task} chance"] = chance
                row[f"{task} seeds"] = int(len(t))
            rows.append(row)
        out[mt] = rows
    return out


def formatted(rows: list) -> list:
    """Rows as the report prints them."""
    out = []
    for r in rows:
        f = {}
        for k, v in r.items():
            if v is None or (isinstance(v, float) and v != v):
                f[k] = "not measured" if not k.endswith(("±95%", "chance")) else ""
            elif k.startswith("cos"):
                f[k] = f"{v:.4f}"
            elif k == "state bytes":
                f[k] = fmt_bytes(v)
            elif k == "ms/token":
                f[k] = f"{v:.2f}"
            elif k.endswith(("acc", "±95%", "chance")):
                f[k] = f"{100 * v:.1f}%"
            else:
                f[k] = str(v)
        out.append(f)
    return out


def figure(tab: dict):
    """Per model, two rows of panels: cosine to BPTT at the longest common length against
    ms/token and against learner-state bytes, then held-out accuracy (mean, 95% interval over
    seeds, chance dashed) per task against ms/token. Points are coloured by learner family and
    labelled directly, the labels placed where they overlap nothing; None without the needed
    records."""
    panels = []
    for mt, rows in sorted(tab.items()):
        cos_keys = [k for k in (rows[0] if rows else {}) if k.startswith("cos T=")]
        if not cos_keys:
            continue
        key = cos_keys[-1]
        pts = [(r["learner"], r["ms/token"], r["state bytes"], r[key]) for r in rows
               if r.get(key) is not None]
        if any(p[1] for p in pts) or any(p[2] for p in pts):
            panels.append((mt, key, pts, rows))
    if not panels:
        return None
    fig, axes = ps.new_figure(4 * len(panels), ncols=2, panel_h=3.3)
    to_label = []
    for i, (mt, key, pts, rows) in enumerate(panels):
        name = "documents' MoE" if mt == "moe" else "tanh RNN"
        for j, (xi, xlabel) in enumerate(((1, f"ms per token at T={COST_T} (log)"),
                                          (2, "learner state (log, binary units)"))):
            ax = axes[4 * i + j]
            spots = []
            for lab, *vals in pts:
                x, y = vals[xi - 1], vals[2]
                if x:
                    ax.scatter([x], [y], s=22, color=_colour(lab), zorder=3)
                    spots.append((x, y, lab))
            if spots:
                (ps.log_plain_axis if xi == 1 else ps.bytes_axis)(ax, "x")
                ax.margins(x=0.15, y=0.12)
            ax.set_xlabel(xlabel, fontsize=ps.FONT + 1)
            ax.set_ylabel(f"cosine to BPTT's gradient ({key[4:]})", fontsize=ps.FONT + 1)
            ps.title(ax, f"{name}: bias vs {'time' if xi == 1 else 'memory'}", width=60)
            ax.grid(True, alpha=0.3)
            to_label.append((ax, spots, ()))
        for j, task in enumerate(("anbn", "haystack")):
            ax = axes[4 * i + 2 + j]
            to_label.append((ax, *_accuracy_panel(ax, rows, name, task)))
    # the colours' key once, under the panels (added before the labels fix the layout)
    fams = sorted({ps.family(r["learner"].split(" ")[0]) for _, _, _, rows in panels for r in rows},
                  key=ps.FAMILY_ORDER.index)
    fig.legend([Line2D([], [], ls="", marker="o", color=ps.FAMILIES[f][0]) for f in fams],
               [ps.FAMILIES[f][1] for f in fams], loc="outside lower center", ncols=len(fams),
               fontsize=ps.FONT + 1, frameon=False)
    for ax, spots, bars in to_label:
        ps.label_points(ax, spots, spans=bars)
    return fig


def _colour(learner_label: str) -> str:
    """A point's colour: its learner's family (the label starts with the learner's name)."""
    return ps.FAMILIES[ps.family(learner_label.split(" ")[0])][0]


def _accuracy_panel(ax, rows: list, name: str, task: str) -> list:
    """Held-out accuracy on one task against ms/token (learners without a time are left out);
    returns the points to label and their error bars (for the labels to keep clear of)."""
    pts = [(r["learner"], r["ms/token"], r[f"{task} acc"], r[f"{task} ±95%"]) for r in rows
           if r.get("ms/token") and r.get(f"{task} acc") is not None]
    for lab, x, y, h in pts:
        ax.errorbar([x], [y], yerr=[h if h == h else 0.0], fmt="o", ms=4, capsize=2,
                    color=_colour(lab), zorder=3)
    chance = [r[f"{task} chance"] for r in rows if r.get(f"{task} chance") is not None]
    if chance:
        ax.axhline(chance[0], ls="--", lw=0.8, color="0.4")
    if pts:
        ps.log_plain_axis(ax, "x")
        ax.margins(x=0.15)
    ax.set_ylim(0.0, 1.05)      # 3-seed intervals overshoot [0, 1]; the table has them whole
    ax.set_xlabel(f"ms per token at T={COST_T} (log)", fontsize=ps.FONT + 1)
    ax.set_ylabel("held-out accuracy (95% interval)", fontsize=ps.FONT + 1)
    chance_txt = f"; chance {100 * chance[0]:.0f}% dashed" if chance else ""
    ps.title(ax, f"{name}: {task} accuracy vs time{chance_txt}", width=70)
    ax.grid(True, alpha=0.3)
    return [(x, y, lab) for lab, x, y, _ in pts], [(x, y - h, y + h) for _, x, y, h in pts if h == h]
