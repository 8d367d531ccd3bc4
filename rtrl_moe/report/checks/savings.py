"""Checks of the claims added on the third reading: RTRL's memory below BPTT's at a length, BPTT
failing under a budget where RTRL runs, RTRL training step for step as BPTT (so an accuracy gap
is not RTRL's), the read/write fraction of the documents' config, and a table's own arithmetic."""
from __future__ import annotations

import math

from ..curves import curves, matched, pick, rows_of
from ..data import PEAK, col, doc_mask, model_field, num, select
from ..evidence import CONFIRMED, NOT_MEASURED, PARTIAL, REFUTED, Evidence, nm, show
from ..fmt import fmt_bytes, fmt_T
from .accuracy import separation, separation_text

RSS = "metrics.rss_peak"


def memory_savings(T, learner="sparse-rtrl", min_ratio=1.0, what="less memory"):
    """bptt's memory at T (measured, or from its line fit) over ``learner``'s at its longest
    length (RTRL's is flat in T), on tensor bytes and on RSS above baseline: a ratio >= min_ratio
    on both CONFIRMED, <= 1 on both REFUTED; anything between, or the two metrics disagreeing,
    PARTIAL."""

    def one(df, field):
        b = pick(curves(df, field, ("bptt",)), "bptt")
        r = pick(curves(df, field, (learner,), min_len=1), learner)
        if b is None or r is None:
            return None
        v, how = b.at(T)
        mine = float(r.y[-1]) / r.batch
        return (v / b.batch) / mine if mine > 0 else math.inf, v / b.batch, how, mine, [b, r]

    def check(df):
        got = {name: one(df, f) for name, f in (("tensor bytes", PEAK), ("RSS above baseline", RSS))}
        got = {k: v for k, v in got.items() if v is not None}
        if "tensor bytes" not in got:
            return nm(f"needs bptt `measure` rows at two or more lengths and {learner} rows with {PEAK}",
                      figure="memory")
        verdicts, texts, cs = {}, [], []
        for name, (ratio, bv, how, mine, c) in got.items():
            v = CONFIRMED if ratio >= min_ratio else (REFUTED if ratio <= 1 else PARTIAL)
            verdicts[name] = v
            texts.append(f"{name}: bptt {fmt_bytes(bv)} at T={fmt_T(T)} ({how}) / {learner} {fmt_bytes(mine)} = "
                         f"{ratio:.3g}x -> {v}")
            cs += c
        vs = set(verdicts.values())
        v = vs.pop() if len(vs) == 1 else PARTIAL
        notes = [f"{what} = bptt's memory over {learner}'s at T={fmt_T(T)} of at least {min_ratio:g}x on tensor "
                 "bytes and on RSS; the two metrics disagreeing is PARTIAL"]
        return Evidence(v, "; ".join(texts), rows_of(cs, (PEAK, RSS)), "memory", notes,
                        got["tensor bytes"][0], "x")
    return check


def fails_where_rtrl_runs(learner="bptt", rtrl="sparse-rtrl"):
    """Under one stated --budget-mb, ``learner`` runs out of memory at some T at which ``rtrl`` ran:
    CONFIRMED; ``learner`` ran at every length ``rtrl`` ran under that budget: REFUTED."""

    def check(df):
        d = select(df, kind="measure", status=None)
        d = d[num(d, "config.budget_mb").notna()] if len(d) else d
        if len(d) == 0:
            return nm("no run under a --budget-mb budget (docs-budget)", figure="memory")
        texts, verdicts = [], []
        for budget, g in d.groupby(num(d, "config.budget_mb"), sort=True):
            lr, T, st = col(g, "config.learner"), num(g, "config.seq_len"), col(g, "status")
            oom = T[(lr == learner) & (st == "oom")]
            ran = T[(lr == rtrl) & (st == "ok")]
            if len(ran) == 0 or not ((lr == learner).any()):
                continue
            first = float(oom.min()) if len(oom) else math.nan
            longest = float(ran.max())
            if first == first and longest >= first:
                v = CONFIRMED
            elif first != first and (T[(lr == learner) & (st == "ok")] >= longest).any():
                v = REFUTED
            else:
                v = PARTIAL
            verdicts.append(v)
            texts.append(f"under {budget:g} MiB: {learner} first OOM T={fmt_T(first) if first == first else 'none'}, "
                         f"{rtrl} ran at T={fmt_T(longest)} -> {v}")
        if not verdicts:
            return nm(f"needs {learner} and {rtrl} under one --budget-mb budget", figure="memory")
        v = verdicts[0] if len(set(verdicts)) == 1 else PARTIAL
        return Evidence(v, "; ".join(texts), show(d, (PEAK,)), "memory",
                        ["the budget is the preset's (docs-budget, 256 MiB), stated before the runs"])
    return check


def same_training_as_bptt():
    """sparse-rtrl's same-seed float64 training losses equal bptt's at every recorded step
    (train-trajectory): then any accuracy gap between the two is not the learner's (CONFIRMED);
    trajectories that separate in float64: PARTIAL (the gradient differs somewhere)."""

    def check(df):
        sep = separation(df)
        f64 = sep.get("float64")
        if f64 is None:
            return nm("no float64 same-seed trajectories of bptt and sparse-rtrl (train-trajectory)",
                      figure="accuracy")
        v = CONFIRMED if f64["first"] is None else PARTIAL
        return Evidence(v, separation_text(sep), f64["rows"], "accuracy",
                        ["sparse-rtrl's gradient is bptt's: a learner that follows bptt's losses step for step "
                         "learns what bptt learns, so a lower accuracy comes from its setup, not from RTRL"])
    return check


def slot_fraction(read=0.5, write=0.5):
    """The documents' config reads and writes the stated fraction of slots: topk_read / n_slots
    and topk_write / n_slots of every record of it (as 003-H128 reads H from its records)."""

    def check(df):
        d = select(df, kind=("measure", "agree"))
        d = d[doc_mask(d)] if len(d) else d
        if len(d) == 0:
            return nm("no `measure` or `agree` record of the documents' config", figure=None)
        ns = num_model(d, "n_slots")
        fr, fw = num_model(d, "topk_read") / ns, num_model(d, "topk_write") / ns
        got = sorted(set(zip(fr.round(4), fw.round(4))))
        ok = got == [(round(read, 4), round(write, 4))]
        text = "; ".join(f"read {a:.0%}, write {b:.0%} of the slots" for a, b in got) + f" in {len(d)} records"
        return Evidence(CONFIRMED if ok else REFUTED, text, show(d.head(3), ()), None,
                        [f"documented: read {read:.0%}, write {write:.0%}; what that sparsity saves in compute is "
                         "the 0.25x FLOP claim's (003)"])
    return check


def num_model(d, key):
    import pandas as pd
    return pd.to_numeric(model_field(d, key), errors="coerce")


def trials_arithmetic(values, n_trials, text, row=3):
    """A table said to average n_trials: every entry must be k / n_trials for an integer k (to its
    printed rounding); it holds -> NOT MEASURED (the trials were not re-run: arithmetic only), with
    the binomial 95% interval of a difference of two such averages beside the table's largest
    difference within a row (``row`` entries each); an entry that is not k / n_trials -> REFUTED."""

    def check(df):
        ks = [v * n_trials for v in values]
        bad = [f"{v:.1%} x {n_trials} = {k:.2f}" for v, k in zip(values, ks) if abs(k - round(k)) > 0.05]
        p = sum(values) / len(values)
        half = 1.96 * math.sqrt(p * (1 - p) / n_trials)
        half_diff = 1.96 * math.sqrt(2 * p * (1 - p) / n_trials)
        rows = [values[i:i + row] for i in range(0, len(values), row)]
        gap = max(max(r) - min(r) for r in rows)
        notes = [f"{text}: each entry x {n_trials} should be a whole number of trials",
                 f"a {p:.0%} average over {n_trials} trials has a 95% half-width of about {half:.0%}; a difference "
                 f"of two such averages about {half_diff:.0%} (binomial)"]
        if bad:
            return Evidence(REFUTED, "not averages of whole trials: " + "; ".join(bad), [], "accuracy", notes)
        within = "within" if gap <= half_diff else "beyond"
        return Evidence(NOT_MEASURED, f"arithmetic holds (every entry is k/{n_trials}); the trials are not re-run "
                        f"(train-003 runs 5 seeds of 30 steps); the table's largest difference within a row, "
                        f"{gap:.1%}, is {within} the +-{half_diff:.0%} a difference of two such averages carries",
                        [], "accuracy", notes)
    return check


SENS_NS = "metrics.sensitivity_ns_per_step"


def computes_less(sparse="sparse-rtrl", dense="rtrl", field=SENS_NS):
    """'only compute for active slots': the sparse learner's sensitivity update takes less time than
    the dense one's, median over pairs measured in the same run and config: below 1x CONFIRMED,
    not below REFUTED."""

    def check(df):
        m, rows = matched(df, sparse, dense, field=field, iqr=None)
        if len(m) == 0:
            return nm(f"no `measure` pairs of {sparse} and {dense} with {field} in one run (docs-dense-sparse)",
                      figure="time")
        r = float((m["va"] / m["vb"]).median())
        v = CONFIRMED if r < 1 else REFUTED
        return Evidence(v, f"{sparse}/{dense} {field.split('.')[-1]}: median {r:.3g}x over {len(m)} pairs",
                        show(rows, (field,)), "time", ["less compute = the median ratio below 1x"], r, "x")
    return check
