"""Scale checks on the documents' model: a learner practical at 100,000 tokens, BPTT failing at
10,000, the segment tree's O(log n) range products, and the proposed sparse-argnums Jacobian.

Each rule was written before the ``docs-scale`` preset's records existed (presets.py,
``docs_scale``); the thresholds are the module constants below.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..data import PEAK, TSTEP, code_version, col, kwarg, machine_label, model_field, num, select
from ..evidence import CONFIRMED, NOT_MEASURED, PARTIAL, REFUTED, Evidence, nm, show
from ..fmt import fmt_bytes, fmt_num, fmt_T, names
from .speed import under_load

GiB = 2 ** 30
RSS = "metrics.rss_peak"
WALL = "wall_s"
#: tensor bytes "flat": growth under 2% (the conventions' constant)
FLAT_MEMORY = 0.02
#: RSS and time per token "flat": growth under 25% (allocator pages, the input sequence the task
#: holds, and the load of a shared CPU move them by more than 2% without any growth law)
FLAT_NOISY = 0.25
#: the stated device sizes of the out-of-memory rule (docs/VERDICTS.md)
DEVICES_GIB = (16, 24, 80)
#: O(log n): at least this many buffer sizes spanning at least this factor
MIN_SIZES, MIN_SPAN = 4, 8
#: a visible n-dependent cost: time per token grows by at least this much over the sizes
VISIBLE = 0.05
#: a fit that explains the trend
GOOD_R2 = 0.8


def _per_token_time(d: pd.DataFrame) -> tuple[pd.Series, str]:
    """ns per token: the timed step's where the point was timed, else the worker's wall time
    (a memory-only point is one pass over the sequence plus the worker's start-up)."""
    t = num(d, "metrics.time_per_token_ns")
    wall = num(d, WALL) * 1e9 / num(d, "config.seq_len")
    if t.notna().all() and len(t):
        return t, "time_per_token_ns (timed step)"
    return t.fillna(wall), "wall_s / T (one pass plus the worker's start-up, so a conservative per-token cost)"


def _growth(a: float, b: float) -> float:
    if not (a == a and b == b):
        return math.nan
    if a == 0:
        return 0.0 if b == 0 else math.inf
    return (b - a) / a


def practical_at(learner="sparse-rtrl", min_len=100_000, base_len=10_000):
    """'Still practical for sequences up to 100K tokens'. Rule, declared before the data:
    learner's `measure` points at T >= min_len must complete (any not ok -> REFUTED, its budget named), and
    from the point at base_len to the longest the learner must stay flat: tensor_bytes_peak
    growth < 2%, RSS above baseline and ns/token growth < 25% -> CONFIRMED; it completes but
    something grows (or no point at base_len to compare with) -> PARTIAL."""

    def check(df):
        d = select(df, kind="measure", learner=learner, status=None)
        long = d[num(d, "config.seq_len") >= min_len] if len(d) else d
        if len(long) == 0:
            ok = d[col(d, "status") == "ok"] if len(d) else d
            notes = []
            if len(ok):
                t, how = _per_token_time(ok)
                i = int(np.argmax(num(ok, "config.seq_len").to_numpy()))
                notes.append(f"longest run: T={fmt_T(num(ok, 'config.seq_len').iloc[i])} at "
                             f"{fmt_num(t.iloc[i] / 1e6)} ms/token ({how}): {fmt_T(min_len)} tokens would take "
                             f"about {t.iloc[i] * min_len / 6e10:.3g} min")
            return nm(f"no `measure` point of {learner} at T >= {fmt_T(min_len)}", notes, "memory")
        failed = long[col(long, "status") != "ok"]
        if len(failed):
            st = ", ".join(f"T={fmt_T(T)}{f' (budget {b:g} MiB)' if b == b else ''}: {s}" for T, s, b in
                           zip(num(failed, "config.seq_len"), col(failed, "status"), num(failed, "config.budget_mb")))
            return Evidence(REFUTED, f"{learner} did not complete: {st}", show(long, (PEAK, RSS, WALL)), "memory")
        top = long.iloc[[int(np.argmax(num(long, "config.seq_len").to_numpy()))]]
        T1 = float(num(top, "config.seq_len").iloc[0])
        t1, how = _per_token_time(top)
        head = (f"{learner} completed T={fmt_T(T1)} in {float(num(top, WALL).iloc[0]) / 60:.3g} min "
                f"({fmt_num(t1.iloc[0] / 1e6)} ms/token), holding {fmt_bytes(num(top, PEAK).iloc[0])} of tensors, "
                f"RSS +{fmt_bytes(num(top, RSS).iloc[0])}")
        notes = [f"time per token: {how}", f"machine: {machine_label(top)}"]
        base = d[(num(d, "config.seq_len") == base_len) & (col(d, "status") == "ok")]
        # the comparison is within one code version: a base point measured on other code than the
        # longest run would read a change of code as growth in T
        base = base[code_version(base).to_numpy() == code_version(top).iloc[0]] if len(base) else base
        if len(base) == 0:
            return Evidence(PARTIAL, head + f"; no point at T={fmt_T(base_len)} measured on the same code to show "
                            "it flat", show(top, (PEAK, RSS, WALL)), "memory", notes)
        base = base.iloc[[0]]
        t0, _ = _per_token_time(base)
        g = {"tensor bytes": (_growth(num(base, PEAK).iloc[0], num(top, PEAK).iloc[0]), FLAT_MEMORY),
             "RSS": (_growth(num(base, RSS).iloc[0], num(top, RSS).iloc[0]), FLAT_NOISY),
             "ns/token": (_growth(t0.iloc[0], t1.iloc[0]), FLAT_NOISY)}
        grew = [k for k, (x, lim) in g.items() if not (x < lim)]     # falling is flat enough
        text = head + f"; T={fmt_T(base_len)} -> {fmt_T(T1)}: " + ", ".join(
            f"{k} {x:+.1%} (flat: under {lim:.0%})" for k, (x, lim) in g.items())
        load = under_load(pd.concat([base, top]))
        if load:
            notes.append(load)
        rows = show(d[num(d, "config.seq_len") >= base_len], (PEAK, RSS, WALL))
        if grew:
            return Evidence(PARTIAL, text + f"; grows: {', '.join(grew)}", rows, "memory", notes)
        return Evidence(CONFIRMED, text, rows, "memory", notes)
    return check


def fails_at_length(learner="bptt", min_len=10_000, strict=False):
    """'BPTT would fail / is impossible at 10,000 tokens'. Rule, declared before the data: every
    `measure` point of learner at T >= min_len (T > min_len if strict) ran out of memory or time
    -> CONFIRMED, naming the budget it ran under; any of them completed -> REFUTED, with what it
    held there (tensor bytes and RSS, per token) and so the budget under which it would fail,
    beside this machine's RAM and the stated device sizes."""
    op = ">" if strict else ">="

    def check(df):
        d = select(df, kind="measure", learner=learner, status=None)
        if len(d):
            T = num(d, "config.seq_len")
            d = d[T > min_len] if strict else d[T >= min_len]
        if len(d) == 0:
            return nm(f"no `measure` point of {learner} at T {op} {fmt_T(min_len)}", figure="memory")

        def budget(b):
            return f"budget {b:g} MiB" if b == b else "no budget"
        st = ", ".join(f"T={fmt_T(T)} ({budget(b)}): {s}" for T, s, b in
                       zip(num(d, "config.seq_len"), col(d, "status"), num(d, "config.budget_mb")))
        ok = d[col(d, "status") == "ok"]
        rows = show(d, (PEAK, RSS, WALL))
        if len(ok) == 0:
            return Evidence(CONFIRMED, f"{learner} failed at every point: {st}", rows, "memory")
        r = ok.iloc[[int(np.argmax(num(ok, PEAK).fillna(0).to_numpy()))]]
        T, peak, rss = (float(num(r, k).iloc[0]) for k in ("config.seq_len", PEAK, RSS))
        need = max(x for x in (peak, rss) if x == x)
        ram = float(num(r, "machine.ram_bytes").iloc[0])
        over = [g for g in DEVICES_GIB if need > g * GiB]
        text = (f"{learner} completed: {st}. At T={fmt_T(T)} it held {fmt_bytes(peak)} of tensors "
                f"({fmt_num(peak / T)} B/token) and RSS +{fmt_bytes(rss)} ({fmt_num(rss / T)} B/token) on a machine "
                f"of {fmt_bytes(ram)} RAM: it would run out only under a budget below about {fmt_bytes(need)}"
                + (f" (it would exceed a {', '.join(map(str, over))} GiB device)" if over else
                   f" (below every stated device size, {', '.join(map(str, DEVICES_GIB))} GiB)"))
        notes = [f"machine: {machine_label(r)}",
                 "a run under a smaller stated budget that ran out of memory is listed, but the completed run decides"]
        return Evidence(REFUTED, text, rows, "memory", notes)
    return check


def _fit(x, y):
    """Least-squares line of y on x: (slope, intercept, r2)."""
    b, a = np.polyfit(x, y, 1)
    pred = a + b * x
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 if ss_tot == 0 else 1 - float(((y - pred) ** 2).sum()) / ss_tot
    return float(b), float(a), r2


def tree_logn(learner="tree-rtrl"):
    """'O(log n) lazy Jacobian products'. Rule, declared before the data: tree-rtrl timed at
    >= 4 buffer sizes n (learner_kwargs.n) spanning >= 8x, each at T >= 2n (the buffer wraps); per
    n the median over seeds of ns/token (time_per_token_ns). Fit y = a + b log2(n) and
    y = a + c n. CONFIRMED: the time grows (by >= 5% over the sizes), the log2 fit has r2 >= 0.8
    and fits at least as well as the line in n; REFUTED: the line in n fits better with
    r2 >= 0.8 and the time grows by >= 5%; otherwise PARTIAL (flat: no n-dependent cost visible,
    or falling, or neither fit explains it). The sensitivity FLOPs of the profiled pass (which
    count 2 B H^3 per tree node product) are fitted the same way and shown beside."""

    def check(df):
        d = select(df, kind="measure", learner=learner)
        if len(d):
            d = d.assign(_n=pd.to_numeric(kwarg(d, "n"), errors="coerce"))
            d = d[d["_n"].notna() & num(d, "metrics.time_per_token_ns").notna()]
        if len(d) == 0:
            return nm(f"no timed `measure` point of {learner} with a buffer size n (learner_kwargs.n)",
                      figure="time")
        short = d[num(d, "config.seq_len") < 2 * d["_n"]]
        d = d[num(d, "config.seq_len") >= 2 * d["_n"]]
        notes = [f"left out {len(short)} point(s) with T < 2n (the buffer never wraps)"] if len(short) else []
        if d["_n"].nunique() < MIN_SIZES or (d["_n"].max() / d["_n"].min() if len(d) else 0) < MIN_SPAN:
            return nm(f"{d['_n'].nunique()} buffer size(s) of {learner} with T >= 2n; the trend needs >= {MIN_SIZES} "
                      f"sizes spanning >= {MIN_SPAN}x", notes, "time")
        g = d.groupby("_n")
        n = np.array(sorted(g.groups), dtype=float)
        y = g.apply(lambda x: float(num(x, "metrics.time_per_token_ns").median())).reindex(n).to_numpy()
        seeds = g.size().reindex(n).to_numpy()
        b_log, _, r2_log = _fit(np.log2(n), y)
        b_lin, _, r2_lin = _fit(n, y)
        growth = _growth(y[0], y[-1])
        per_n = ", ".join(f"n={int(k)}: {fmt_num(v / 1e6)} ms" for k, v in zip(n, y))
        ns = f"{int(seeds.min())}" if seeds.min() == seeds.max() else f"{int(seeds.min())}-{int(seeds.max())}"
        text = (f"{learner} time per token over n={int(n[0])}..{int(n[-1])} ({per_n}; {ns} seeds each): growth {growth:+.1%}; fit in log2(n): slope {fmt_num(b_log / 1e6)} ms per doubling, "
                f"r2 {r2_log:.3f}; fit in n: slope {fmt_num(b_lin / 1e3)} us per unit of n, r2 {r2_lin:.3f}")
        fl = d[num(d, "metrics.sensitivity_flops_per_step").notna()]
        if fl["_n"].nunique() >= MIN_SIZES:
            gf = fl.groupby("_n")
            nf = np.array(sorted(gf.groups), dtype=float)
            yf = gf.apply(lambda x: float(num(x, "metrics.sensitivity_flops_per_step").median())).reindex(nf).to_numpy()
            bl, _, rl = _fit(np.log2(nf), yf)
            bn, _, rn = _fit(nf, yf)
            notes.append(f"sensitivity FLOPs per step (profiled counters, tree node products included): "
                         f"{fmt_num(yf[0])} at n={int(nf[0])} -> {fmt_num(yf[-1])} at n={int(nf[-1])}; "
                         f"r2 in log2(n) {rl:.3f} (slope {fmt_num(bl)} per doubling), in n {rn:.3f}")
        notes.append(f"T: {', '.join(sorted({fmt_T(t) for t in num(d, 'config.seq_len')}))}; machine: {machine_label(d)}")
        load = under_load(d)
        if load:
            text += f"; FLAG: {load}"
        rows = show(d, (TSTEP, "metrics.time_per_token_ns", "metrics.sensitivity_flops_per_step"))
        if growth >= VISIBLE and r2_log >= GOOD_R2 and r2_log >= r2_lin:
            return Evidence(CONFIRMED, text + "; grows like log n", rows, "time", notes)
        if growth >= VISIBLE and r2_lin >= GOOD_R2 and r2_lin > r2_log:
            return Evidence(REFUTED, text + "; grows like n, not log n", rows, "time", notes)
        why = ("flat: no n-dependent cost visible" if abs(growth) < VISIBLE else
               "falls with n" if growth < 0 else "neither fit explains the trend")
        return Evidence(PARTIAL, text + f"; {why}", rows, "time", notes)
    return check


def jacrev_not_implemented(sparse="sparse-rtrl"):
    """'Would reduce computation from O(HW) to O(W^2) for W write indices': a proposed
    optimisation (jacrev with sparse argnums) that no learner implements, so always NOT
    MEASURED. Shown beside: the arithmetic W / H on the config, and from the docs-dense-sparse
    timings the Jacobian phase's share of a sparse-rtrl step, the most any Jacobian saving could
    remove from the step."""

    def check(df):
        notes = ["no learner computes J_h over W input columns only (every learner differentiates the written rows "
                 "with respect to all of h); a kind that did would be new measurement code, so not measured"]
        d = select(df, kind="measure", learner=sparse)
        ph = col(d, "metrics.phase_ns_per_step") if len(d) else pd.Series([], dtype=object)
        d = d[[isinstance(p, dict) and sum(p.values()) > 0 for p in ph]] if len(d) else d
        if len(d):
            try:
                dm, ns, kw = (int(model_field(d, k).iloc[0]) for k in ("d_model", "n_slots", "topk_write"))
                notes.append(f"arithmetic: O(W^2) / O(HW) = W / H = {kw * dm} / {ns * dm} = {kw / ns:g}")
            except (TypeError, ValueError):
                pass
            share = [p.get("jacobian", 0) / sum(p.values()) for p in col(d, "metrics.phase_ns_per_step")]
            notes.append(f"{sparse}: the Jacobian phase is {float(np.median(share)):.1%} of the step (median over "
                         f"{len(share)} timed points, phase_ns_per_step), the ceiling on what the optimisation "
                         "could save")
        text = "describes an optimisation (jacrev with sparse argnums) that was never implemented"
        if len(d):
            text += f"; {names((sparse,))}'s Jacobian phase share of the step is its ceiling (notes)"
        return Evidence(NOT_MEASURED, text, show(d, ("metrics.phase_ns_per_step",)) if len(d) else [], None, notes)
    return check
