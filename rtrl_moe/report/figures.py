"""Figures of the report, drawn with matplotlib's object API (no pyplot, no global state).

Every function takes a DataFrame of records and returns a Figure or None (no data).  `png()`
renders deterministically: Agg, matplotlib's default style, fixed size and dpi, no metadata.
How they look (families, facets, units, legends) is `plotstyle`'s.
"""
from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from . import plotstyle as ps
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

DPI = ps.DPI
#: bptt drawn in every panel of another family, so that each panel reads against it
REFERENCE = {"color": "0.55", "ls": "-", "lw": 1.0, "marker": "o", "ms": 2.5}


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def label(learner: str, kw: str) -> str:
    """A learner with its keywords, as legends and tables name it."""
    kw = kw.strip("{}").replace('"', "").replace(" ", "")
    return f"{learner} ({kw})" if kw else learner


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
    return dict(sorted(out.items(), key=lambda kv: ps.sort_key(*kv[0])))


def _reference_key(keys):
    """The bptt series other panels are read against: plain bptt (no keywords) if measured."""
    plain = [k for k in keys if k[0] == "bptt" and k[1] in ("", "{}")]
    return plain[0] if plain else next((k for k in keys if k[0] == "bptt"), None)


def _panels(keys, reference: bool):
    """Facets of the series keys; with reference, a slot is kept for the bptt line."""
    return ps.facets(keys, reserve=1 if reference and _reference_key(keys) is not None else 0)


def _draw_ref(ax, keys, ref, T, y) -> None:
    if ref is not None and ref not in keys:
        ax.plot(T, y, label="bptt (reference)", zorder=1, **REFERENCE)   # a marker: one length shows too


def memory(df: pd.DataFrame):
    """One row of panels per learner family (facet), one column per memory field; bytes on a
    log2 axis in binary units; x = out of memory, drawn at the budget."""
    d = select(df, kind="measure", status=None)
    if len(d) == 0:
        return None
    fields = [(f, lab) for f, lab in MEMORY_FIELDS if num(d, f).notna().any()]
    if not fields:
        return None
    ok = d[col(d, "status") == "ok"]
    oom = d[col(d, "status").isin(["oom"])]
    per_field = {f: _curves_by_label(ok, f) for f, _ in fields}
    oom_keys = {(str(lr), str(kw)): g for (lr, kw), g in
                oom.groupby([col(oom, "config.learner").astype(str), kwargs_json(oom).astype(str)], sort=True)}
    keys = sorted({k for cs in per_field.values() for k in cs} | set(oom_keys), key=lambda k: ps.sort_key(*k))
    if not keys:
        return None
    ref = _reference_key(keys)
    facets = _panels(keys, reference=True)
    ncols = min(4, len(fields))
    blocks = math.ceil(len(fields) / ncols)
    legend_w = 2.1
    # one x axis for the whole grid where the fields fit one row (tick labels on the bottom row)
    fig, axes = ps.new_figure(len(facets) * blocks * ncols, ncols=ncols,
                              panel_w=(ps.PAGE_W - legend_w) / ncols, panel_h=2.5, sharex=blocks == 1)
    sty = ps.panel_styles(facets)
    for fi, (ftitle, fkeys) in enumerate(facets):
        for b in range(blocks):
            row = fi * blocks + b
            for c in range(ncols):
                ax = axes[row * ncols + c]
                j = b * ncols + c
                if j >= len(fields):
                    ax.axis("off")       # a free cell of the grid: the row's legend goes here
                    continue
                field, flab = fields[j]
                cs = per_field[field]
                ymax = max([float(cv.y.max()) for cv in cs.values()] + [1.0])
                if ref in cs:
                    _draw_ref(ax, fkeys, ref, cs[ref].T, np.where(cs[ref].y > 0, cs[ref].y, np.nan))
                for k in fkeys:
                    if k in cs:
                        cv = cs[k]
                        ax.plot(cv.T, np.where(cv.y > 0, cv.y, np.nan), label=label(*k), ms=4, **sty[k])
                    if k in oom_keys:
                        g = oom_keys[k]
                        ys = (num(g, "config.budget_mb") * MiB).fillna(ymax * 2).to_numpy(float)
                        ax.plot(num(g, "config.seq_len"), ys, "x", color=sty[k]["color"], ms=9, mew=2,
                                label=f"{label(*k)}: out of memory (at budget)")
                ps.tokens_axis(ax, "T" if row == len(facets) * blocks - 1 or blocks > 1 else "", numticks=4)
                if any((np.asarray(ln.get_ydata(), dtype=float) > 0).any() for ln in ax.get_lines()):
                    ps.bytes_axis(ax)
                else:
                    ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes,
                            fontsize=ps.FONT, color="0.4")
                ax.grid(True, alpha=0.3)
                if row == 0 or b > 0:
                    ps.title(ax, flab, width=24)
                if c == 0:
                    ax.set_ylabel(ps.wrap(ftitle, 30), fontsize=ps.FONT + 1)
            n_here = min(ncols, len(fields) - b * ncols)
            handles = {}
            for ax in axes[row * ncols:(row + 1) * ncols]:
                for h, lab in zip(*ax.get_legend_handles_labels()):
                    handles.setdefault(lab, h)
            if handles:
                # beside the row's last panel, or inside the row's first free cell
                free = n_here < ncols
                holder = axes[row * ncols + n_here] if free else axes[row * ncols + n_here - 1]
                holder.legend(list(handles.values()), list(handles), loc="upper left",
                              bbox_to_anchor=(0.0, 1.0) if free else (1.03, 1.0), borderaxespad=0.0,
                              fontsize=ps.FONT, frameon=False, handlelength=2.6)
    fig.supxlabel("sequence length T in tokens (1k = 1024); bytes in binary units (1 MiB = 2^20 B)",
                  fontsize=ps.FONT + 1)
    return fig


def _series_figure(series: dict, draw, decorate, reference: bool = True, ncols: int = 2):
    """Facet {(learner, kw, ...): data} into panels (at most ps.MAX_SERIES series each, one
    family a panel), two to a row, each with its legend beside it. draw(ax, key, data, style);
    decorate(ax) sets the axes."""
    keys = sorted(series, key=lambda k: ps.sort_key(k[0], str(k[1:])))
    ref = _reference_key(keys) if reference else None
    facets = ps.facets(keys, reserve=1 if ref is not None else 0)
    legend_w = 2.3
    fig, axes = ps.new_figure(len(facets), ncols=ncols, panel_w=ps.PAGE_W / min(ncols, len(facets)) - legend_w,
                              panel_h=3.4, legend_w=legend_w)
    sty = ps.panel_styles(facets)
    for ax, (ftitle, fkeys) in zip(axes, facets):
        if ref is not None and ref not in fkeys:
            draw(ax, ref, series[ref], dict(REFERENCE), "bptt (reference)")
        for k in fkeys:
            draw(ax, k, series[k], sty[k], None)
        decorate(ax)
        ps.title(ax, ftitle, width=50)
        ax.grid(True, which="major", alpha=0.3)
        ps.legend_beside(ax)
    return fig


def time(df: pd.DataFrame):
    cs = _curves_by_label(df, "metrics.time_per_token_ns")
    if not cs:
        return None

    def draw(ax, k, cv, st, lab):
        iqr = num(cv.rows, TIQR).groupby(num(cv.rows, "config.seq_len")).median().reindex(cv.T).to_numpy(float)
        err = np.nan_to_num(iqr / cv.T / 2) / 1e6
        ax.errorbar(cv.T, cv.y / 1e6, yerr=err, label=lab or label(*k), capsize=2, **{"ms": 4, **st})

    def decorate(ax):
        ps.tokens_axis(ax)
        ps.log_plain_axis(ax)
        ax.set_ylabel("ms per token (median ± IQR/2)", fontsize=ps.FONT + 1)

    return _series_figure(cs, draw, decorate)


AGREE = ("rtrl", "sparse-rtrl", "tree-rtrl", "sparse-rtrl-readonly", "tbptt")


def agreement(df: pd.DataFrame):
    d = select(df, kind="agree", learner=AGREE)
    if len(d) == 0:
        return None
    d = d[num(d, "metrics.rel_err").notna()]
    if len(d) == 0:
        return None
    series = {}
    for (lr, kw, dt), g in d.groupby([col(d, "config.learner").astype(str), kwargs_json(d).astype(str),
                                      col(d, "config.dtype").astype(str)], sort=True):
        series[(lr, kw, dt)] = num(g, "metrics.rel_err").groupby(num(g, "config.seq_len")).max().sort_index()

    def draw(ax, k, s, st, lab):
        y = np.maximum(s.to_numpy(float), 1e-18)   # log axis: an error of exactly 0 drawn at 1e-18
        if k[2] != "float64":   # float32 hollow, so that it reads apart from float64 in one colour
            st = {**st, "mfc": "white"}
        ax.plot(s.index.to_numpy(float), y, label=lab or f"{label(k[0], k[1])}, {k[2]}", **{"ms": 4, **st})

    def decorate(ax):
        ax.axhline(EXACT_TOL, color="k", lw=1, ls=":", label="exact: 1e-10 (float64)")
        ps.tokens_axis(ax)
        ax.set_yscale("log")
        ax.set_ylabel("relative L2 gradient error vs bptt", fontsize=ps.FONT + 1)

    return _series_figure(series, draw, decorate, reference=False)


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
                   "key": base, "kwargs": rc.key.kwargs or ""}
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
    """bptt's peak over T against each RTRL learner's (median) peak: the predicted T* dashed, the
    measured one a star; RTRL variants faceted so that no panel holds more than a handful."""
    rows = crossover_rows(df)
    if not rows:
        return None
    d = select(df, kind="measure")
    bc = pick(curves(d, PEAK, ("bptt",)))
    if bc is None:
        return None
    rows = [r for r in rows if r["key"] == bc.key.config]
    if not rows:
        return None
    by_key = {(r["learner"], r.get("kwargs") or ""): r for r in rows}
    keys = sorted(by_key, key=lambda k: ps.sort_key(*k))
    # one slot of a panel goes to bptt's line (the key to the marks is not a series)
    facets = ps.facets(keys, reserve=1)
    legend_w = 2.6
    fig, axes = ps.new_figure(len(facets), ncols=2, panel_w=ps.PAGE_W / min(2, len(facets)) - legend_w,
                              panel_h=3.4, legend_w=legend_w)
    sty = ps.panel_styles(facets)
    bst = ps.style("bptt", 0)
    for ax, (ftitle, fkeys) in zip(axes, facets):
        ax.plot(bc.T, bc.y, ms=4, label="bptt: tensor bytes, peak", **bst)
        for k in fkeys:
            r, st = by_key[k], sty[k]
            ax.axhline(r["rtrl_level"], color=st["color"], ls=st["ls"], lw=1.5,
                       label=f"{label(*k)}: {fmt_bytes(r['rtrl_level'])}")
            if math.isfinite(r["predicted"]):
                ax.axvline(r["predicted"], color=st["color"], ls="--", lw=1)
            if math.isfinite(r["measured"]):
                ax.plot([r["measured"]], [r["rtrl_level"]], "*", color=st["color"], ms=13, mec="k")
        handles, labels = ax.get_legend_handles_labels()
        handles += [Line2D([], [], color="k", ls="--", lw=1), Line2D([], [], color="w", marker="*", mfc="0.6",
                                                                       mec="k", ms=12)]
        labels += ["predicted T* (H x P / bptt slope)", "measured T* (bptt reaches it)"]
        ps.tokens_axis(ax)
        ps.bytes_axis(ax)
        ax.set_ylabel("tensor bytes, peak", fontsize=ps.FONT + 1)
        ps.title(ax, f"{ftitle}: peak (median over T) vs bptt", width=50)
        ax.grid(True, alpha=0.3)
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                  fontsize=ps.FONT, frameon=False, handlelength=2.6)
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
    legend_w = 2.8
    fig, (ax,) = ps.new_figure(1, ncols=1, panel_w=8.0, panel_h=3.6, legend_w=legend_w)
    for i, (lab, s, fast) in enumerate(lines):
        ax.plot(s.index.to_numpy(float), s.to_numpy(float), label=lab, ms=5, **ps.style(fast, i))
    ax.axhline(1.0, color="k", lw=1, ls=":", label="equal time")
    ps.tokens_axis(ax)
    ax.set_ylabel("speed-up: time(slow) / time(fast)\nsame run and config", fontsize=ps.FONT + 1)
    ax.grid(True, alpha=0.3)
    ps.legend_beside(ax)
    return fig


def matmul(df: pd.DataFrame):
    cs = _curves_by_label(df, "metrics.matmul_fraction")
    if not cs:
        return None

    def draw(ax, k, cv, st, lab):
        ax.plot(cv.T, cv.y, label=lab or label(*k), **{"ms": 4, **st})

    def decorate(ax):
        ps.tokens_axis(ax)
        ax.set_ylabel("sensitivity FLOP/s / matmul FLOP/s", fontsize=ps.FONT + 1)

    return _series_figure(cs, draw, decorate, reference=False)


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


def _train_label(r: pd.DataFrame, piece: bool = True) -> str:
    mt = str(col(r, "config.model_type").fillna("moe").iloc[0])
    # the preset piece and dtype are part of a series' name: runs of two pieces are never one line
    p = col(r, "config.label").fillna("").astype(str).iloc[0] if piece else ""
    dt = col(r, "config.dtype").fillna("float32").astype(str).iloc[0]
    # the learner with its keywords: tbptt at two windows is two series, never one
    learner = label(str(col(r, "config.learner").iloc[0]), str(kwargs_json(r).iloc[0])).replace(" ", "")
    lab = (f"{p + ': ' if p else ''}{mt} {learner} "
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
    """One panel per (task, preset piece), at most ps.MAX_SERIES curves each (a bigger piece is cut
    in several panels); learners coloured by family."""
    d = select(df, kind="train")
    if len(d) == 0:
        return None
    panels = []
    piece = col(d, "config.label").fillna("").astype(str)
    task = col(d, "config.task").astype(str)
    for (tk, pc), g in d.groupby([task, piece], sort=True):
        keys = pd.Series([_train_label(g.loc[[i]], piece=False) for i in g.index], index=g.index)
        series = []
        for k, gg in g.groupby(keys, sort=True):
            t = _curve_table(gg)
            if t is not None:
                series.append((str(col(gg, "config.learner").iloc[0]), k, gg, t))
        series.sort(key=lambda s: ps.sort_key(s[0], s[1]))
        # more than MAX_SERIES: cut in panels of equal size, in the families' order
        n = math.ceil(len(series) / ps.MAX_SERIES)
        size = math.ceil(len(series) / n) if n else 0
        for j in range(n):
            part = series[j * size:(j + 1) * size]
            panels.append((f"task {tk}, {pc or 'no piece'}" + (f" ({j + 1}/{n})" if n > 1 else ""), part))
    if not panels:
        return None
    legend_w = 2.0
    fig, axes = ps.new_figure(len(panels), ncols=2, panel_w=ps.PAGE_W / min(2, len(panels)) - legend_w,
                              panel_h=3.0, legend_w=legend_w)
    for ax, (ptitle, part) in zip(axes, panels):
        sty = ps.styles([(lr, k) for lr, k, _, _ in part])
        # words every curve of the panel shares (lr, T, routing) go to its title, once
        names, common = ps.common_words([k.split(" ", 1)[1] if k.startswith(("moe ", "rnn ")) else k
                                         for _, k, _, _ in part])
        for (lr, k, gg, (steps, mean, std, n)), name in zip(part, names):
            st = sty[(lr, k)]
            ax.plot(steps, mean, color=st["color"], ls=st["ls"], marker=st["marker"], ms=2.5, lw=1.2,
                    label=f"{name} (n={n})")
            ax.fill_between(steps, mean - std, mean + std, alpha=0.1, color=st["color"], lw=0)
        ps.title(ax, f"{ptitle}{': ' + common if common else ''}; accuracy, mean ± std over seeds", width=52)
        ax.set_xlabel("training step", fontsize=ps.FONT + 1)
        ax.set_ylabel("accuracy", fontsize=ps.FONT + 1)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(True, alpha=0.3)
        ps.legend_beside(ax)
    return fig


def trajectory(df: pd.DataFrame):
    """Same seed, bptt against sparse-rtrl: the relative difference of their training losses per
    step, float64 and float32 (the proxy behind reading RTRL's accuracy from bptt's runs)."""
    from .checks.accuracy import SEPARATION_TOL, separation
    sep = separation(df)
    if not sep:
        return None
    legend_w = 2.2
    fig, (ax,) = ps.new_figure(1, ncols=1, panel_w=7.5, panel_h=3.6, legend_w=legend_w)
    for i, (dtype, s) in enumerate(sep.items()):
        steps = [k for k, _ in s["curve"]]
        rel = [max(r, 1e-18) for _, r in s["curve"]]       # log axis: identical losses drawn at 1e-18
        st = ps.style("sparse-rtrl", i)
        ax.semilogy(steps, rel, marker=".", ms=2, color=st["color"], ls=st["ls"],
                    label=f"{dtype} (seed {s['seed']})")
    ax.axhline(SEPARATION_TOL, color="0.4", ls="--", lw=0.8, label=f"separated: {SEPARATION_TOL:g}")
    ax.set_xlabel("training step", fontsize=ps.FONT + 1)
    ax.set_ylabel("|loss bptt - loss sparse-rtrl| / loss", fontsize=ps.FONT + 1)
    ps.title(ax, "same-seed training: bptt vs sparse-rtrl (a^n b^n, T=32)", width=80)
    ax.grid(True, alpha=0.3)
    ps.legend_beside(ax)
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
