"""What completes at which length: a learner runs (or fails, out of memory or time) at long T,
and under a stated memory budget."""
from __future__ import annotations

import pandas as pd

from ..curves import curves, per_learner, pick
from ..data import PEAK, TSTEP, col, machine_label, num, select
from ..evidence import CONFIRMED, REFUTED, Evidence, nm, show
from ..fmt import fmt_bytes, fmt_num, fmt_T, names


def runs_at_length(learners, min_len):
    """A `measure` point of learners at T >= min_len completed."""
    learners = tuple(learners)

    def check(df):
        d = select(df, kind="measure", learner=learners, status=None)
        d = d[num(d, "config.seq_len") >= min_len] if len(d) else d
        notes = []
        cs = curves(df, "metrics.time_per_token_ns", learners, min_len=1)
        for c in per_learner(cs).values():     # each learner its own line: none is chosen for the others
            notes.append(f"{c.learner}: {fmt_num(c.y[-1])} ns/token at T={fmt_T(c.T[-1])}, so one step over "
                         f"{fmt_T(min_len)} tokens would take about {c.y[-1] * min_len / 1e9:.3g} s on "
                         f"{machine_label(c.rows)}")
        if len(d) == 0:
            return nm(f"no `measure` point of {names(learners)} at T >= {fmt_T(min_len)}", notes, "time")
        ok = d[col(d, "status") == "ok"]
        st = ", ".join(f"{lr} T={fmt_T(T)}: {s}" for lr, T, s in
                       zip(col(d, "config.learner"), num(d, "config.seq_len"), col(d, "status")))
        v = CONFIRMED if len(ok) else REFUTED
        return Evidence(v, st, show(d, (PEAK, TSTEP)), "memory", notes)
    return check


def fails_at(learner="bptt", min_len=10000):
    """learner fails (oom/timeout) at T >= min_len; REFUTED if it completed there."""

    def check(df):
        d = select(df, kind="measure", learner=learner, status=None)
        d = d[num(d, "config.seq_len") >= min_len] if len(d) else d
        notes = []
        c = pick(curves(df, PEAK, (learner,)), learner)
        if c is not None:
            v, how = c.at(min_len)
            notes.append(f"{learner} tensor_bytes_peak at T={fmt_T(min_len)}: {fmt_bytes(v)} ({how}); "
                         f"machine RAM {fmt_bytes(num(c.rows, 'machine.ram_bytes').max())}")
        if len(d) == 0:
            return nm(f"no `measure` point of {learner} at T >= {fmt_T(min_len)}", notes, "memory")
        st = ", ".join(f"T={fmt_T(T)}: {s}{f' (budget {b:g} MiB)' if b == b else ''}" for T, s, b in
                       zip(num(d, "config.seq_len"), col(d, "status"), num(d, "config.budget_mb")))
        ok = d[col(d, "status") == "ok"]
        if len(ok):
            v = REFUTED
            st = f"{learner} completed: {st}"
        else:
            v = CONFIRMED
            st = f"{learner} failed: {st}"
        return Evidence(v, st, show(d, (PEAK,)), "memory", notes)
    return check


def only_practical(min_len=10000, alternatives=("bptt", "ckpt-bptt"), learner="tree-rtrl"):
    def check(df):
        d = select(df, kind="measure", learner=alternatives, status=None)
        d = d[num(d, "config.seq_len") > min_len] if len(d) else d
        t = select(df, kind="measure", learner=learner, status=None)
        t = t[num(t, "config.seq_len") > min_len] if len(t) else t
        if len(d) == 0 and len(t) == 0:
            return nm(f"no `measure` point of {learner} or {names(alternatives)} at T > {fmt_T(min_len)}",
                      figure="memory")
        ok = d[col(d, "status") == "ok"] if len(d) else d
        rows = show(pd.concat([d, t]), (PEAK, TSTEP))
        if len(ok):
            s = ", ".join(f"{lr} at T={fmt_T(T)} ({fmt_bytes(b)}, {fmt_num(ns / 1e9)} s/step)" for lr, T, b, ns in
                          zip(col(ok, "config.learner"), num(ok, "config.seq_len"), num(ok, PEAK), num(ok, TSTEP)))
            return Evidence(REFUTED, f"other learners completed: {s}", rows, "memory")
        tok = t[col(t, "status") == "ok"] if len(t) else t
        if len(d) and len(tok):
            return Evidence(CONFIRMED, f"{names(alternatives)} failed at T > {fmt_T(min_len)} and {learner} completed",
                            rows, "memory")
        return nm(f"needs both {learner} and {names(alternatives)} at T > {fmt_T(min_len)}", figure="memory")
    return check
