"""Long-range credit assignment (the `longrange` preset, results/longrange.jsonl): which learner
learns delayed recall at delay D, at what memory and time. Not a claim of the documents (it is
kept out of the claims tally), but the thesis they argue, judged here in its own words.

A pure function of the ``longrange`` records (the last record of each point). Rules, fixed
before any data:

* a learner *solves* D when at least :data:`MIN_SEEDS` seeds ran to the end (status ``ok``) and
  their mean held-out accuracy is at least :data:`SOLVED`; its *longest D solved* is the largest
  such D (a shorter D need not be solved too);
* a learner's memory is the largest ``tensor_bytes_peak`` of its measured points (for the
  streaming learners it does not depend on D), its time the median ms/token;
* *constant-memory learners* are the streaming learners other than truncated BPTT; *truncated
  BPTT at the same memory* as one of them is any tbptt (of any window, on any model) whose
  memory is at most :data:`MEMORY_FACTOR` times that learner's;
* the thesis holds ("yes") when some constant-memory learner solves a D that every truncated
  BPTT at its memory was run at (>= MIN_SEEDS seeds to the end) and failed; "no" when every D
  each constant-memory learner solves is solved by some truncated BPTT at its memory (or it
  solves none); "undecided" otherwise (a learner with no tbptt at its memory, or a tbptt not
  run at the D in question).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .checks.accuracy import t95
from .data import col, num
from .fmt import fmt_bytes

SOLVED = 0.9
MIN_SEEDS = 3
MEMORY_FACTOR = 2.0
MODEL_NAMES = {"lru": "element-wise LRU", "rnn": "tanh RNN", "moe": "MoE (d_model 16)"}
NON_STREAMING = ("bptt",)


def records(df: pd.DataFrame) -> pd.DataFrame:
    """The longrange records, the last of each point (a rerun replaces an earlier record)."""
    if len(df) == 0 or "config.kind" not in df.columns:
        return pd.DataFrame()
    sub = df[col(df, "config.kind").astype(str) == "longrange"]
    if len(sub) == 0:
        return sub
    sub = sub.sort_values("created", kind="mergesort")
    return sub.drop_duplicates("point_key", keep="last")


def is_tbptt(label: str) -> bool:
    return label.startswith("tbptt")


def constant_memory(label: str) -> bool:
    return not is_tbptt(label) and label not in NON_STREAMING


def interval(values) -> tuple[float, float]:
    v = np.asarray([x for x in values if x == x], dtype=float)
    if len(v) == 0:
        return math.nan, math.nan
    if len(v) < 2:
        return float(v.mean()), math.nan
    return float(v.mean()), float(t95(len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))


def _order(key: tuple) -> tuple:
    """Models as in MODEL_NAMES; per model the constant-memory learners, then truncated BPTT by
    window, then full BPTT."""
    model, learner = key
    m = list(MODEL_NAMES).index(model) if model in MODEL_NAMES else len(MODEL_NAMES)
    if is_tbptt(learner):
        k = learner.partition("-")[2]
        return (m, 1, int(k) if k.isdigit() else 0, learner)
    return (m, 2 if learner in NON_STREAMING else 0, 0, learner)


def table(df: pd.DataFrame) -> list[dict]:
    """One row per (model, learner label): accuracy per D, longest D solved, memory, time."""
    rec = records(df)
    if len(rec) == 0:
        return []
    rows = []
    mt = col(rec, "config.model_type").astype(str)
    lab = col(rec, "config.learner_label").astype(str)
    order = sorted(set(zip(mt, lab)), key=_order)
    for model, learner in order:
        g = rec[(mt == model) & (lab == learner)]
        per_d = {}
        for D in sorted({int(d) for d in num(g, "config.delay").dropna()}):
            gd = g[num(g, "config.delay") == D]
            ok = gd[col(gd, "status").astype(str) == "ok"]
            acc = num(ok, "metrics.heldout_accuracy").dropna().tolist()
            mean, half = interval(acc)
            why = sorted(set(col(gd[col(gd, "status") != "ok"], "metrics.not_run").dropna()
                             .astype(str)) | set(col(gd[~col(gd, "status").isin(["ok", "skipped"])],
                                                     "status").astype(str)))
            per_d[D] = {"mean": mean, "half": half, "n": len(acc), "seeds": len(gd),
                        "chance": float(num(gd, "metrics.chance_accuracy").dropna().iloc[0])
                        if num(gd, "metrics.chance_accuracy").notna().any() else None,
                        "not_run": why,
                        "solved": len(acc) >= MIN_SEEDS and mean >= SOLVED}
        measured = g[num(g, "metrics.tensor_bytes_peak").notna()
                     & ~num(g, "metrics.estimated_from").notna()]
        mem = num(measured, "metrics.tensor_bytes_peak").max()
        rss = num(measured, "metrics.rss_peak").max()
        ms = num(measured, "metrics.ms_per_token").median()
        solved = [D for D, v in per_d.items() if v["solved"]]
        est = num(g, "metrics.est_train_s").max()
        rows.append({"model": model, "learner": learner, "per_d": per_d,
                     "longest": max(solved) if solved else None,
                     "memory": None if mem != mem else float(mem),
                     "rss": None if rss != rss else float(rss),
                     "ms_per_token": None if ms != ms else float(ms),
                     "est_s": None if est != est else float(est),
                     "constant_memory": constant_memory(learner)})
    return rows


def _ran(row: dict, D: int) -> bool:
    v = row["per_d"].get(D)
    return v is not None and v["n"] >= MIN_SEEDS


def thesis(rows: list[dict]) -> dict:
    """The thesis, judged by the rule in the module docstring: a constant-memory learner beats
    truncated BPTT at a delay it solves where every tbptt within the memory factor was run
    (>= MIN_SEEDS seeds to the end) and none solved it."""
    tb = [r for r in rows if is_tbptt(r["learner"]) and r["memory"] is not None]
    pairs = []
    for r in rows:
        if not r["constant_memory"] or r["memory"] is None:
            continue
        same = [t for t in tb if t["memory"] <= MEMORY_FACTOR * r["memory"]]
        solved = sorted((D for D, v in r["per_d"].items() if v["solved"]), reverse=True)
        result, at = "no", None
        if not same:
            result = "undecided"
        for D in solved if same else ():
            if any(t["per_d"].get(D, {}).get("solved") for t in same):
                continue
            if all(_ran(t, D) for t in same):
                result, at = "beats", D
                break
            result = "undecided"
        best = max(same, key=lambda t: t["longest"] or 0) if same else None
        pairs.append({"learner": f"{r['model']}/{r['learner']}", "longest": r["longest"],
                      "result": result, "at": at,
                      "tbptt": ", ".join(f"{t['model']}/{t['learner']}" for t in same) or None,
                      "tbptt_longest": best["longest"] if best else None})
    results = {p["result"] for p in pairs}
    verdict = ("yes" if "beats" in results else "undecided" if "undecided" in results or not pairs
               else "no")
    return {"verdict": verdict, "pairs": pairs, "sentence": _sentence(verdict, pairs)}


def _d(v) -> str:
    return "none" if v is None else f"D = {v}"


def _sentence(verdict: str, pairs: list) -> str:
    if verdict == "yes":
        says = "; ".join(f"{p['learner']} solves D = {p['at']}, which no truncated BPTT within "
                         f"{MEMORY_FACTOR:g}x its memory solves ({p['tbptt']}; their longest: "
                         f"{_d(p['tbptt_longest'])})" for p in pairs if p["result"] == "beats")
        return ("Yes: a constant-memory learner solves a dependency that truncated BPTT at the same "
                f"memory cannot, within the budget: {says}.")
    if verdict == "no":
        return ("No: within the budget, every delay a constant-memory learner solves is also solved "
                f"by a truncated BPTT with at most {MEMORY_FACTOR:g}x its memory (or it solves none).")
    why = "; ".join(f"{p['learner']}: " + ("no truncated BPTT within the memory factor" if not
                                           p["tbptt"] else "truncated BPTT not run on >= "
                                           f"{MIN_SEEDS} seeds at the delay it solves")
                    for p in pairs if p["result"] == "undecided")
    return ("Undecided: the records do not settle it" + (f" ({why})." if why else
                                                         ": no constant-memory learner measured."))


def formatted(rows: list[dict]) -> tuple[list[str], list[dict]]:
    delays = sorted({D for r in rows for D in r["per_d"]})
    cols = ["model", "learner"] + [f"D={D}" for D in delays] + [
        "longest D solved", "memory (tensor bytes)", "RSS peak", "ms/token"]
    out = []
    for r in rows:
        row = {"model": MODEL_NAMES.get(r["model"], r["model"]), "learner": r["learner"]}
        for D in delays:
            v = r["per_d"].get(D)
            if v is None:
                row[f"D={D}"] = ""
            elif v["n"] == 0:
                est = (f", est. {r['est_s']:.0f} s" if "budget" in v["not_run"] and r["est_s"]
                       else "")
                row[f"D={D}"] = ("not run (" + ", ".join(v["not_run"]) + est + ")"
                                 if v["not_run"] else "-")
            else:
                ci = "" if v["half"] != v["half"] else f" ± {100 * v['half']:.0f}"
                row[f"D={D}"] = (f"{100 * v['mean']:.0f}%{ci} (n={v['n']})"
                                 + (" ✓" if v["solved"] else ""))
        ran = any(v["n"] for v in r["per_d"].values())
        row["longest D solved"] = (str(r["longest"]) if r["longest"] is not None
                                   else "none" if ran else "not run")
        row["memory (tensor bytes)"] = "" if r["memory"] is None else fmt_bytes(r["memory"])
        row["RSS peak"] = "" if r["rss"] is None else fmt_bytes(r["rss"])
        row["ms/token"] = "" if r["ms_per_token"] is None else f"{r['ms_per_token']:.3f}"
        out.append(row)
    return cols, out


def figure(rows: list[dict]):
    """Held-out accuracy against D (log2 axis) per learner, one panel per model, mean and 95%
    interval over seeds; chance dashed, the solved level dotted. None without a scored point."""
    from . import plotstyle as ps
    models = [m for m in MODEL_NAMES if any(r["model"] == m and any(v["n"] for v in
                                                                    r["per_d"].values())
                                            for r in rows)]
    if not models:
        return None
    # one colour per learner family, the legend beside each panel (plotstyle)
    fig, axes = ps.new_figure(len(models), ncols=2, panel_w=ps.PAGE_W / min(2, len(models)) - 1.6,
                              panel_h=3.6, legend_w=1.6)
    for ax, m in zip(axes, models):
        chance = None
        sty = ps.styles([(r["learner"],) for r in rows if r["model"] == m])
        for r in rows:
            if r["model"] != m:
                continue
            pts = [(D, v) for D, v in sorted(r["per_d"].items()) if v["n"]]
            if not pts:
                continue
            xs = [D for D, _ in pts]
            ys = [v["mean"] for _, v in pts]
            err = [0 if v["half"] != v["half"] else v["half"] for _, v in pts]
            ax.errorbar(xs, ys, yerr=err, ms=3, capsize=2, label=r["learner"], **sty[(r["learner"],)])
            chance = next((v["chance"] for _, v in pts if v["chance"]), chance)
        if chance:
            ax.axhline(chance, ls="--", color="gray", lw=1, label="chance")
        ax.axhline(SOLVED, ls=":", color="black", lw=1, label=f"solved ({SOLVED:.0%})")
        ax.set_ylim(0, 1.05)
        ps.tokens_axis(ax, "delay D (steps between symbol and query; 1k = 1024)")
        ax.set_ylabel("held-out accuracy")
        ax.set_title(MODEL_NAMES[m], fontsize=10)
        ax.grid(True, alpha=0.3)
        ps.legend_beside(ax)
    return fig


def updates(rec: pd.DataFrame) -> str:
    """Optimizer steps per run, per learner: what ``every`` (or an episode, for bptt) means for
    the number of updates the budget buys."""
    if len(rec) == 0:
        return ""
    parts = {}
    for lab, every, steps, mode in zip(col(rec, "config.learner_label").astype(str),
                                       num(rec, "config.every"), num(rec, "config.steps"),
                                       col(rec, "config.mode").astype(str)):
        if lab in parts or every != every or steps != steps:
            continue
        parts[lab] = ("one per episode: steps / (D + 2)" if mode == "episode"
                      else f"{int(steps // every)} (every {int(every)} steps)")
    return "; ".join(f"{k} {v}" for k, v in parts.items())


def section(df: pd.DataFrame) -> dict:
    """What the templates show."""
    rows = table(df)
    cols, frows = formatted(rows)
    th = thesis(rows) if rows else None
    rec = records(df)
    statuses = (col(rec, "status").astype(str).value_counts().sort_index().to_dict()
                if len(rec) else {})
    return {"rows": frows, "cols": cols, "thesis": th, "statuses": statuses, "n": len(rec),
            "updates": updates(rec),
            "rule": (f"solved: >= {SOLVED:.0%} held-out accuracy, mean over >= {MIN_SEEDS} seeds "
                     f"run to the end; truncated BPTT at the same memory: at most "
                     f"{MEMORY_FACTOR:g}x the learner's tensor bytes"),
            "figure": _figure_out(figure(rows)) if rows else None}


def _figure_out(fig):
    if fig is None:
        return None
    from . import figures
    from .render import FigureOut
    return FigureOut("longrange", "fig-longrange", "Long-range credit assignment: accuracy vs D",
                     "Held-out accuracy on delayed recall against the delay D (log2 axis), per "
                     "learner, one panel per model: mean and 95% interval over seeds; chance "
                     f"dashed, the solved level ({SOLVED:.0%}) dotted. Points not run are absent "
                     "here and named in the table.", figures.png(fig), "figures/longrange.png")
