"""PonderTTT's adaptive compute against the bare backbone, as a figure and a short table
(issue 32), from the tables of ``ponder_bench`` (one place for the numbers).

Figure: one panel per evaluation data set; x = average cost a chunk in the document's units
(SKIP 1, UPDATE_1 3, UPDATE_2 5, UPDATE_4 12; log scale), y = loss minus the bare backbone's
(nats a token; 0 is the bare backbone, dotted). Both update modes on one panel: the fixed
actions joined by a line, the gate and PPO as markers (mean over seeds, 95% interval), the
TTT mode's budget oracle dashed. The legend sits below the panels, outside the axes.
"""
from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure

from . import ponder_bench as pb

COLORS = {"ttt": "tab:blue", "full": "tab:orange"}
SHORT = {"ttt": "TTT layer", "full": "full-weight"}


def figure(df: pd.DataFrame):
    tabs = {u: pb.table(df, u) for u in ("ttt", "full")}
    datas = [d for d in pb.EVAL_DATA if any(d in t for t in tabs.values())]
    if not datas:
        return None
    fig = Figure(figsize=(4.6 * len(datas), 4.6), dpi=100)
    handles = {}
    for i, da in enumerate(datas):
        ax = fig.add_subplot(1, len(datas), i + 1)
        ax.axhline(0.0, color="k", ls=":", lw=1)
        for u, tab in tabs.items():
            rows = tab.get(da, [])
            c = COLORS[u]
            fx = sorted((r["cost (units)"], r["loss - bare"], r["- bare ±95%"]) for r in rows
                        if r["action"] in pb.NOMINAL)
            if fx:
                h = ax.errorbar([p[0] for p in fx], [p[1] for p in fx],
                                yerr=[0 if p[2] != p[2] else p[2] for p in fx],
                                color=c, marker="o", ms=4, capsize=2, lw=1.2)
                handles[f"{SHORT[u]}: fixed SKIP / UPDATE_1 / 2 / 4"] = h
            orc = sorted((r["cost (units)"], r["loss - bare"]) for r in rows
                         if r["action"] == "oracle" and r["setting"] != "unconstrained")
            if orc:
                (h,) = ax.plot([p[0] for p in orc], [p[1] for p in orc], color=c, ls="--", lw=1)
                handles[f"{SHORT[u]}: budget oracle"] = h
            for act, mk in (("gate", "s"), ("ppo", "^")):
                pts = [(r["cost (units)"], r["loss - bare"], r["- bare ±95%"]) for r in rows
                       if r["action"] == act]
                if pts:
                    h = ax.errorbar([p[0] for p in pts], [p[1] for p in pts],
                                    yerr=[0 if p[2] != p[2] else p[2] for p in pts],
                                    color=c, marker=mk, ms=6, ls="none", capsize=2, mfc="white")
                    handles[f"{SHORT[u]}: {act}"] = h
        ax.set_xscale("log")
        ax.set_xticks([1, 2, 3, 5, 12])
        ax.set_xticklabels(["1", "2", "3", "5", "12"])
        ax.set_xlabel("cost a chunk (document units, SKIP = 1)")
        if i == 0:
            ax.set_ylabel("loss minus the bare backbone (nats/token)")
        ax.set_title(pb.DATA_NAME.get(da, da), fontsize=10)
        ax.grid(True, alpha=0.3)
    fig.legend(list(handles.values()), list(handles), loc="lower center",
               ncol=min(4, len(handles)), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.06 * math.ceil(len(handles) / 4), 1, 1))
    return fig


def adaptive_rows(df: pd.DataFrame) -> list:
    """Per mode, data set and adaptive point: cost, loss - bare, the difference to the best fixed
    mix at that cost (95% interval over seeds) and its verdict, recovery."""
    out = []
    for u in ("ttt", "full"):
        for da, rows in pb.table(df, u).items():
            for r in rows:
                if r["action"] in ("gate", "ppo"):
                    out.append({"mode": u, "data": pb.DATA_NAME.get(da, da), "method": r["action"],
                                "budget": r["setting"].replace("budget=", ""), "seeds": r["seeds"],
                                "cost (units)": r["cost (units)"], "loss - bare": r["loss - bare"],
                                "vs best fixed": r["vs best fixed"], "vs fixed ±95%": r["vs fixed ±95%"],
                                "verdict vs fixed": r["verdict vs fixed"],
                                "recovery": r["recovery"], "recovery sd": r["recovery sd"]})
    return out


def headline(df: pd.DataFrame) -> list:
    rows = adaptive_rows(df)
    out = []
    for u in ("ttt", "full"):
        rs = [r for r in rows if r["mode"] == u]
        if not rs:
            continue
        n = {v: sum(r["verdict vs fixed"] == v for r in rs) for v in ("beats", "tie", "worse", "n/a")}
        out.append(f"{pb.MODE_NAME[u]}: of {len(rs)} adaptive points (gate and PPO, every budget and data "
                   f"set), {n['beats']} beat the best fixed mix at equal cost, {n['tie']} tie, "
                   f"{n['worse']} are worse" + (f", {n['n/a']} not judged (one seed)" if n["n/a"] else ""))
    return out
