"""What completes at which length: a learner runs (or fails, out of memory or time) at long T,
and under a stated memory budget."""
from __future__ import annotations

import math

import pandas as pd

from ..curves import curves, pick
from ..data import PEAK, RTRL_ALL, TSTEP, col, machine_label, num, select
from ..evidence import CONFIRMED, PARTIAL, REFUTED, Evidence, nm, show
from ..fmt import MiB, fmt_bytes, fmt_num, fmt_T, names


def runs_at_length(learners, min_len):
    """A `measure` point of learners at T >= min_len completed."""
    learners = tuple(learners)

    def check(df):
        d = select(df, kind="measure", learner=learners, status=None)
        d = d[num(d, "config.seq_len") >= min_len] if len(d) else d
        notes = []
        cs = curves(df, "metrics.time_per_token_ns", learners, min_len=1)
        if cs:
            c = pick(cs)
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
        c = pick(curves(df, PEAK, (learner,)))
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


def oom_budget(learner="bptt", doc_len=1024, task=None, others=RTRL_ALL):
    """learner runs out of a stated memory budget at some length, while an RTRL learner does not."""

    def check(df):
        d = select(df, kind="measure", learner=learner, task=task, status=None)
        d = d[num(d, "config.budget_mb").notna()] if len(d) else d
        c = pick(curves(df, PEAK, (learner,), task=task))
        notes = [f"documented: out of memory at T={fmt_T(doc_len)} on the documents' machine (budget not stated)"]
        if c is not None:
            b, a, _ = c.fit()
            notes.append(f"our {learner} tensor_bytes_peak at T={fmt_T(doc_len)}: {fmt_bytes(c.at(doc_len)[0])} "
                         f"({c.at(doc_len)[1]}); slope {fmt_bytes(b)}/token")
        if len(d) == 0:
            return nm(f"no `measure` point of {learner}{f' on {task}' if task else ''} under a memory budget "
                      "(--budget-mb) in results/", notes, "memory")
        verdicts, texts = [], []
        for budget, g in d.groupby(num(d, "config.budget_mb"), sort=True):
            T = num(g, "config.seq_len")
            st = col(g, "status")
            oom = T[st.isin(["oom"])]
            okT = T[st == "ok"]
            if c is not None and math.isfinite(c.fit()[0]) and c.fit()[0] > 0:
                b, a, _ = c.fit()
                notes.append(f"budget {budget:g} MiB: the line fit predicts {learner} exceeds it at "
                             f"T={fmt_T(max(0, (budget * MiB - a) / b))}")
            if len(oom):
                first = float(oom.min())
                o = select(df, kind="measure", learner=others, task=task, status="ok")
                o = o[(num(o, "config.budget_mb") == budget) & (num(o, "config.seq_len") >= first)] if len(o) else o
                last_ok = float(okT[okT < first].max()) if (okT < first).any() else math.nan
                texts.append(f"budget {budget:g} MiB: {learner} first OOM at T={fmt_T(first)}"
                             f"{f' (last ok T={fmt_T(last_ok)})' if last_ok == last_ok else ''}; "
                             f"RTRL learners ok there: {len(o)} points")
                verdicts.append(CONFIRMED if len(o) else PARTIAL)
            elif len(okT) and okT.max() > doc_len:
                texts.append(f"budget {budget:g} MiB: {learner} ran at every length up to T={fmt_T(okT.max())}")
                verdicts.append(REFUTED)
        if not verdicts:
            return nm(f"{learner} under a budget was not run past T={fmt_T(doc_len)}", notes, "memory")
        v = CONFIRMED if CONFIRMED in verdicts else (PARTIAL if PARTIAL in verdicts else REFUTED)
        return Evidence(v, "; ".join(texts), show(d, (PEAK,)), "memory", notes)
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
