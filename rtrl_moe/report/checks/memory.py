"""Memory checks: constant or growing in T, the RTRL learner state against H x P, BPTT's saved
bytes against the hidden states, and the documents' ratios between the two.

A little over 400 lines: the shape and the magnitude checks share state_arith and measured_state,
and the table-row checks merge both, so they stay together."""
from __future__ import annotations

import numpy as np

from ..curves import CONSTANT_GROWTH, curves, matched, per_learner, pick, rows_of
from ..data import (
    PEAK,
    RTRL_ALL,
    SAVED,
    STATE,
    col,
    doc_mask,
    itemsize,
    machine_label,
    num,
    select,
)
from ..evidence import (
    CONFIRMED,
    MAX_ROWS,
    NOT_MEASURED,
    PARTIAL,
    REFUTED,
    Evidence,
    band_verdict,
    merge,
    nm,
    show,
)
from ..fmt import fmt_bytes, fmt_T, names


def _tracked(cs) -> list:
    """Notes on points whose live tensors were tracked over the first steps only."""
    out = []
    for cv in cs:
        ts = num(cv.rows, "config.track_steps")
        T = num(cv.rows, "config.seq_len")
        part = cv.rows[ts.notna() & (ts < T)]
        if len(part):
            out.append(f"{cv.learner}: live tensors tracked over the first {int(num(part, 'config.track_steps').min())} "
                       f"steps only at {len(part)} lengths (config.track_steps); the learner state at every step")
    return sorted(set(out))


RSS = "metrics.rss_peak"    # process RSS above the baseline before the run: the documents' "process peak" nearest


def _rss_beside(df, rep, task=None):
    """RSS above baseline of the representative series' learner at the same config, at its longest
    length (per sequence), or None: the second metric a documented memory magnitude is judged on."""
    rss = curves(df, RSS, (rep.learner,), task=task, min_len=1)
    same = [c for c in rss if c.key == rep.key] or rss
    c = pick(same, rep.learner)
    return (float(c.y[-1]) / c.batch, c) if c is not None else (None, None)


def memory_constant(learners=RTRL_ALL, field=PEAK, min_longest=None, task=None, doc_abs=None, rep=None):
    """Memory constant in T (growth shortest -> longest under 2%) for every series of learners,
    over every measured length (no window is dropped: a rule chosen after seeing the data would
    decide the verdict).  Its measured figure is the value at its longest length of the series of
    ``rep``, the learner the claim is about (declared; with one learner, that one); without it the
    check has no figure for a rule's magnitude.  RSS above baseline at the same point rides along
    (Evidence.alt_value): judge.py applies the rule's band to both metrics."""
    learners = tuple(learners)
    rep = rep or (learners[0] if len(learners) == 1 else None)

    def check(df):
        cs = curves(df, field, learners, task=task)
        if not cs:
            return nm(f"no ok `measure` rows of {names(learners)} with {field} at two or more lengths",
                      figure="memory")
        const = [c for c in cs if c.constant]
        reps = per_learner(cs)
        text = "; ".join(c.describe() for c in reps.values())
        longest = max(c.T[-1] for c in cs)
        notes = [f"field {field}; {len(cs)} series; constant means |growth| < {CONSTANT_GROWTH:.0%}"] + _tracked(cs)
        notes += [f"not constant: {c.learner} [{c.key}] growth {c.growth:+.2%}" for c in cs if not c.constant]
        rc = pick(cs, rep) if rep else None
        val, alt = (None, None), {}
        if rc is not None:
            val = (float(rc.y[-1]) / rc.batch, "B")
            rss, _ = _rss_beside(df, rc, task)
            if rss is not None and field == PEAK:
                alt = {"alt_value": rss, "alt_metric": "rss_peak (RSS above baseline)"}
            if doc_abs:
                rss_t = f", RSS above baseline {fmt_bytes(rss)}" if rss is not None else ""
                notes.append(f"documented absolute value: {doc_abs} (the documents' machine, not named; their figure "
                             f"is torch.cuda.max_memory_allocated); ours for {rep}, the claim's learner: "
                             f"{fmt_bytes(val[0])} at T={fmt_T(rc.T[-1])} ({field}, the nearest CPU metric){rss_t} "
                             f"on {machine_label(rc.rows)}")
        elif doc_abs:
            notes.append(f"documented absolute value: {doc_abs}; no series of {rep or 'a declared learner'} to "
                         "compare it with")
        rows = rows_of(cs, (field, RSS))
        if len(const) == len(cs):
            if min_longest and longest < min_longest:
                return Evidence(PARTIAL, f"constant up to T={fmt_T(longest)}, but the claim is about "
                                f"T={fmt_T(min_longest)}, which was not measured. {text}",
                                rows, "memory", notes, *val, **alt)
            return Evidence(CONFIRMED, text, rows, "memory", notes, *val, **alt)
        if const:
            return Evidence(PARTIAL, text, rows, "memory", notes, *val, **alt)
        return Evidence(REFUTED, text, rows, "memory", notes, *val, **alt)
    return check


def memory_grows(learner="bptt", field=PEAK, doc_slope=None, linear=True, task=None):
    """Memory grows with T (growth >= 2%), and linearly (line fit r2 >= 0.98) if linear."""

    def check(df):
        cs = curves(df, field, (learner,), task=task)
        if not cs:
            return nm(f"no ok `measure` rows of {learner} with {field} at two or more lengths", figure="memory")
        grow = [c for c in cs if c.growth >= CONSTANT_GROWTH]
        lin = [c for c in grow if len(c.T) < 3 or c.fit()[2] >= 0.98]
        rep = pick(cs, learner)
        b, a, r2 = rep.fit()
        text = f"{rep.describe()}; line fit r2={r2:.4f}"
        notes = [f"field {field}; {len(cs)} series, {len(grow)} growing, {len(lin)} growing linearly (r2 >= 0.98)"]
        alt = {}
        if doc_slope is not None:
            rss = [c for c in curves(df, RSS, (learner,), task=task) if c.key == rep.key]
            rb = rss[0].fit()[0] / rss[0].batch if rss and field == PEAK else None
            if rb is not None:
                alt = {"alt_value": rb, "alt_metric": "slope of rss_peak (RSS above baseline)"}
            notes.append(f"documented slope {fmt_bytes(doc_slope)}/token on the documents' machine (their figure is "
                         f"torch.cuda.max_memory_allocated); ours {fmt_bytes(b)}/token ({field}, the nearest CPU "
                         f"metric){f', RSS {fmt_bytes(rb)}/token' if rb is not None else ''} on {machine_label(rep.rows)}")
        ok = lin if linear else grow
        if len(ok) == len(cs):
            v = CONFIRMED
        elif grow:
            v = PARTIAL
        else:
            v = REFUTED
        return Evidence(v, text, rows_of(cs, (field, RSS)), "memory", notes, b / rep.batch, "B/token", **alt)
    return check


def shape_pair(const_learners=RTRL_ALL, grow_learner="bptt", doc_abs=None, rep=None):
    c = memory_constant(const_learners, doc_abs=doc_abs, rep=rep)
    g = memory_grows(grow_learner)

    def check(df):
        return merge([c(df), g(df)], [f"{names(const_learners)} constant", f"{grow_learner} grows"], "memory",
                     value_of=0)
    return check


# ---------------------------------------------------------------- arithmetic + magnitude
def state_arith(df):
    """H, P, itemsize and H x P x itemsize from the records of the RTRL learners."""
    # H and P are properties of the model: agreement records of the same config carry them too
    d = select(df, kind=("measure", "agree"), learner=RTRL_ALL + ("sparse-rtrl-readonly",))
    if len(d) == 0:
        return None
    d = d[num(d, "metrics.H").notna() & num(d, "metrics.n_state_params").notna()]
    if len(d) == 0:
        return None
    doc = d[doc_mask(d)]
    g = doc if len(doc) else d
    g = g.iloc[np.argsort((col(g, "config.kind") != "measure").to_numpy(), kind="stable")]   # measure first
    r = g.iloc[0]
    H, P = int(num(g, "metrics.H").iloc[0]), int(num(g, "metrics.n_state_params").iloc[0])
    # the itemsize of a memory measurement; an agreement record (float64 by design) only lends H
    # and P, and the documents' figures are float32
    dt = str(r.get("config.dtype") or "float32") if r.get("config.kind") == "measure" else "float32"
    s = itemsize(dt)
    model = str(r["_model"]) if "_model" in g.columns else None
    return {"H": H, "P": P, "itemsize": s, "dtype": dt, "bytes": H * P * s, "rows": g.head(1),
            "doc_config": len(doc) > 0, "model": model}


def arith_line(a):
    return (f"sensitivity matrix = H x P = {a['H']} x {a['P']:,} entries x {a['itemsize']} B ({a['dtype']}) "
            f"= {fmt_bytes(a['bytes'])} per sequence (H = metrics.H, P = metrics.n_state_params"
            f"{', the documents config d_model=32, n_slots=4' if a['doc_config'] else ''})")


def measured_state(df, learner="rtrl", model=None, base=None):
    """RTRL learner state per sequence (median over T) of one series of ``learner`` (declared by
    the claim): the one measured on the given config (base: a SeriesKey's config, or model: its
    model JSON) where there is one, else the representative one."""
    learners = (learner,)
    cs = curves(df, STATE, learners, min_len=1)
    if base is not None:
        cs = [x for x in cs if x.key.config == base]
    elif model is not None and any(x.key.model == model for x in cs):
        cs = [x for x in cs if x.key.model == model]
    c = pick(cs, learner)
    if c is None:
        return None, None
    return float(np.median(c.y)) / c.batch, c


def rtrl_magnitude(doc_bytes, doc_text, per_H=False, learner="rtrl"):
    """A documented RTRL memory figure against H x P (arithmetic) and the measured learner state.

    per_H: the documented figure is H x itemsize (the hidden state), computed from the records."""

    def check(df):
        a = state_arith(df)
        if a is None:
            return nm("no `measure` record of an RTRL learner with metrics.H and metrics.n_state_params, "
                      "so H x P cannot be computed")
        doc = a["H"] * a["itemsize"] if per_H else doc_bytes
        notes = [arith_line(a), f"documented: {doc_text} = {fmt_bytes(doc)}"]
        arith_ok = doc >= 0.5 * a["bytes"]
        meas, c = measured_state(df, learner, model=a["model"])
        rows = show(a["rows"], ("metrics.H", "metrics.n_state_params"))
        if meas is not None:
            notes.append(f"measured {learner} learner state (tensor_bytes_learner_state / batch): {fmt_bytes(meas)}")
            rows = rows_of([c], (STATE,))
        text = (f"H x P = {fmt_bytes(a['bytes'])} (arithmetic); measured {learner} state "
                f"{fmt_bytes(meas) if meas is not None else 'not measured'}; documented {fmt_bytes(doc)}")
        if not arith_ok:
            notes.append(f"documented figure is {a['bytes'] / doc:,.0f}x smaller than the sensitivity matrix alone")
            return Evidence(REFUTED, text, rows, "memory", notes, meas, "B")
        if meas is None:
            return Evidence(NOT_MEASURED, text + " (arithmetic does not refute it; no learner-state measurement)",
                            rows, "memory", notes)
        return Evidence(band_verdict(meas / doc), text, rows, "memory", notes, meas, "B")
    return check


def rtrl_const_and_magnitude(doc_bytes, doc_text, per_H=False, learners=RTRL_ALL):
    c = memory_constant(learners)      # the shape part: every RTRL learner, no figure (the magnitude part has it)
    m = rtrl_magnitude(doc_bytes, doc_text, per_H=per_H)

    def check(df):
        return merge([c(df), m(df)], ["constant in T", "magnitude"], "memory", value_of=1)
    return check


def sensitivities_stored(learner="rtrl", claim_stored=False):
    """'Sensitivities ... (not stored)': the learner state holds at least H x P entries?
    claim_stored: the claim says they ARE held (002's "Maintains parameter sensitivities P_t")."""

    def check(df):
        a = state_arith(df)
        meas, c = measured_state(df, learner, model=a["model"] if a else None)
        if a is None or meas is None:
            return nm(f"no `measure` record of {learner} with tensor_bytes_learner_state, metrics.H and "
                      "metrics.n_state_params")
        notes = [arith_line(a), f"measured {learner} learner state per sequence: {fmt_bytes(meas)}"]
        text = f"{learner} holds {fmt_bytes(meas)} of learner state; H x P = {fmt_bytes(a['bytes'])}"
        stored = meas >= 0.5 * a["bytes"]
        v = (CONFIRMED if stored else REFUTED) if claim_stored else (REFUTED if stored else CONFIRMED)
        return Evidence(v, text, rows_of([c], (STATE,)), "memory", notes, meas, "B")
    return check


def _H(df, default=128):
    h = num(select(df, kind=("measure", "agree")), "metrics.H").dropna()
    d = select(df, kind=("measure", "agree"))
    doc = d[doc_mask(d)] if len(d) else d
    hd = num(doc, "metrics.H").dropna() if len(doc) else h
    if len(hd):
        return int(hd.iloc[0]), "metrics.H"
    if len(h):
        return int(h.iloc[0]), "metrics.H"
    return default, "the documents' H = 32 x 4"


def bptt_saved_curve(df, field=SAVED):
    return pick(curves(df, field, ("bptt",)), "bptt")


def bptt_magnitude(T, doc_bytes, doc_text, doc_product=None, product_text=None, itemsize_doc=4):
    """A documented BPTT memory figure at length T.

    Arithmetic: the figure is at least T x H x itemsize (the hidden states BPTT must keep), and, if
    the document multiplies factors, the product is right.  Measured: the bytes autograd saved for
    backward (tensor_bytes_saved_peak / batch) at T, measured or from the line fit."""

    def check(df):
        notes = [f"documented: {doc_text} = {fmt_bytes(doc_bytes)} at T={fmt_T(T)}"]
        if doc_product is not None:
            notes.append(f"the document's own product {product_text} = {fmt_bytes(doc_product)}")
            if abs(doc_bytes - doc_product) / doc_product > 0.10:
                return Evidence(REFUTED, f"the product {product_text} is {fmt_bytes(doc_product)}, not "
                                f"{fmt_bytes(doc_bytes)}", [], "memory", notes)
        H, hsrc = _H(df)
        lb = T * H * itemsize_doc
        notes.append(f"lower bound T x H x {itemsize_doc} B = {fmt_T(T)} x {H} x {itemsize_doc} = {fmt_bytes(lb)} "
                     f"(H from {hsrc})")
        if doc_bytes < 0.9 * lb:
            return Evidence(REFUTED, f"documented {fmt_bytes(doc_bytes)} is below the hidden states alone "
                            f"({fmt_bytes(lb)})", [], "memory", notes)
        c = bptt_saved_curve(df)
        if c is None:
            return Evidence(NOT_MEASURED, f"arithmetic holds ({fmt_bytes(doc_bytes)} >= {fmt_bytes(lb)}); no bptt "
                            "`measure` rows with tensor_bytes_saved_peak at two or more lengths", [], "memory", notes)
        v, how = c.at(T)
        v /= c.batch
        b, a, r2 = c.fit()
        notes.append(f"measured bptt saved-for-backward: slope {fmt_bytes(b / c.batch)}/token (r2={r2:.4f}); at "
                     f"T={fmt_T(T)}: {fmt_bytes(v)} ({how}) on {machine_label(c.rows)}")
        ratio = v / doc_bytes
        text = f"ours {fmt_bytes(v)} at T={fmt_T(T)} ({how}); documented {fmt_bytes(doc_bytes)} ({ratio:.3g}x)"
        verdict = band_verdict(ratio)
        if verdict != CONFIRMED:
            notes.append("the arithmetic holds but the measured bytes differ by more than 2x (PARTIAL within 10x, "
                         "REFUTED beyond)")
        return Evidence(verdict, text, rows_of([c], (SAVED, PEAK)), "memory", notes, v, "B")
    return check


def bptt_per_token(doc_bytes_per_token, doc_text):
    """A documented BPTT growth rate (bytes/token) against the measured saved-bytes slope."""

    def check(df):
        H, hsrc = _H(df)
        notes = [f"documented: {doc_text}, i.e. {fmt_bytes(doc_bytes_per_token)}/token",
                 f"arithmetic: H x 4 B = {H} x 4 = {fmt_bytes(H * 4)}/token (hidden states only; H from {hsrc})"]
        if abs(doc_bytes_per_token - H * 4) / (H * 4) > 0.10 and doc_bytes_per_token < H * 4:
            return Evidence(REFUTED, "below the hidden states alone", [], "memory", notes)
        c = bptt_saved_curve(df)
        if c is None:
            return Evidence(NOT_MEASURED, "arithmetic holds; no bptt `measure` rows with tensor_bytes_saved_peak "
                            "at two or more lengths", [], "memory", notes)
        b, a, r2 = c.fit()
        b /= c.batch
        notes.append(f"measured slope {fmt_bytes(b)}/token (r2={r2:.4f}) on {machine_label(c.rows)}")
        ratio = b / doc_bytes_per_token
        text = f"ours {fmt_bytes(b)}/token; documented {fmt_bytes(doc_bytes_per_token)}/token ({ratio:.3g}x)"
        return Evidence(band_verdict(ratio), text, rows_of([c], (SAVED,)), "memory", notes, b, "B/token")
    return check


def memory_ratio(T, doc_ratio, doc_bptt, doc_rtrl, doc_text, learner="sparse-rtrl"):
    """'BPTT needs X, RTRL needs Y (R x smaller)': internal arithmetic, H x P arithmetic, measured
    (the documents' RTRL is their sparse BlockRTRL: sparse-rtrl's learner state by default)."""

    def check(df):
        notes = [f"documented: {doc_text}"]
        internal = doc_bptt / doc_rtrl
        notes.append(f"the document's own figures give {fmt_bytes(doc_bptt)} / {fmt_bytes(doc_rtrl)} = {internal:,.4g}x")
        if abs(internal - doc_ratio) / doc_ratio > 0.10:
            return Evidence(REFUTED, f"the document's own figures give {internal:,.4g}x, not {doc_ratio:,.4g}x",
                            [], "crossover", notes)
        a = state_arith(df)
        if a is None:
            return nm("no `measure` record of an RTRL learner with metrics.H and metrics.n_state_params", notes,
                      "crossover")
        notes.append(arith_line(a))
        arith = doc_bptt / a["bytes"]
        notes.append(f"with RTRL's sensitivity matrix counted: {fmt_bytes(doc_bptt)} / {fmt_bytes(a['bytes'])} = "
                     f"{arith:,.4g}x")
        c = bptt_saved_curve(df)
        meas_state, sc = measured_state(df, learner, base=c.key.config) if c is not None else (None, None)
        rows = show(a["rows"], ("metrics.H", "metrics.n_state_params"))
        meas = None
        if c is not None and not meas_state:
            notes.append("no RTRL learner state measured on the config of the bptt curve: no measured ratio")
        if c is not None and meas_state:
            v, how = c.at(T)
            v /= c.batch
            meas = v / meas_state
            notes.append(f"measured on one config: bptt saved {fmt_bytes(v)} at T={fmt_T(T)} ({how}) / {sc.learner} state "
                         f"{fmt_bytes(meas_state)} = {meas:,.4g}x")
            rows = rows_of([c, sc], (SAVED, STATE))
        text = (f"arithmetic with H x P: {arith:,.4g}x; measured: "
                f"{f'{meas:,.4g}x' if meas is not None else 'not measured'}; documented {doc_ratio:,.4g}x")
        if not (0.5 <= doc_ratio / arith <= 2):
            return Evidence(REFUTED, text, rows, "crossover", notes)
        if meas is None:
            return Evidence(NOT_MEASURED, text, rows, "crossover", notes)
        return Evidence(band_verdict(meas / doc_ratio), text, rows, "crossover", notes, meas, "x")
    return check


def memory_table_row(T, doc_bptt, doc_rtrl, doc_ratio, text):
    parts = [bptt_magnitude(T, doc_bptt, f"BPTT {text[0]}"),
             rtrl_magnitude(doc_rtrl, f"RTRL {text[1]}"),
             memory_ratio(T, doc_ratio, doc_bptt, doc_rtrl, f"savings {text[2]}")]

    def check(df):
        return merge([p(df) for p in parts], ["BPTT column", "RTRL column", "savings column"], "memory",
                     value_of=0)
    return check


def product_only(doc_bytes, doc_product, product_text, H_needed=None):
    """A product of the document's own factors, for a model we did not measure."""

    def check(df):
        notes = [f"the document's product {product_text} = {fmt_bytes(doc_product)}; documented {fmt_bytes(doc_bytes)}"]
        if abs(doc_bytes - doc_product) / doc_product > 0.10:
            return Evidence(REFUTED, f"{product_text} = {fmt_bytes(doc_product)}, not {fmt_bytes(doc_bytes)}",
                            [], None, notes)
        hs = num(select(df, kind="measure"), "metrics.H")
        if H_needed is not None and not (hs == H_needed).any():
            return Evidence(NOT_MEASURED, f"arithmetic holds ({fmt_bytes(doc_product)}); no measurement with "
                            f"H = {H_needed} in results/", [], None, notes)
        return Evidence(NOT_MEASURED, "arithmetic holds; the figure is about a model not measured", [], None, notes)
    return check


def internal_ratio(num_bytes, den_bytes, doc_ratio, text, H_state=None):
    """'A (R x smaller)': the ratio of the document's own figures, and RTRL's H x P for H_state."""

    def check(df):
        r = num_bytes / den_bytes
        notes = [f"{text}: {fmt_bytes(num_bytes)} / {fmt_bytes(den_bytes)} = {r:,.4g}x; documented {doc_ratio:,.4g}x"]
        if abs(r - doc_ratio) / doc_ratio > 0.10:
            return Evidence(REFUTED, f"the document's own figures give {r:,.4g}x, not {doc_ratio:,.4g}x",
                            [], None, notes)
        return Evidence(NOT_MEASURED, "arithmetic holds; the model is not measured", [], None, notes)
    return check


def h_value(doc_H=128, d_model=32, n_slots=4):
    def check(df):
        notes = [f"arithmetic: n_slots x d_model = {n_slots} x {d_model} = {n_slots * d_model}"]
        if n_slots * d_model != doc_H:
            return Evidence(REFUTED, f"{n_slots} x {d_model} = {n_slots * d_model}", [], None, notes)
        d = select(df, kind=("measure", "agree"))   # H is a property of the model config
        if len(d):
            d = d[doc_mask(d)]
            d = d[num(d, "metrics.H").notna()]
        if len(d) == 0:
            return Evidence(NOT_MEASURED, "arithmetic holds; no `measure` record of the documents' config "
                            "(d_model=32, n_slots=4) with metrics.H", [], None, notes)
        hs = sorted(set(int(h) for h in num(d, "metrics.H")))
        v = CONFIRMED if hs == [doc_H] else REFUTED
        return Evidence(v, f"metrics.H = {', '.join(map(str, hs))} in {len(d)} records", show(d, ("metrics.H",)),
                        None, notes)
    return check


def no_overhead(max_ratio=1.10, base="rtrl", variants=("sparse-rtrl", "tree-rtrl"), field=STATE):
    def check(df):
        parts, rows, texts = [], [], []
        for v in variants:
            m, r = matched(df, v, base, field=field, iqr=None)
            if len(m) == 0:
                continue
            ratio = float((m["va"] / m["vb"]).max())
            texts.append(f"{v}/{base}: up to {ratio:.3g}x")
            parts.append(ratio <= max_ratio)
            rows += show(r, (field,))
        if not parts:
            return nm(f"no `measure` pairs of {names(variants)} with {base} (same run and config) with {field}",
                      figure="memory")
        v = CONFIRMED if all(parts) else (PARTIAL if any(parts) else REFUTED)
        return Evidence(v, "; ".join(texts) + f" ({field})", rows[:MAX_ROWS], "memory",
                        [f"no significant overhead = at most {max_ratio:g}x the dense RTRL learner state"])
    return check
