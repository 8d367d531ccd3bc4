"""Figures of the report, drawn with matplotlib's object API (no pyplot, no global state).

Every function takes a DataFrame of records and returns a Figure or None (no data).  `png()`
renders deterministically: Agg, matplotlib's default style, fixed size and dpi, no metadata.
"""
from __future__ import annotations

import io
import math

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .checks import EXACT_TOL
from .curves import curves, matched, pick
from .data import (
    MEMORY_FIELDS,
    PEAK,
    RTRL_ALL,
    SAVED,
    TIQR,
    col,
    itemsize,
    kwargs_json,
    machine_label,
    model_field,
    num,
    select,
)
from .fmt import MiB, fmt_bytes

COLORS = {"bptt": "#1f77b4", "tbptt": "#aec7e8", "ckpt-bptt": "#17becf", "rtrl": "#d62728",
          "sparse-rtrl": "#ff7f0e", "tree-rtrl": "#2ca02c", "sparse-rtrl-readonly": "#9467bd"}
ORDER = ("bptt", "ckpt-bptt", "tbptt", "rtrl", "sparse-rtrl", "tree-rtrl", "sparse-rtrl-readonly")
DPI = 100


def color(learner: str, i: int = 0) -> str:
    if learner in COLORS:
        return COLORS[learner]
    palette = ("#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#637939")
    return palette[i % len(palette)]


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _new(n_panels: int, ncols: int = 2, w: float = 6.0, h: float = 4.0):
    ncols = min(ncols, n_panels)
    nrows = math.ceil(n_panels / ncols)
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        fig = Figure(figsize=(w * ncols, h * nrows), dpi=DPI)
    # fixed margins: cheaper than a layout engine, and the same on every run
    fig.subplots_adjust(left=0.95 / (w * ncols), right=1 - 0.2 / (w * ncols), bottom=0.55 / (h * nrows),
                        top=1 - 0.35 / (h * nrows), wspace=0.3, hspace=0.35)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


def label(learner: str, kw: str) -> str:
    """A learner with its keywords, as legends and tables name it."""
    kw = kw.strip("{}").replace('"', "").replace(" ", "")
    return f"{learner} ({kw})" if kw else learner


def _learner_sort(key):
    learner = key[0]
    return (ORDER.index(learner) if learner in ORDER else len(ORDER), key)


def _over_T(ax, ylabel: str, logy: bool = False, title: str | None = None) -> None:
    """The axes of a figure over sequence length: T on a log2 scale, a grid, a small legend."""
    ax.set_xscale("log", base=2)
    # a log axis needs a positive value to show (one record of zeros must not stop the report)
    if logy and any((np.asarray(ln.get_ydata(), dtype=float) > 0).any() for ln in ax.get_lines()):
        ax.set_yscale("log")
    ax.set_xlabel("sequence length T")
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


def _curves_by_label(df, field, kind="measure", learners=None):
    """One representative curve per (learner, kwargs): the documents' config first."""
    d = select(df, kind=kind, learner=learners)
    if len(d) == 0:
        return {}
    d = d[num(d, field).notna()]
    out = {}
    for (lr, kw), g in d.groupby([col(d, "config.learner").astype(str), kwargs_json(d).astype(str)], sort=True):
        cs = curves(g, field, (lr,), kind=kind, min_len=1)
        rep = pick(cs)
        if rep is not None:
            out[(lr, kw)] = rep
    return dict(sorted(out.items(), key=lambda kv: _learner_sort(kv[0])))


def memory(df: pd.DataFrame):
    d = select(df, kind="measure", status=None)
    if len(d) == 0:
        return None
    fields = [(f, lab) for f, lab in MEMORY_FIELDS if num(d, f).notna().any()]
    if not fields:
        return None
    fig, axes = _new(len(fields))
    oom = d[col(d, "status").isin(["oom"])]
    for ax, (field, lab) in zip(axes, fields):
        cs = _curves_by_label(d[col(d, "status") == "ok"], field)
        ymax = max([float(cv.y.max()) for cv in cs.values()] + [1.0])
        for i, ((lr, kw), cv) in enumerate(cs.items()):
            y = np.where(cv.y > 0, cv.y, np.nan)
            ax.plot(cv.T, y, "o-", color=color(lr, i), label=label(lr, kw), ms=4)
        for i, ((lr, kw), g) in enumerate(oom.groupby([col(oom, "config.learner").astype(str),
                                                       kwargs_json(oom).astype(str)], sort=True)):
            b = num(g, "config.budget_mb") * MiB
            ys = b.fillna(ymax * 2).to_numpy(float)
            ax.plot(num(g, "config.seq_len"), ys, "x", color=color(lr, i), ms=10, mew=2,
                    label=f"{label(lr, kw)}: out of memory (at budget)")
        _over_T(ax, "bytes", logy=True, title=lab)
    return fig


def time(df: pd.DataFrame):
    cs = _curves_by_label(df, "metrics.time_per_token_ns")
    if not cs:
        return None
    fig, (ax,) = _new(1, w=8, h=4.5)
    for i, ((lr, kw), cv) in enumerate(cs.items()):
        iqr = num(cv.rows, TIQR).groupby(num(cv.rows, "config.seq_len")).median().reindex(cv.T).to_numpy(float)
        err = np.nan_to_num(iqr / cv.T / 2)
        ax.errorbar(cv.T, cv.y, yerr=err, fmt="o-", color=color(lr, i), label=label(lr, kw), ms=4, capsize=2)
    _over_T(ax, "time per token (ns), median ± IQR/2", logy=True)
    return fig


AGREE = ("rtrl", "sparse-rtrl", "tree-rtrl", "sparse-rtrl-readonly", "tbptt")


def agreement(df: pd.DataFrame):
    d = select(df, kind="agree", learner=AGREE)
    if len(d) == 0:
        return None
    d = d[num(d, "metrics.rel_err").notna()]
    if len(d) == 0:
        return None
    fig, (ax,) = _new(1, w=8, h=4.5)
    groups = d.groupby([col(d, "config.learner").astype(str), kwargs_json(d).astype(str),
                        col(d, "config.dtype").astype(str)], sort=True)
    items = sorted(groups, key=lambda kv: _learner_sort(kv[0]))
    for i, ((lr, kw, dt), g) in enumerate(items):
        s = num(g, "metrics.rel_err").groupby(num(g, "config.seq_len")).max().sort_index()
        y = np.maximum(s.to_numpy(float), 1e-18)
        style = "o-" if dt == "float64" else "s--"
        ax.plot(s.index.to_numpy(float), y, style, color=color(lr, i), label=f"{label(lr, kw)} {dt}", ms=4,
                alpha=1.0 if dt == "float64" else 0.6)
    ax.axhline(EXACT_TOL, color="k", lw=1, ls=":", label="exact: 1e-10 (float64)")
    _over_T(ax, "relative L2 gradient error vs bptt", logy=True)
    return fig


def crossover_rows(df: pd.DataFrame) -> list:
    """RTRL-vs-BPTT memory crossover T*: predicted from H x P and BPTT's bytes/token, and measured."""
    out = []
    d = select(df, kind="measure")
    if len(d) == 0:
        return out
    bp = curves(d, PEAK, ("bptt",))
    bs = {cv.key.config: cv for cv in curves(d, SAVED, ("bptt",))}
    for lr in RTRL_ALL:
        for rc in curves(d, PEAK, (lr,), min_len=1):
            base = rc.key.config
            bc = next((x for x in bp if x.key.config == base), None)
            if bc is None:
                continue
            H = num(rc.rows, "metrics.H").dropna()
            P = num(rc.rows, "metrics.n_state_params").dropna()
            sv = bs.get(base)
            row = {"learner": lr, "task": str(rc.rows["config.task"].iloc[0]), "machine": machine_label(rc.rows),
                   "key": base}
            if len(H) and len(P) and sv is not None and sv.fit()[0] > 0:
                hp = float(H.iloc[0]) * float(P.iloc[0]) * itemsize(rc.dtype) * rc.batch
                slope = sv.fit()[0]
                row["predicted"] = hp / slope
                row["predicted_text"] = (f"{fmt_T(hp / slope)} = {fmt_bytes(hp)} (H x P) / "
                                         f"{fmt_bytes(slope)}/token (bptt saved-bytes slope)")
            else:
                row["predicted"] = math.nan
                row["predicted_text"] = "n/a (needs metrics.H, n_state_params and bptt saved bytes)"
            level = float(np.median(rc.y))
            T, how = _crossing(bc, level)
            row["measured"] = T
            row["measured_text"] = f"{fmt_T(T)} ({how})" if math.isfinite(T) else how
            row["rtrl_level"] = level
            out.append(row)
    return out


def fmt_T(T) -> str:
    return f"{T:,.0f}" if math.isfinite(T) else "n/a"


def _crossing(bc, level):
    """First T where bptt's measured peak reaches level (interpolated between lengths)."""
    T, y = bc.T, bc.y
    if y[0] >= level:
        return float(T[0]), "bptt already above at the shortest length"
    for i in range(1, len(T)):
        if y[i] >= level:
            t = T[i - 1] + (level - y[i - 1]) * (T[i] - T[i - 1]) / (y[i] - y[i - 1])
            return float(t), "measured, interpolated between lengths"
    b, a, _ = bc.fit()
    if b > 0:
        return float((level - a) / b), f"extrapolated beyond T={fmt_T(T[-1])} from the line fit"
    return math.nan, "bptt does not grow: no crossover"


def crossover(df: pd.DataFrame):
    rows = crossover_rows(df)
    if not rows:
        return None
    fig, (ax,) = _new(1, w=8, h=4.5)
    d = select(df, kind="measure")
    bc = pick(curves(d, PEAK, ("bptt",)))
    if bc is not None:
        ax.plot(bc.T, bc.y, "o-", color=color("bptt"), label="bptt tensor_bytes_peak", ms=4)
    for i, r in enumerate(rows):
        if bc is None or r["key"] != bc.key.config:
            continue
        lr = r["learner"]
        ax.axhline(r["rtrl_level"], color=color(lr, i), lw=1.5, label=f"{lr} tensor_bytes_peak (median)")
        if math.isfinite(r["predicted"]):
            ax.axvline(r["predicted"], color=color(lr, i), ls="--", lw=1, label=f"{lr}: predicted T* (H x P / slope)")
        if math.isfinite(r["measured"]):
            ax.plot([r["measured"]], [r["rtrl_level"]], "*", color=color(lr, i), ms=14, mec="k",
                    label=f"{lr}: measured T*")
    _over_T(ax, "bytes", logy=True)
    return fig


SPEEDUPS = (("rtrl", "sparse-rtrl"), ("sparse-rtrl", "tree-rtrl"), ("rtrl", "tree-rtrl"))


def speedup(df: pd.DataFrame):
    lines = []
    for slow, fast in SPEEDUPS:
        m, _ = matched(df, slow, fast)
        if len(m) == 0:
            continue
        m = m.assign(task=[k.task for k in m["key"]], r=m["va"] / m["vb"])
        for task, g in m.groupby("task", sort=True):
            s = g.groupby("T")["r"].median().sort_index()
            lines.append((f"{slow} / {fast} ({task})", s, fast))
    if not lines:
        return None
    fig, (ax,) = _new(1, w=8, h=4.5)
    styles = ("o-", "s--", "^-.", "d:")
    for i, (lab, s, fast) in enumerate(lines):
        ax.plot(s.index.to_numpy(float), s.to_numpy(float), styles[i % len(styles)], color=color(fast, i),
                label=lab, ms=5)
    ax.axhline(1.0, color="k", lw=1, ls=":")
    _over_T(ax, "speedup: time(slow) / time(fast), same run and config")
    return fig


def matmul(df: pd.DataFrame):
    cs = _curves_by_label(df, "metrics.matmul_fraction")
    if not cs:
        return None
    fig, (ax,) = _new(1, w=8, h=4.5)
    for i, ((lr, kw), cv) in enumerate(cs.items()):
        ax.plot(cv.T, cv.y, "o-", color=color(lr, i), label=label(lr, kw), ms=4)
    _over_T(ax, "sensitivity FLOP/s / matmul FLOP/s")
    return fig


def _curve_table(rows: pd.DataFrame):
    """Mean and std over seeds of accuracy per step (steps every seed has)."""
    per = []
    for cv in col(rows, "metrics.curve"):
        if isinstance(cv, (list, tuple)) and cv:
            a = np.asarray([[float(x[0]), float(x[2])] for x in cv if len(x) >= 3 and x[2] is not None])
            if len(a):
                per.append(pd.Series(a[:, 1], index=a[:, 0]))
    if not per:
        return None
    t = pd.concat(per, axis=1).dropna()
    if len(t) == 0:
        return None
    return t.index.to_numpy(float), t.mean(axis=1).to_numpy(float), t.std(axis=1, ddof=1).fillna(0).to_numpy(float), t.shape[1]


def _train_label(r: pd.DataFrame) -> str:
    mt = str(col(r, "config.model_type").fillna("moe").iloc[0])
    # the preset piece and dtype are part of a series' name: runs of two pieces are never one line
    piece = col(r, "config.label").fillna("").astype(str).iloc[0]
    dt = col(r, "config.dtype").fillna("float32").astype(str).iloc[0]
    lab = (f"{piece + ': ' if piece else ''}{mt} {col(r, 'config.learner').iloc[0]} "
           f"lr={num(r, 'config.lr').iloc[0]:g} T={num(r, 'config.seq_len').iloc[0]:g}"
           f"{'' if dt == 'float32' else ' ' + dt}")
    if mt == "moe":
        kr = pd.to_numeric(model_field(r, "topk_read"), errors="coerce").iloc[0]
        kw = pd.to_numeric(model_field(r, "topk_write"), errors="coerce").iloc[0]
        ns = pd.to_numeric(model_field(r, "n_slots"), errors="coerce").iloc[0]
        if kr == kr and kw == kw and ns == ns:
            lab += f" r{kr:g}w{kw:g}/{ns:g}"
    return lab


def accuracy(df: pd.DataFrame):
    d = select(df, kind="train")
    if len(d) == 0:
        return None
    tasks = sorted(set(col(d, "config.task").astype(str)))
    fig, axes = _new(len(tasks), ncols=2)
    drawn = False
    for ax, task in zip(axes, tasks):
        g = d[col(d, "config.task").astype(str) == task]
        keys = pd.Series([_train_label(g.loc[[i]]) for i in g.index], index=g.index)
        for k, gg in g.groupby(keys, sort=True):
            t = _curve_table(gg)
            if t is None:
                continue
            steps, mean, std, n = t
            ls = ":" if str(gg["config.model_type"].iloc[0]) == "rnn" else "-"
            line = ax.plot(steps, mean, ls, marker=".", label=f"{k} (n={n})")
            ax.fill_between(steps, mean - std, mean + std, alpha=0.2, color=line[0].get_color())
            drawn = True
        ax.set_title(f"task {task}: accuracy, mean ± std over seeds", fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel("accuracy")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=6)
    return fig if drawn else None


def trajectory(df: pd.DataFrame):
    """Same seed, bptt against sparse-rtrl: the relative difference of their training losses per
    step, float64 and float32 (the proxy behind reading RTRL's accuracy from bptt's runs)."""
    from .checks.accuracy import SEPARATION_TOL, separation
    sep = separation(df)
    if not sep:
        return None
    fig, axes = _new(1, ncols=1, w=7.0)
    ax = axes[0]
    for dtype, s in sep.items():
        steps = [k for k, _ in s["curve"]]
        rel = [max(r, 1e-18) for _, r in s["curve"]]       # log axis: identical losses drawn at 1e-18
        ax.semilogy(steps, rel, marker=".", ms=2, label=f"{dtype} (seed {s['seed']})")
    ax.axhline(SEPARATION_TOL, color="grey", ls="--", lw=0.8, label=f"separated: {SEPARATION_TOL:g}")
    ax.set_xlabel("training step")
    ax.set_ylabel("|loss bptt - loss sparse-rtrl| / loss")
    ax.set_title("same-seed training: bptt vs sparse-rtrl (a^n b^n, T=32)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    return fig


FIGURES = (
    ("memory", "Memory vs sequence length", memory,
     "Every learner, one panel per memory field (log-log); x = out of memory, drawn at the budget."),
    ("time", "Time per token vs sequence length", time,
     "Median step time / T with the IQR; log-log."),
    ("agreement", "Gradient agreement with BPTT vs sequence length", agreement,
     "Relative L2 error of the whole gradient against bptt; float64 solid, float32 dashed; tbptt per window k."),
    ("crossover", "RTRL vs BPTT memory crossover T*", crossover,
     "Predicted T* = bytes of the sensitivity matrix (H x P) / BPTT's saved bytes per token; the star is "
     "where the measured BPTT peak reaches the RTRL peak."),
    ("speedup", "Sparse and tree speedups", speedup,
     "Ratios of time_step_median_ns measured in the same run and config."),
    ("matmul", "Fraction of the machine's matmul limit", matmul,
     "Sensitivity-update FLOP/s over a plain batched matmul of the same shape (metrics.matmul_fraction)."),
    ("accuracy", "Accuracy curves (train)", accuracy,
     "Mean ± std over seeds, one panel per task."),
    ("trajectory", "Same-seed trajectories: bptt vs sparse-rtrl", trajectory,
     "Relative difference of the training losses per step, float64 and float32: where rounding separates "
     "two trainings whose gradients are equal."),
)
