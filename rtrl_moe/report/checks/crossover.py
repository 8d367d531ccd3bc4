"""Out of memory as a crossover, not as a tuned budget: per learner and memory metric, the fitted
bytes per token and the length T* at which it exceeds budgets stated outside the data (16, 24 and
80 GiB devices and the measuring machine's RAM).  A documented "OOM at T" is CONFIRMED only if some
stated budget puts T* within 2x of T; the direct run under the docs preset's budget (docs-budget)
checks that the fit predicts the failure.

The direct runs are evidence of their own, a second part of the claim: under a budget stated in the
preset (``--budget-mb``), the first length that ran out of memory within 2x of the documented T
confirms that part, one beyond (or a run that never failed past 2x T) refutes it.  The claim is
CONFIRMED when both parts are, REFUTED when both are, PARTIAL when they disagree (the fit against
device-sized budgets and a failure under a small stated one are different facts, neither decides
alone); without direct runs the fit decides as before."""
from __future__ import annotations

import math

from ..curves import curves, pick, rows_of
from ..data import PEAK, col, machine_label, num, select
from ..evidence import CONFIRMED, NOT_MEASURED, PARTIAL, REFUTED, Evidence, combine, nm, show
from ..fmt import MiB, fmt_bytes, fmt_T

GiB = 2 ** 30
#: budgets stated before the data: common accelerator sizes; the machine's RAM is added per record
DEVICE_BUDGETS = (("16 GiB device", 16 * GiB), ("24 GiB device", 24 * GiB), ("80 GiB device", 80 * GiB))
METRICS = (("tensor bytes", PEAK), ("RSS", "metrics.rss_peak"), ("CUDA allocated", "metrics.cuda_allocated_peak"))
WITHIN = 2.0           # T* within 2x of the documented T


def t_star(curve, budget):
    """Length at which the line fit of curve reaches budget (inf if it does not grow)."""
    b, a, _ = curve.fit()
    if not math.isfinite(b) or b <= 0:
        return math.inf
    return max(0.0, (budget * curve.batch - a) / b)


def crossover(learner="bptt", doc_len=1024, task=None):
    def check(df):
        notes = [f"documented: out of memory at T={fmt_T(doc_len)} (budget not stated); CONFIRMED only if a stated "
                 f"budget ({', '.join(n for n, _ in DEVICE_BUDGETS)}, the machine's RAM) puts T* within "
                 f"{WITHIN:g}x of it"]
        hits, rows, fits = [], [], []
        for mname, field in METRICS:
            c = pick(curves(df, field, (learner,), task=task), learner)
            if c is None:
                continue
            b, a, r2 = c.fit()
            ram = num(c.rows, "machine.ram_bytes").max()
            budgets = list(DEVICE_BUDGETS) + ([(f"this machine's RAM ({fmt_bytes(ram)})", ram)] if ram == ram else [])
            parts = []
            for bname, B in budgets:
                T = t_star(c, B)
                parts.append(f"{bname}: T*={fmt_T(T) if math.isfinite(T) else 'never'}")
                if math.isfinite(T) and doc_len / WITHIN <= T <= doc_len * WITHIN:
                    hits.append(f"{mname} under {bname}: T*={fmt_T(T)}")
            fits.append(f"{learner} {mname}: {fmt_bytes(b / c.batch)}/token (r2={r2:.4f}, T={fmt_T(c.T[0])}.."
                        f"{fmt_T(c.T[-1])}); " + ", ".join(parts))
            rows += rows_of([c], (field,))
        if not fits:
            return nm(f"no ok `measure` rows of {learner}{f' on {task}' if task else ''} at two or more lengths to "
                      "fit bytes per token", notes, "memory")
        notes += fits
        direct = _direct(df, learner, task)
        notes += direct[1]
        rows += direct[2]
        text = "; ".join(fits[:1])
        if hits:
            v = CONFIRMED if direct[0] is not False else PARTIAL
            text += f"; within {WITHIN:g}x of T={fmt_T(doc_len)}: " + "; ".join(hits)
        else:
            v = REFUTED
            text += f"; no stated budget puts T* within {WITHIN:g}x of T={fmt_T(doc_len)}"
        run = direct_part(df, learner, doc_len, task)
        if run.verdict == NOT_MEASURED:
            return Evidence(v, f"{text}; direct run: {run.measured_text}", rows, "memory", notes)
        both = combine([Evidence(v, text), run], core=())
        notes.append(f"two parts: the line fit against device budgets -> {v}; the direct run under the stated "
                     f"budget -> {run.verdict}; together {both}" + (" (they disagree: neither decides alone)"
                                                                    if both == PARTIAL and v != run.verdict else ""))
        return Evidence(both, f"line fit: {v} - {text}; direct run: {run.verdict} - {run.measured_text}", rows,
                        "memory", notes)
    return check


def direct_part(df, learner, doc_len, task=None) -> Evidence:
    """The direct runs under a stated --budget-mb as a part of an out-of-memory claim: per budget,
    the last length that ran and the first that ran out.  CONFIRMED if the first failure lies within
    WITHIN of doc_len; REFUTED if it lies outside, or the learner ran past doc_len x WITHIN without
    failing; NOT MEASURED without such runs.  Other learners' runs under the same budget are shown."""
    d = select(df, kind="measure", status=None)
    d = d[num(d, "config.budget_mb").notna()] if len(d) else d
    if task is not None and len(d):
        d = d[col(d, "config.task") == task]
    mine = d[col(d, "config.learner") == learner] if len(d) else d
    if len(mine) == 0:
        return nm(f"no run of {learner} under a --budget-mb budget (docs-budget)")
    verdicts, texts = [], []
    for budget, g in mine.groupby(num(mine, "config.budget_mb"), sort=True):
        T, st = num(g, "config.seq_len"), col(g, "status")
        oom, fine = T[st == "oom"], T[st == "ok"]
        first = float(oom.min()) if len(oom) else math.nan
        last = float(fine[fine < first].max()) if len(oom) and (fine < first).any() else (
            float(fine.max()) if len(fine) else math.nan)
        if first == first:
            v = CONFIRMED if doc_len / WITHIN <= first <= doc_len * WITHIN else REFUTED
        elif last == last and last > doc_len * WITHIN:
            v = REFUTED
        else:
            v = NOT_MEASURED
        others = d[(num(d, "config.budget_mb") == budget) & (col(d, "config.learner") != learner)
                   & (col(d, "status") == "ok")]
        also = "; ".join(f"{lr} ran at T={fmt_T(t)}" for lr, t in
                         sorted(set(zip(col(others, "config.learner"), num(others, "config.seq_len")))))
        texts.append(f"under {budget:g} MiB on {machine_label(g)}: {learner} last ok T="
                     f"{fmt_T(last) if last == last else '-'}, first OOM T={fmt_T(first) if first == first else 'none'}"
                     f" (documented {fmt_T(doc_len)}: {v})" + (f"; {also}" if also else ""))
        verdicts.append(v)
    got = [v for v in verdicts if v != NOT_MEASURED]
    v = NOT_MEASURED if not got else (got[0] if len(set(got)) == 1 else PARTIAL)
    return Evidence(v, "; ".join(texts), show(mine, (PEAK,)), "memory",
                    [f"a direct run confirms if its first out-of-memory length lies within {WITHIN:g}x of "
                     f"T={fmt_T(doc_len)}; the budget is the preset's, stated before the run"])


def _direct(df, learner, task):
    """(consistent: bool or None, notes, rows) of the direct run under a stated --budget-mb: does the
    tensor-bytes fit put T* between the last length that ran and the first that ran out?"""
    d = select(df, kind="measure", learner=learner, task=task, status=None)
    d = d[num(d, "config.budget_mb").notna()] if len(d) else d
    if len(d) == 0:
        return None, ["no direct run under a --budget-mb budget (docs-budget)"], []
    c = pick(curves(df, PEAK, (learner,), task=task), learner)
    notes, ok = [], []
    for budget, g in d.groupby(num(d, "config.budget_mb"), sort=True):
        T, st = num(g, "config.seq_len"), col(g, "status")
        oom = T[st == "oom"]
        fine = T[st == "ok"]
        first = float(oom.min()) if len(oom) else math.nan
        last = float(fine[fine < first].max()) if len(oom) and (fine < first).any() else (
            float(fine.max()) if len(fine) else math.nan)
        pred = t_star(c, budget * MiB) if c is not None else math.nan
        msg = (f"direct run under {budget:g} MiB on {machine_label(g)}: last ok T={fmt_T(last) if last == last else '-'}, "
               f"first OOM T={fmt_T(first) if first == first else 'none'}; the tensor-bytes fit predicts "
               f"T*={fmt_T(pred) if math.isfinite(pred) else 'n/a'} (the OOM comes from the address-space limit, "
               "which counts more than tensor bytes)")
        notes.append(msg)
        if math.isfinite(pred) and first == first:
            ok.append(pred >= first / WITHIN and (last != last or pred <= first * WITHIN))
    consistent = all(ok) if ok else None
    if consistent is False:
        notes.append(f"the fit misses the direct failure by more than {WITHIN:g}x: at best PARTIAL")
    return consistent, notes, show(d, (PEAK,))
