"""PonderTTT's adaptive compute on the quality-cost frontier (``ponderttt.experiments.frontier``
records: kind ``ponder``, label ``frontier``): loss against average cost per chunk on held-out
chunks for the fixed actions, the inner-loss gate, the PID-Lagrangian PPO policy and the oracles.

One table and one figure panel per (model scale, data): records of two scales or two data sources
are never on one axis. Per (method, setting) the mean over seeds with the half-width of its 95%
t-interval. The headline is the recovery at equal cost, (loss_SKIP - loss) / (loss_SKIP -
loss_oracle) with the oracle at the method's own realized cost: over seeds as the ratio of the
summed gains (stable where one seed's oracle barely beats SKIP), and per seed (each record's
``metrics.recovery``) as mean ± 95% interval beside it.
"""
from __future__ import annotations

import math

import pandas as pd

from . import plotstyle as ps
from .data import col, num
from .frontier import interval

LABEL = "frontier"
METHOD_ORDER = {"fixed": 0, "hindsight": 1, "gate": 2, "ppo": 3, "oracle": 4}
DATA_NAME = {"synthetic": "random tokens", "stdlib": "real code (Python stdlib)"}


def _records(df: pd.DataFrame) -> pd.DataFrame:
    if len(df) == 0 or "config.kind" not in df.columns:
        return df.iloc[0:0]
    d = df[(col(df, "config.kind") == "ponder") & (col(df, "config.label").astype(str) == LABEL)
           & (col(df, "status") == "ok")]
    return d


def table(df: pd.DataFrame) -> dict:
    """``{(scale, data): [row, ...]}``, a row per (method, setting), sorted by method then cost."""
    d = _records(df)
    out: dict = {}
    if len(d) == 0:
        return out
    scale, data = col(d, "config.model_scale").astype(str), col(d, "config.data").astype(str)
    for (sc, da), g in d.groupby([scale, data], sort=True):
        rows = []
        keys = col(g, "config.method").astype(str) + "|" + col(g, "config.setting").astype(str)
        for key, gg in g.groupby(keys, sort=False):
            method, setting = key.split("|", 1)
            loss, loss_h = interval(num(gg, "metrics.loss"))
            cost, cost_h = interval(num(gg, "metrics.avg_cost"))
            rec = num(gg, "metrics.recovery").dropna()
            r, r_h = interval(rec) if len(rec) else (math.nan, math.nan)
            # over seeds, the gains summed before dividing: a seed where the oracle barely beats
            # SKIP (a denominator near 0) cannot swing it the way it swings the mean of ratios
            gain = float((num(gg, "metrics.loss_skip") - num(gg, "metrics.loss")).sum())
            best = float((num(gg, "metrics.loss_skip") - num(gg, "metrics.oracle_loss_at_cost")).sum())
            pooled = gain / best if best > 0 else math.nan
            rows.append({"method": method, "setting": setting, "seeds": int(num(gg, "config.seed").nunique()),
                         "loss": loss, "loss ±95%": loss_h, "cost/chunk": cost, "cost ±95%": cost_h,
                         "recovery": pooled, "recovery per seed": r, "per seed ±95%": r_h,
                         "recovery seeds": int(len(rec)), "loss SKIP": float(num(gg, "metrics.loss_skip").mean())})
        rows.sort(key=lambda r: (METHOD_ORDER.get(r["method"], 9), r["cost/chunk"]))
        out[(sc, da)] = rows
    return out


def headline(tab: dict) -> list[str]:
    """Per (scale, data): the gate's and PPO's recovery at equal cost, each setting."""
    out = []
    for (sc, da), rows in sorted(tab.items()):
        for method in ("gate", "ppo"):
            parts = [f"{r['setting']}: {r['recovery']:.2f} at cost {r['cost/chunk']:.2f} (per seed "
                     f"{r['recovery per seed']:.2f} ± {r['per seed ±95%']:.2f}, n={r['recovery seeds']})"
                     if r["recovery"] == r["recovery"] else f"{r['setting']}: n/a (the oracle does not beat SKIP)"
                     for r in rows if r["method"] == method]
            if parts:
                out.append(f"{sc}, {DATA_NAME.get(da, da)}, {method}: " + "; ".join(parts))
    return out


def formatted(rows: list) -> list:
    out = []
    for r in rows:
        f = {}
        for k, v in r.items():
            if isinstance(v, float) and v != v:
                f[k] = ""
            elif k in ("loss", "loss ±95%", "loss SKIP"):
                f[k] = f"{v:.4f}"
            elif isinstance(v, float):
                f[k] = f"{v:.3f}" if "cost" in k else f"{v:.2f}"
            else:
                f[k] = str(v)
        out.append(f)
    return out


def figure(tab: dict):
    """Loss vs average cost per chunk, one panel per (scale, data); None without records."""
    if not tab:
        return None
    n = len(tab)
    # the legend beside each panel, a layout that keeps titles apart (plotstyle)
    fig, axes = ps.new_figure(n, ncols=2, panel_w=ps.PAGE_W / min(n, 2) - 1.2, panel_h=4.0, legend_w=1.2)
    style = {"fixed": ("o", "-"), "hindsight": ("*", ""), "gate": ("s", ""), "ppo": ("^", ""),
             "oracle": ("", "--")}
    for i, ((sc, da), rows) in enumerate(sorted(tab.items())):
        ax = axes[i]
        for method in ("oracle", "fixed", "hindsight", "gate", "ppo"):
            pts = sorted((r["cost/chunk"], r["loss"], r["loss ±95%"], r["setting"]) for r in rows
                         if r["method"] == method)
            if not pts:
                continue
            marker, ls = style[method]
            x, y, e = [p[0] for p in pts], [p[1] for p in pts], [0 if p[2] != p[2] else p[2] for p in pts]
            ax.errorbar(x, y, yerr=e, marker=marker or None, ls=ls or "none", ms=5, capsize=2,
                        label=method)
            if method == "fixed":
                for xx, yy, _, s in pts:
                    ax.annotate(s, (xx, yy), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("average nominal cost per chunk (SKIP = 1)")
        ax.set_ylabel("held-out loss (nats/token)")
        ax.set_title(f"{sc}, {DATA_NAME.get(da, da)}: mean ± 95% CI over seeds", fontsize=10)
        ax.grid(True, alpha=0.3)
        ps.legend_beside(ax)
    return fig
