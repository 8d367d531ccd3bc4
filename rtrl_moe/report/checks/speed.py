"""Speed checks: step-time ratios of two learners in the same run and config, time linear in T,
and the sparse update's operation count against dense RTRL's."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..curves import curves, matched, per_learner, rows_of
from ..data import TIQR, TSTEP, machine_label, num
from ..evidence import (
    CONFIRMED,
    MAX_ROWS,
    NOT_MEASURED,
    PARTIAL,
    REFUTED,
    Evidence,
    band_verdict,
    nm,
    show,
)
from ..fmt import fmt_num, fmt_T, names, per_T

MIN_PAIRS = 3      # a speed ratio is a median over at least 3 interleaved seed pairs
MIN_TREND = 4      # a trend in T is fitted over at least 4 lengths


def under_load(rows) -> str:
    """'' or a note naming the timings taken under load (load_avg_1m > threads + 0.5)."""
    if rows is None or len(rows) == 0 or "metrics.load_avg_1m" not in rows.columns:
        return ""
    load, thr = num(rows, "metrics.load_avg_1m"), num(rows, "metrics.threads").fillna(1)
    bad = rows[load > thr + 0.5]
    if len(bad) == 0:
        return ""
    return (f"{len(bad)} of {len(rows)} timings taken under load (load_avg_1m > threads + 0.5, up to "
            f"{float(load.max()):.2f}): the ratio may be biased")


def _pairs_gate(m, what):
    """NOT MEASURED text if the pairs do not make one ratio: fewer than MIN_PAIRS, or several machines."""
    if len(m) < MIN_PAIRS:
        return f"{len(m)} {what} pair(s); a ratio needs >= {MIN_PAIRS} seed pairs on one config and machine"
    machines = {k.machine_id for k in m["key"]}
    if len(machines) > 1:
        return f"pairs from {len(machines)} machines ({', '.join(sorted(machines))}); a ratio is decided on one"
    return ""


def speedup(slow, fast, doc, tol=1.25, task=None, max_len=None, prefer_len=None, partial_on_direction=True,
            field=TSTEP, iqr=TIQR, figure="speedup"):
    """time(slow) / time(fast) within the same run and config, against the documented ratio."""

    def check(df):
        m, rows = matched(df, slow, fast, field, iqr, task=task)
        if max_len is not None and len(m):
            m = m[m["T"] <= max_len]
        if prefer_len is not None and len(m) and (m["T"] == prefer_len).any():
            m = m[m["T"] == prefer_len]
        if len(m) == 0:
            return nm(f"no `measure` pair of {slow} and {fast} in the same run and config"
                      f"{f' on task {task}' if task else ''}{f' at T <= {max_len}' if max_len else ''}",
                      figure=figure)
        gate = _pairs_gate(m, f"{slow}/{fast}")
        if gate:
            return nm(gate, figure=figure)
        r = m["va"] / m["vb"]
        lo = (m["va"] - m["ia"] / 2) / (m["vb"] + m["ib"] / 2)
        den = (m["vb"] - m["ib"] / 2).where(lambda s: s > 0, np.nan)
        hi = (m["va"] + m["ia"] / 2) / den
        med = float(np.median(r))
        per = per_T(m["T"], r)
        load = under_load(rows)
        text = (f"time({slow}) / time({fast}) median {med:.3g}x over {len(m)} pairs, spread "
                f"{float(r.min()):.3g}..{float(r.max()):.3g}x ({per}); documented {doc:g}x"
                + (f"; FLAG: {load}" if load else ""))
        notes = [f"ratio of {field} within one run_id and config; band from the IQRs: "
                 f"{float(lo.min()):.3g}..{float(hi.max()):.3g}", f"tolerance: {doc / tol:.3g}..{doc * tol:.3g}x",
                 f"machine: {machine_label(rows)}"]
        if doc / tol <= med <= doc * tol:
            v = CONFIRMED
        else:
            same_dir = bool((lo > 1).all()) if doc > 1 else bool((hi < 1).all())
            v = PARTIAL if (partial_on_direction and same_dir) else REFUTED
        return Evidence(v, text, show(rows, (field, iqr)), figure, notes, med, "x")
    return check


def speedup_range(lo_doc, hi_doc, slow="sparse-rtrl", fast="tree-rtrl", margin=1.10):
    """Every measured speedup (median per task) within the documented range."""

    def check(df):
        m, rows = matched(df, slow, fast)
        if len(m) == 0:
            return nm(f"no `measure` pair of {slow} and {fast} in the same run and config", figure="speedup")
        m = m.assign(r=m["va"] / m["vb"], task=[k.task for k in m["key"]])
        gates = [f"{t}: {g}" for t, gm in m.groupby("task", sort=True) if (g := _pairs_gate(gm, t))]
        if gates:
            return nm("; ".join(gates), figure="speedup")
        per = m.groupby("task", sort=True)["r"].median()
        inside = [(lo_doc / margin) <= x <= (hi_doc * margin) for x in per]
        spread = m.groupby("task", sort=True)["r"].agg(["min", "max", "size"])
        text = "; ".join(f"{t}: {x:.3g}x (spread {spread.at[t, 'min']:.3g}..{spread.at[t, 'max']:.3g}x, "
                         f"{int(spread.at[t, 'size'])} pairs)" for t, x in per.items()) + \
            f"; documented {lo_doc:g}-{hi_doc:g}x" + (f"; FLAG: {under_load(rows)}" if under_load(rows) else "")
        v = CONFIRMED if all(inside) else (PARTIAL if any(inside) else REFUTED)
        return Evidence(v, text, show(rows, (TSTEP,)), "speedup",
                        [f"median of time({slow})/time({fast}) per task, same run and config; "
                         f"range widened by {margin:g}x for rounding"])
    return check


def time_linear(learners=("sparse-rtrl",), lo=0.8, hi=1.2):
    """Step time grows linearly in T: log-log slope over the MIN_TREND longest lengths (the median
    over seeds at each), declared before the data; fewer lengths are NOT MEASURED."""

    def check(df):
        cs = curves(df, TSTEP, learners, min_len=MIN_TREND)
        if not cs:
            return nm(f"no ok `measure` rows of {names(learners)} with time at {MIN_TREND} or more lengths",
                      figure="time")
        exps, texts = [], []
        for c in per_learner(cs).values():
            T, y = c.T[-MIN_TREND:], c.y[-MIN_TREND:]
            e = float(np.polyfit(np.log(T), np.log(y), 1)[0])
            exps.append(e)
            texts.append(f"{c.learner}: step time ~ T^{e:.3f} over T={fmt_T(T[0])}..{fmt_T(T[-1])}")
        v = (CONFIRMED if all(lo <= e <= hi for e in exps) else
             PARTIAL if all(0.5 <= e <= 1.5 for e in exps) else REFUTED)
        return Evidence(v, "; ".join(texts), rows_of(cs, (TSTEP,)), "time",
                        [f"linear = exponent in [{lo}, {hi}]; fit over the {MIN_TREND} longest lengths"] +
                        [x for x in (under_load(pd.concat([c.rows for c in cs])),) if x])
    return check


def slower(slow_learner="sparse-rtrl", fast_learner="bptt", max_len=None):
    """slow_learner's step is slower than fast_learner's (beyond the IQR) at every matched length."""

    def check(df):
        m, rows = matched(df, slow_learner, fast_learner)
        if max_len is not None and len(m):
            m = m[m["T"] < max_len]
        if len(m) == 0:
            return nm(f"no `measure` pair of {slow_learner} and {fast_learner} in the same run and config"
                      f"{f' at T < {max_len}' if max_len else ''}", figure="time")
        gate = _pairs_gate(m, f"{slow_learner}/{fast_learner}")
        if gate:
            return nm(gate, figure="time")
        lo = (m["va"] - m["ia"] / 2) / (m["vb"] + m["ib"] / 2)
        r = m["va"] / m["vb"]
        per = per_T(m["T"], r)
        load = under_load(rows)
        text = f"time({slow_learner}) / time({fast_learner}) over {len(m)} pairs: {per}" + (f"; FLAG: {load}" if load else "")
        n_slow = int((lo > 1).sum())
        v = CONFIRMED if n_slow == len(m) else (PARTIAL if n_slow else REFUTED)
        return Evidence(v, text, show(rows, (TSTEP, TIQR)), "time",
                        [f"slower = ratio above 1 even at the edges of the IQRs; {n_slow} of {len(m)} pairs"])
    return check


def _sparsity(model: dict):
    try:
        return float(model["n_slots"]), float(model["topk_write"]), float(model["topk_read"])
    except (KeyError, TypeError, ValueError):
        return None


def flops_ratio(doc_ratio=None, doc_text="", square_write=False):
    """Sparse RTRL's sensitivity-update operation count relative to dense RTRL.

    Arithmetic per config: (topk_write/n_slots) x (topk_read/n_slots), or (topk_write/n_slots)^2
    for the O(k^2) reading.  With a documented ratio (0.25x from 50% x 50%), only configs of that
    sparsity count.  Measured: sensitivity_flops_per_step, and the time ratio beside it."""

    def arith_of(model):
        s = _sparsity(model)
        if s is None:
            return math.nan, ""
        n, w, r = s
        if square_write:
            return (w / n) ** 2, f"(topk_write/n_slots)^2 = ({w:g}/{n:g})^2"
        return (w / n) * (r / n), f"(topk_write/n_slots) x (topk_read/n_slots) = ({w:g}/{n:g}) x ({r:g}/{n:g})"

    def check(df):
        notes = [f"documented: {doc_text}"]
        if doc_ratio is not None:
            notes.append("the documents' sparsity: 2 of 4 slots read and written, 0.5 x 0.5 = 0.25")
            if abs(doc_ratio - 0.25) / 0.25 > 0.10:
                return Evidence(REFUTED, f"0.5 x 0.5 = 0.25, not {doc_ratio:g}", [], "speedup", notes)
        parts = [(v, one(df, v)) for v in ("sparse-rtrl-readonly", "sparse-rtrl")]
        measured = [(v, e) for v, e in parts if e.verdict != NOT_MEASURED]
        if not measured:
            return Evidence(NOT_MEASURED, parts[-1][1].measured_text, [], "speedup", notes + parts[-1][1].notes)
        if len(measured) == 1:
            v, e = measured[0]
            return Evidence(e.verdict, f"{v}: {e.measured_text}", e.rows, "speedup", notes + e.notes)
        ok = [e.verdict == CONFIRMED for _, e in measured]
        verdict = CONFIRMED if all(ok) else (PARTIAL if any(ok) or PARTIAL in [e.verdict for _, e in measured]
                                             else REFUTED)
        if verdict == PARTIAL:
            notes.append("the documents' update (sparse-rtrl-readonly) and the exact sparse update (sparse-rtrl) "
                         "differ: see each")
        return Evidence(verdict, "; ".join(f"{v}: {e.verdict} - {e.measured_text}" for v, e in measured),
                        [r for _, e in measured for r in e.rows][:MAX_ROWS], "speedup",
                        notes + [n for _, e in measured for n in e.notes])

    def one(df, sparse):
        notes = []
        m, rows = matched(df, sparse, "rtrl", field="metrics.sensitivity_flops_per_step", iqr=None)
        if len(m):
            ar = [arith_of(k.model_config) for k in m["key"]]
            m = m.assign(arith=[a for a, _ in ar], how=[h for _, h in ar])
            m = m[m["arith"].notna()]
            if doc_ratio is not None:
                m = m[np.isclose(m["arith"], doc_ratio)]
        if len(m) == 0:
            what = " of the documents' sparsity (0.5 x 0.5)" if doc_ratio is not None else ""
            return Evidence(NOT_MEASURED, f"no `measure` pair of {sparse} and rtrl{what} with "
                            "sensitivity_flops_per_step in the same run and config", [], "speedup", notes)
        m = m.assign(fr=m["va"] / m["vb"])
        mt, _ = matched(df, sparse, "rtrl", field="metrics.sensitivity_ns_per_step", iqr=None)
        tfield = "sensitivity_ns_per_step"
        if len(mt) == 0:
            mt, _ = matched(df, sparse, "rtrl")
            tfield = "time_step_median_ns"
        if len(mt):
            mt = mt.assign(tr=mt["va"] / mt["vb"])[["key", "T", "tr"]].groupby(["key", "T"], as_index=False).median()
            m = m.merge(mt, on=["key", "T"], how="left")
        else:
            m = m.assign(tr=np.nan)
        # FLOP counts are analytic (flops.py counts the same arithmetic the claim states), so they
        # agree by construction: the verdict rests on the measured time ratio, in the band of the
        # arithmetic (0.5..2 CONFIRMED, 0.1..10 PARTIAL, else REFUTED)
        texts, verdicts, trs = [], [], []
        for (key, how, a), g in m.groupby(["key", "how", "arith"], sort=True):
            fr, tr = float(g["fr"].median()), float(g["tr"].median())
            texts.append(f"{how} = {a:.4g}: time ({tfield}) sparse/dense {fmt_num(tr)}x over {len(g)} lengths "
                         f"(analytic FLOP ratio {fr:.3g}x)")
            verdicts.append(band_verdict(tr / a) if math.isfinite(tr) else NOT_MEASURED)
            trs.append(tr)
        text = "; ".join(texts)
        notes.append(f"{sparse}: {len(m)} pairs (same run and config); judged on measured time, the FLOP counts "
                     "being analytic")
        shown = show(rows, ("metrics.sensitivity_flops_per_step", "metrics.sensitivity_ns_per_step"))
        known = [v for v in verdicts if v != NOT_MEASURED]
        if not known:
            return Evidence(NOT_MEASURED, text + "; no time measured", shown, "speedup", notes)
        v = known[0] if len(set(known)) == 1 else PARTIAL
        finite = [t for t in trs if math.isfinite(t)]
        return Evidence(v, text, shown, "speedup", notes, float(np.median(finite)) if finite else None, "x")
    return check
