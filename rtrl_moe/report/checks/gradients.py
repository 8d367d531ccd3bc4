"""Gradient checks: the exact learners agree with BPTT to EXACT_TOL in float64; truncated BPTT
does not."""
from __future__ import annotations

import pandas as pd

from ..data import kwarg, num, select
from ..evidence import CONFIRMED, MAX_ROWS, NOT_MEASURED, PARTIAL, REFUTED, Evidence, nm, show
from ..fmt import fmt_num, fmt_T, names

EXACT_TOL = 1e-10          # conventions: "exact" = relative error <= 1e-10 in float64


def _agree(df, learner, dtype="float64"):
    d = select(df, kind="agree", learner=learner, dtype=dtype)
    return d[num(d, "metrics.rel_err").notna()] if len(d) else d


def exact(learners, tol=EXACT_TOL):
    """Every float64 gradient-agreement point of learners has relative error <= tol."""
    learners = tuple(learners)

    def check(df):
        texts, flags, rows = [], [], []
        for lr in learners:
            d = _agree(df, lr)
            if len(d) == 0:
                continue
            e = num(d, "metrics.rel_err")
            f32 = _agree(df, lr, "float32")
            f32t = f", float32 max {fmt_num(num(f32, 'metrics.rel_err').max())}" if len(f32) else ""
            texts.append(f"{lr}: max rel. error {fmt_num(e.max())} over T={fmt_T(num(d, 'config.seq_len').min())}.."
                         f"{fmt_T(num(d, 'config.seq_len').max())} (float64{f32t})")
            flags.append(bool((e <= tol).all()))
            rows += show(d, ("metrics.rel_err", "metrics.max_abs_err", "metrics.cosine"))
        if not flags:
            return nm(f"no float64 `agree` rows of {names(learners)}", figure="agreement")
        v = CONFIRMED if all(flags) else (PARTIAL if any(flags) else REFUTED)
        return Evidence(v, "; ".join(texts), rows[:MAX_ROWS], "agreement",
                        [f"exact = relative L2 error <= {tol:g} in float64 against bptt"])
    return check


def exact_core(core="rtrl", variants=("sparse-rtrl", "tree-rtrl", "sparse-rtrl-readonly"), tol=EXACT_TOL):
    """The core algorithm must be exact (else REFUTED); an inexact variant makes it PARTIAL."""
    c = exact((core,), tol)
    others = [(v, exact((v,), tol)) for v in variants]

    def check(df):
        e = c(df)
        parts = [(v, f(df)) for v, f in others]
        measured = [(v, p) for v, p in parts if p.verdict != NOT_MEASURED]
        text = "; ".join([e.measured_text] + [p.measured_text for _, p in measured])
        rows = e.rows + [r for _, p in measured for r in p.rows]
        notes = e.notes + [f"{v}: not measured" for v, p in parts if p.verdict == NOT_MEASURED]
        if e.verdict == NOT_MEASURED:
            return nm(e.measured_text, notes, "agreement")
        if e.verdict != CONFIRMED:
            return Evidence(REFUTED, text, rows[:MAX_ROWS], "agreement", notes)
        bad = [v for v, p in measured if p.verdict != CONFIRMED]
        if bad:
            notes.append(f"not exact: {', '.join(bad)}")
            return Evidence(PARTIAL, text, rows[:MAX_ROWS], "agreement", notes)
        return Evidence(CONFIRMED, text, rows[:MAX_ROWS], "agreement", notes)
    return check


def truncation_bias(learner="tbptt", min_err=1e-6):
    """Truncated BPTT's gradient differs from the full gradient when T > k."""

    def check(df):
        d = _agree(df, learner)
        if len(d):
            k = pd.to_numeric(kwarg(d, "k"), errors="coerce")
            d = d[k.isna() | (num(d, "config.seq_len") > k)]
        if len(d) == 0:
            return nm(f"no float64 `agree` rows of {learner} with T > k", figure="agreement")
        e = num(d, "metrics.rel_err")
        cos = num(d, "metrics.cosine")
        biased = int((e > min_err).sum())
        text = (f"{learner}: rel. error {fmt_num(e.min())}..{fmt_num(e.max())}, cosine "
                f"{fmt_num(cos.min(), 4)}..{fmt_num(cos.max(), 4)} over {len(d)} points with T > k")
        v = CONFIRMED if biased == len(d) else (PARTIAL if biased else REFUTED)
        return Evidence(v, text, show(d, ("metrics.rel_err", "metrics.cosine")), "agreement",
                        [f"loses gradient signal = relative error above {min_err:g}"])
    return check
