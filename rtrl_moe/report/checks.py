"""Check functions: each takes the results DataFrame and returns an Evidence.

A check never bends to pass: it computes what the claim says, what the arithmetic says and what
was measured, and states the verdict with the numbers behind it.  Factories below return the
callables the claims registry (claims.py) stores.
"""
from __future__ import annotations

import contextlib
import json
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .data import (
    col,
    doc_mask,
    itemsize,
    kwarg,
    kwargs_json,
    machine_label,
    model_field,
    num,
    select,
    series_key,
)

CONFIRMED = "CONFIRMED"
REFUTED = "REFUTED"
PARTIAL = "PARTIAL"
NOT_MEASURED = "NOT MEASURED"
VERDICTS = (CONFIRMED, REFUTED, PARTIAL, NOT_MEASURED)

EXACT_TOL = 1e-10          # conventions: "exact" = relative error <= 1e-10 in float64
CONSTANT_GROWTH = 0.02     # conventions: constant = growth shortest -> longest under 2%
MIN_SEEDS = 3              # accuracy claims need this many seeds for a spread
DOC_LR = 2e-3              # the documents' learning rate, used where a claim names none
MAX_ROWS = 40              # evidence rows shown per claim

RTRL_ALL = ("rtrl", "sparse-rtrl", "tree-rtrl")
PEAK = "metrics.tensor_bytes_peak"
SAVED = "metrics.tensor_bytes_saved_peak"
STATE = "metrics.tensor_bytes_learner_state"
TSTEP = "metrics.time_step_median_ns"
TIQR = "metrics.time_step_iqr_ns"
MiB = 2 ** 20


@dataclass
class Evidence:
    verdict: str
    measured_text: str
    rows: list = field(default_factory=list)     # list of dicts (display rows)
    figure: str | None = None                    # figure kind the verdict rests on
    notes: list = field(default_factory=list)    # the computation, line by line

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")


# ---------------------------------------------------------------- formatting
def fmt_bytes(b) -> str:
    if b is None or (isinstance(b, float) and not math.isfinite(b)):
        return "n/a"
    b = float(b)
    sign = "-" if b < 0 else ""
    b = abs(b)
    for unit, scale in (("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if b >= scale:
            return f"{sign}{b / scale:.3g} {unit}"
    return f"{sign}{b:.0f} B"


def fmt_num(x, digits=3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}g}"


def fmt_slope(b) -> str:
    """Bytes per token; a fit residue below 1e-3 B/token is shown as 0."""
    if b is None or not math.isfinite(b):
        return "n/a"
    return "0" if abs(b) < 1e-3 else f"{b:.3g}"


def _per_T(T, r) -> str:
    s = pd.Series(np.asarray(r, float), index=np.asarray(T, float)).groupby(level=0).median().sort_index()
    return ", ".join(f"T={fmt_T(t)}: {x:.3g}x" for t, x in s.items())


def fmt_T(T) -> str:
    return f"{int(T):,}"


def fmt_pct(x) -> str:
    return f"{100 * x:.1f}%"


def names(learners) -> str:
    return ", ".join(learners) if not isinstance(learners, str) else learners


DISPLAY = ("_source", "run_id", "config.kind", "config.learner", "config.model_type", "config.task",
           "config.seq_len", "config.batch", "config.dtype", "config.device", "config.seed",
           "config.lr", "config.budget_mb", "status")


def show(df: pd.DataFrame, fields=()) -> list:
    """Rows as display dicts: identifying columns plus the fields the verdict rests on."""
    if df is None or len(df) == 0:
        return []
    cols = [c for c in DISPLAY if c in df.columns] + [f for f in fields if f in df.columns]
    head = df.head(MAX_ROWS)
    kws = kwargs_json(head)
    out = []
    for (_, r), kw in zip(head[cols].iterrows(), kws):
        d = {}
        for c in cols:
            v = r[c]
            if v is None or (isinstance(v, float) and math.isnan(v)):
                v = ""
            elif isinstance(v, float):
                v = f"{v:.6g}"
            name = c.split(".", 1)[-1] if c.startswith(("config.", "metrics.")) else c
            d["source" if name == "_source" else name] = str(v)
        if kw not in ("{}", ""):
            d["kwargs"] = kw.strip("{}").replace('"', "").replace(" ", "")
        out.append(d)
    if len(df) > MAX_ROWS:
        out.append({"source": f"... {len(df) - MAX_ROWS} more rows"})
    return out


def nm(reason: str, notes=(), figure=None) -> Evidence:
    return Evidence(NOT_MEASURED, reason, [], figure, list(notes))


def combine(parts: list, labels=None) -> str:
    """Verdict of a claim made of several parts (all must hold)."""
    v = [p.verdict for p in parts if p.verdict != NOT_MEASURED]
    if not v:
        return NOT_MEASURED
    if all(x == REFUTED for x in v):
        return REFUTED
    if all(x == CONFIRMED for x in v) and len(v) == len(parts):
        return CONFIRMED
    return PARTIAL


def merge(parts: list, labels: list, figure=None) -> Evidence:
    verdict = combine(parts)
    text = "; ".join(f"{lab}: {p.verdict} - {p.measured_text}" for lab, p in zip(labels, parts))
    rows, notes = [], []
    for lab, p in zip(labels, parts):
        rows += p.rows
        notes += [f"[{lab}] {n}" for n in p.notes]
    return Evidence(verdict, text, rows[:MAX_ROWS], figure or next((p.figure for p in parts if p.figure), None), notes)


# ---------------------------------------------------------------- curves
def _is_doc_config(df: pd.DataFrame) -> bool:
    return bool(len(df)) and bool(doc_mask(df).all())


@dataclass
class Curve:
    learner: str
    key: str
    T: np.ndarray
    y: np.ndarray
    rows: pd.DataFrame

    @property
    def growth(self) -> float:
        if self.y[0] == 0:
            return 0.0 if self.y[-1] == 0 else math.inf
        return (self.y[-1] - self.y[0]) / self.y[0]

    @property
    def constant(self) -> bool:
        return abs(self.growth) < CONSTANT_GROWTH

    def fit(self):
        """Least-squares line y = a + b T: (slope b, intercept a, r2)."""
        if len(self.T) < 2:
            return (math.nan, float(self.y[0]) if len(self.y) else math.nan, math.nan)
        b, a = np.polyfit(self.T, self.y, 1)
        pred = a + b * self.T
        ss_tot = float(((self.y - self.y.mean()) ** 2).sum())
        ss_res = float(((self.y - pred) ** 2).sum())
        r2 = 1.0 if ss_tot == 0 else 1 - ss_res / ss_tot
        return float(b), float(a), r2

    def at(self, T: float):
        """Value at T: measured if T was measured, else from the line fit. (value, how)."""
        hit = np.where(self.T == T)[0]
        if len(hit):
            return float(self.y[hit[0]]), "measured"
        b, a, _ = self.fit()
        if not math.isfinite(b):
            return math.nan, "n/a"
        how = "extrapolated" if T > self.T[-1] or T < self.T[0] else "interpolated"
        return float(a + b * T), f"{how} from the line fit over T={fmt_T(self.T[0])}..{fmt_T(self.T[-1])}"

    @property
    def doc_config(self) -> bool:
        return _is_doc_config(self.rows)

    @property
    def batch(self) -> float:
        b = num(self.rows, "config.batch").dropna()
        return float(b.iloc[0]) if len(b) else 1.0

    @property
    def dtype(self) -> str:
        d = col(self.rows, "config.dtype").dropna()
        return str(d.iloc[0]) if len(d) else "float32"

    def describe(self, field_label="") -> str:
        b, a, r2 = self.fit()
        return (f"{self.learner}: {fmt_bytes(self.y[0])} at T={fmt_T(self.T[0])} -> {fmt_bytes(self.y[-1])} "
                f"at T={fmt_T(self.T[-1])} (growth {self.growth:+.2%}, slope {fmt_slope(b)} B/token, "
                f"{len(self.T)} lengths)")


_MEMO: dict = {"df": None, "store": {}}


@contextlib.contextmanager
def memo(df: pd.DataFrame):
    """Within the block, curves() of this very DataFrame are computed once per argument set."""
    _MEMO["df"], _MEMO["store"] = df, {}
    try:
        yield
    finally:
        _MEMO["df"], _MEMO["store"] = None, {}


def curves(df, field, learners, kind="measure", task=None, device=None, min_len=2) -> list:
    active = _MEMO["df"] is df
    key = (field, learners if isinstance(learners, str) else tuple(learners), kind, task, device, min_len)
    if active and key in _MEMO["store"]:
        return list(_MEMO["store"][key])
    out = _curves(df, field, learners, kind, task, device, min_len)
    if active:
        _MEMO["store"][key] = list(out)
    return out


def _curves(df, field, learners, kind, task, device, min_len) -> list:
    d = select(df, kind=kind, learner=learners, task=task, device=device)
    if len(d) == 0:
        return []
    d = d[num(d, field).notna()]
    if len(d) == 0:
        return []
    out = []
    keys = series_key(d)
    for (learner, key), g in d.groupby([col(d, "config.learner").astype(str), keys], sort=True):
        s = num(g, field).groupby(num(g, "config.seq_len")).median().sort_index()
        if len(s) >= min_len:
            out.append(Curve(learner, key, s.index.to_numpy(float), s.to_numpy(float), g))
    return out


def pick(cs: list):
    """The representative curve: the documents' config first, then batch 1, then most lengths."""
    if not cs:
        return None
    return sorted(cs, key=lambda c: (not c.doc_config, c.batch != 1, -len(c.T), c.learner, c.key))[0]


def per_learner(cs: list) -> dict:
    out = {}
    for c in cs:
        out.setdefault(c.learner, []).append(c)
    return {k: pick(v) for k, v in sorted(out.items())}


def _rows_of(cs, fields):
    if not cs:
        return []
    return show(pd.concat([c.rows for c in cs]), fields)


# ---------------------------------------------------------------- memory shape
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


def _past_tree_window(df):
    """Rows that are not tree-rtrl runs shorter than its Jacobian buffer: tree-rtrl's state fills
    up over its first ``n`` steps (default 16) by design, so only longer runs speak to growth in T."""
    if len(df) == 0:
        return df
    n = pd.to_numeric(kwarg(df, "n"), errors="coerce").fillna(16)
    short = (col(df, "config.learner") == "tree-rtrl") & (num(df, "config.seq_len") <= n)
    return df[~short]


def memory_constant(learners=RTRL_ALL, field=PEAK, min_longest=None, task=None, doc_abs=None):
    """Memory constant in T (growth shortest -> longest under 2%) for every series of learners;
    tree-rtrl from past its buffer window on."""
    learners = tuple(learners)

    def check(df):
        cs = curves(_past_tree_window(df), field, learners, task=task)
        if not cs:
            return nm(f"no ok `measure` rows of {names(learners)} with {field} at two or more lengths",
                      figure="memory")
        const = [c for c in cs if c.constant]
        reps = per_learner(cs)
        text = "; ".join(c.describe() for c in reps.values())
        longest = max(c.T[-1] for c in cs)
        notes = [f"field {field}; {len(cs)} series; constant means |growth| < {CONSTANT_GROWTH:.0%}"] + _tracked(cs)
        notes += [f"not constant: {c.learner} [{c.key}] growth {c.growth:+.2%}" for c in cs if not c.constant]
        if doc_abs:
            rep = pick(cs)
            rss = curves(df, "metrics.rss_peak", (rep.learner,), task=task, min_len=1)
            rss_t = f", RSS above baseline {fmt_bytes(pick(rss).y[-1])}" if rss else ""
            notes.append(f"documented absolute value: {doc_abs} (the documents' machine, not named); ours: "
                         f"{fmt_bytes(rep.y[-1])} at T={fmt_T(rep.T[-1])} ({field}){rss_t} on {machine_label(rep.rows)}")
        if len(const) == len(cs):
            if min_longest and longest < min_longest:
                return Evidence(PARTIAL, f"constant up to T={fmt_T(longest)}, but the claim is about "
                                f"T={fmt_T(min_longest)}, which was not measured. {text}",
                                _rows_of(cs, (field,)), "memory", notes)
            return Evidence(CONFIRMED, text, _rows_of(cs, (field,)), "memory", notes)
        if const:
            return Evidence(PARTIAL, text, _rows_of(cs, (field,)), "memory", notes)
        return Evidence(REFUTED, text, _rows_of(cs, (field,)), "memory", notes)
    return check


def memory_grows(learner="bptt", field=PEAK, doc_slope=None, linear=True, task=None):
    """Memory grows with T (growth >= 2%), and linearly (line fit r2 >= 0.98) if linear."""

    def check(df):
        cs = curves(df, field, (learner,), task=task)
        if not cs:
            return nm(f"no ok `measure` rows of {learner} with {field} at two or more lengths", figure="memory")
        grow = [c for c in cs if c.growth >= CONSTANT_GROWTH]
        lin = [c for c in grow if len(c.T) < 3 or c.fit()[2] >= 0.98]
        rep = pick(cs)
        b, a, r2 = rep.fit()
        text = f"{rep.describe()}; line fit r2={r2:.4f}"
        notes = [f"field {field}; {len(cs)} series, {len(grow)} growing, {len(lin)} growing linearly (r2 >= 0.98)"]
        if doc_slope is not None:
            notes.append(f"documented slope {fmt_bytes(doc_slope)}/token on the documents' machine; ours "
                         f"{fmt_bytes(b)}/token on {machine_label(rep.rows)}")
        ok = lin if linear else grow
        if len(ok) == len(cs):
            v = CONFIRMED
        elif grow:
            v = PARTIAL
        else:
            v = REFUTED
        return Evidence(v, text, _rows_of(cs, (field,)), "memory", notes)
    return check


def shape_pair(const_learners=RTRL_ALL, grow_learner="bptt", doc_abs=None):
    c = memory_constant(const_learners, doc_abs=doc_abs)
    g = memory_grows(grow_learner)

    def check(df):
        return merge([c(df), g(df)], [f"{names(const_learners)} constant", f"{grow_learner} grows"], "memory")
    return check


# ---------------------------------------------------------------- arithmetic + magnitude
def state_arith(df):
    """H, P, itemsize and H x P x itemsize from the records of the RTRL learners."""
    d = select(df, kind="measure", learner=RTRL_ALL + ("sparse-rtrl-readonly",))
    if len(d) == 0:
        return None
    d = d[num(d, "metrics.H").notna() & num(d, "metrics.n_state_params").notna()]
    if len(d) == 0:
        return None
    doc = d[doc_mask(d)]
    g = doc if len(doc) else d
    r = g.iloc[0]
    H, P = int(num(g, "metrics.H").iloc[0]), int(num(g, "metrics.n_state_params").iloc[0])
    dt = str(r.get("config.dtype") or "float32")
    s = itemsize(dt)
    model = str(r["_model"]) if "_model" in g.columns else None
    return {"H": H, "P": P, "itemsize": s, "dtype": dt, "bytes": H * P * s, "rows": g.head(1),
            "doc_config": len(doc) > 0, "model": model}


def _arith_line(a):
    return (f"sensitivity matrix = H x P = {a['H']} x {a['P']:,} entries x {a['itemsize']} B ({a['dtype']}) "
            f"= {fmt_bytes(a['bytes'])} per sequence (H = metrics.H, P = metrics.n_state_params"
            f"{', the documents config d_model=32, n_slots=4' if a['doc_config'] else ''})")


def _base(key: str) -> str:
    """A curve's key without the learner kwargs (the config the learners share)."""
    return key.rsplit("|", 1)[0]


def measured_state(df, learner="rtrl", model=None, base=None):
    """RTRL learner state per sequence (median over T) of one series: the one measured on the
    given config (base key, or model json) where there is one, else the representative one."""
    learners = RTRL_ALL if learner == "any" else (learner,)
    cs = curves(df, STATE, learners, min_len=1)
    if base is not None:
        cs = [x for x in cs if _base(x.key) == base]
    elif model is not None and any(model in x.key for x in cs):
        cs = [x for x in cs if model in x.key]
    c = pick(cs)
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
        notes = [_arith_line(a), f"documented: {doc_text} = {fmt_bytes(doc)}"]
        arith_ok = doc >= 0.5 * a["bytes"]
        meas, c = measured_state(df, learner, model=a["model"])
        rows = show(a["rows"], ("metrics.H", "metrics.n_state_params"))
        if meas is not None:
            notes.append(f"measured {learner} learner state (tensor_bytes_learner_state / batch): {fmt_bytes(meas)}")
            rows = _rows_of([c], (STATE,))
        text = (f"H x P = {fmt_bytes(a['bytes'])} (arithmetic); measured {learner} state "
                f"{fmt_bytes(meas) if meas is not None else 'not measured'}; documented {fmt_bytes(doc)}")
        if not arith_ok:
            notes.append(f"documented figure is {a['bytes'] / doc:,.0f}x smaller than the sensitivity matrix alone")
            return Evidence(REFUTED, text, rows, "memory", notes)
        if meas is None:
            return Evidence(NOT_MEASURED, text + " (arithmetic does not refute it; no learner-state measurement)",
                            rows, "memory", notes)
        v = CONFIRMED if 0.5 <= meas / doc <= 2 else PARTIAL
        return Evidence(v, text, rows, "memory", notes)
    return check


def rtrl_const_and_magnitude(doc_bytes, doc_text, per_H=False, learners=RTRL_ALL):
    c = memory_constant(learners)
    m = rtrl_magnitude(doc_bytes, doc_text, per_H=per_H)

    def check(df):
        return merge([c(df), m(df)], ["constant in T", "magnitude"], "memory")
    return check


def sensitivities_stored(learner="rtrl"):
    """'Sensitivities ... (not stored)': the learner state holds at least H x P entries?"""

    def check(df):
        a = state_arith(df)
        meas, c = measured_state(df, learner, model=a["model"] if a else None)
        if a is None or meas is None:
            return nm(f"no `measure` record of {learner} with tensor_bytes_learner_state, metrics.H and "
                      "metrics.n_state_params")
        notes = [_arith_line(a), f"measured {learner} learner state per sequence: {fmt_bytes(meas)}"]
        text = f"{learner} holds {fmt_bytes(meas)} of learner state; H x P = {fmt_bytes(a['bytes'])}"
        v = REFUTED if meas >= 0.5 * a["bytes"] else CONFIRMED
        return Evidence(v, text, _rows_of([c], (STATE,)), "memory", notes)
    return check


def _H(df, default=128):
    h = num(select(df, kind="measure"), "metrics.H").dropna()
    d = select(df, kind="measure")
    doc = d[doc_mask(d)] if len(d) else d
    hd = num(doc, "metrics.H").dropna() if len(doc) else h
    if len(hd):
        return int(hd.iloc[0]), "metrics.H"
    if len(h):
        return int(h.iloc[0]), "metrics.H"
    return default, "the documents' H = 32 x 4"


def bptt_saved_curve(df, field=SAVED):
    return pick(curves(df, field, ("bptt",)))


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
        verdict = CONFIRMED if 0.5 <= ratio <= 2 else PARTIAL
        if verdict == PARTIAL:
            notes.append("the arithmetic holds but the measured bytes differ by more than 2x: the figure "
                         "counts the hidden states only, not what autograd saves")
        return Evidence(verdict, text, _rows_of([c], (SAVED, PEAK)), "memory", notes)
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
        v = CONFIRMED if 0.5 <= ratio <= 2 else PARTIAL
        return Evidence(v, text, _rows_of([c], (SAVED,)), "memory", notes)
    return check


def memory_ratio(T, doc_ratio, doc_bptt, doc_rtrl, doc_text):
    """'BPTT needs X, RTRL needs Y (R x smaller)': internal arithmetic, H x P arithmetic, measured."""

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
        notes.append(_arith_line(a))
        arith = doc_bptt / a["bytes"]
        notes.append(f"with RTRL's sensitivity matrix counted: {fmt_bytes(doc_bptt)} / {fmt_bytes(a['bytes'])} = "
                     f"{arith:,.4g}x")
        c = bptt_saved_curve(df)
        meas_state, sc = measured_state(df, "any", base=_base(c.key)) if c is not None else (None, None)
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
            rows = _rows_of([c, sc], (SAVED, STATE))
        text = (f"arithmetic with H x P: {arith:,.4g}x; measured: "
                f"{f'{meas:,.4g}x' if meas is not None else 'not measured'}; documented {doc_ratio:,.4g}x")
        if not (0.5 <= doc_ratio / arith <= 2):
            return Evidence(REFUTED, text, rows, "crossover", notes)
        if meas is None:
            return Evidence(NOT_MEASURED, text, rows, "crossover", notes)
        return Evidence(CONFIRMED if 0.5 <= doc_ratio / meas <= 2 else PARTIAL, text, rows, "crossover", notes)
    return check


def memory_table_row(T, doc_bptt, doc_rtrl, doc_ratio, text):
    parts = [bptt_magnitude(T, doc_bptt, f"BPTT {text[0]}"),
             rtrl_magnitude(doc_rtrl, f"RTRL {text[1]}"),
             memory_ratio(T, doc_ratio, doc_bptt, doc_rtrl, f"savings {text[2]}")]

    def check(df):
        return merge([p(df) for p in parts], ["BPTT column", "RTRL column", "savings column"], "memory")
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
        d = select(df, kind="measure")
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


# ---------------------------------------------------------------- time
def matched(df, a, b, field=TSTEP, iqr=TIQR, task=None, device=None):
    """Pairs of points of learners a and b in the same run and config, per length."""
    cols = ["key", "T", "va", "ia", "vb", "ib", "ka", "kb", "run_id"]
    parts = []
    for lr in (a, b):
        d = select(df, kind="measure", learner=lr, task=task, device=device)
        d = d[num(d, field).notna()] if len(d) else d
        if len(d) == 0:
            return pd.DataFrame(columns=cols), pd.DataFrame()
        t = pd.DataFrame({"key": series_key(d, with_kwargs=False, with_run=True).values,
                          "T": num(d, "config.seq_len").values, "v": num(d, field).values,
                          "i": num(d, iqr).fillna(0).values if iqr else 0.0,
                          "k": kwargs_json(d).values,
                          "run_id": col(d, "run_id").astype(str).values})
        t = t.groupby(["key", "T", "k", "run_id"], as_index=False, sort=True).median()
        parts.append((t, d))
    (ta, da), (tb, db) = parts
    m = ta.merge(tb, on=["key", "T", "run_id"], suffixes=("a", "b"))
    m = m.sort_values(["key", "T", "ka", "kb"], kind="mergesort").reset_index(drop=True)
    rows = pd.concat([da, db])
    if len(m):
        pairs = set(zip(m["key"], m["T"]))
        k = zip(series_key(rows, with_kwargs=False, with_run=True), num(rows, "config.seq_len"))
        rows = rows[[kt in pairs for kt in k]]
    else:
        rows = rows.iloc[0:0]
    return m, rows


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
        r = m["va"] / m["vb"]
        lo = (m["va"] - m["ia"] / 2) / (m["vb"] + m["ib"] / 2)
        den = (m["vb"] - m["ib"] / 2).where(lambda s: s > 0, np.nan)
        hi = (m["va"] + m["ia"] / 2) / den
        med = float(np.median(r))
        per = _per_T(m["T"], r)
        text = (f"time({slow}) / time({fast}) median {med:.3g}x over {len(m)} pairs ({per}); "
                f"documented {doc:g}x")
        notes = [f"ratio of {field} within one run_id and config; band from the IQRs: "
                 f"{float(lo.min()):.3g}..{float(hi.max()):.3g}", f"tolerance: {doc / tol:.3g}..{doc * tol:.3g}x",
                 f"machine: {machine_label(rows)}"]
        if doc / tol <= med <= doc * tol:
            v = CONFIRMED
        else:
            same_dir = bool((lo > 1).all()) if doc > 1 else bool((hi < 1).all())
            v = PARTIAL if (partial_on_direction and same_dir) else REFUTED
        return Evidence(v, text, show(rows, (field, iqr)), figure, notes)
    return check


def speedup_range(lo_doc, hi_doc, slow="sparse-rtrl", fast="tree-rtrl", margin=1.10):
    """Every measured speedup (median per task) within the documented range."""

    def check(df):
        m, rows = matched(df, slow, fast)
        if len(m) == 0:
            return nm(f"no `measure` pair of {slow} and {fast} in the same run and config", figure="speedup")
        m = m.assign(r=m["va"] / m["vb"], task=m["key"].str.split("|").str[4])
        per = m.groupby("task", sort=True)["r"].median()
        inside = [(lo_doc / margin) <= x <= (hi_doc * margin) for x in per]
        text = "; ".join(f"{t}: {x:.3g}x" for t, x in per.items()) + f"; documented {lo_doc:g}-{hi_doc:g}x"
        v = CONFIRMED if all(inside) else (PARTIAL if any(inside) else REFUTED)
        return Evidence(v, text, show(rows, (TSTEP,)), "speedup",
                        [f"median of time({slow})/time({fast}) per task, same run and config; "
                         f"range widened by {margin:g}x for rounding"])
    return check


def time_linear(learners=("sparse-rtrl",), lo=0.8, hi=1.2):
    """Step time grows linearly in T: log-log slope over the longer half of the lengths."""

    def check(df):
        cs = curves(df, TSTEP, learners, min_len=3)
        if not cs:
            return nm(f"no ok `measure` rows of {names(learners)} with time at three or more lengths",
                      figure="time")
        exps, texts = [], []
        for c in per_learner(cs).values():
            k = len(c.T) // 2
            T, y = c.T[k:] if len(c.T) - k >= 2 else c.T, c.y[k:] if len(c.T) - k >= 2 else c.y
            e = float(np.polyfit(np.log(T), np.log(y), 1)[0])
            exps.append(e)
            texts.append(f"{c.learner}: step time ~ T^{e:.3f} over T={fmt_T(T[0])}..{fmt_T(T[-1])}")
        v = (CONFIRMED if all(lo <= e <= hi for e in exps) else
             PARTIAL if all(0.5 <= e <= 1.5 for e in exps) else REFUTED)
        return Evidence(v, "; ".join(texts), _rows_of(cs, (TSTEP,)), "time",
                        [f"linear = exponent in [{lo}, {hi}]; fit over the longer half of the lengths"])
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
        lo = (m["va"] - m["ia"] / 2) / (m["vb"] + m["ib"] / 2)
        r = m["va"] / m["vb"]
        per = _per_T(m["T"], r)
        text = f"time({slow_learner}) / time({fast_learner}): {per}"
        n_slow = int((lo > 1).sum())
        v = CONFIRMED if n_slow == len(m) else (PARTIAL if n_slow else REFUTED)
        return Evidence(v, text, show(rows, (TSTEP, TIQR)), "time",
                        [f"slower = ratio above 1 even at the edges of the IQRs; {n_slow} of {len(m)} pairs"])
    return check


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


def _pair_model(key: str) -> dict:
    """The model config of a matched pair (the JSON part of its key)."""
    try:
        return json.loads(key.split("|")[6])
    except (IndexError, ValueError):
        return {}


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
            ar = [arith_of(_pair_model(k)) for k in m["key"]]
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
        texts, ok, slow = [], [], []
        for (key, how, a), g in m.groupby(["key", "how", "arith"], sort=True):
            fr, tr = float(g["fr"].median()), float(g["tr"].median())
            texts.append(f"{how} = {a:.4g}: FLOPs sparse/dense {fr:.3g}x, time ({tfield}) {fmt_num(tr)}x")
            ok.append(abs(fr - a) / a <= 0.20)
            slow.append(math.isfinite(tr) and tr > 2 * a)
        text = "; ".join(texts)
        notes.append(f"{sparse}: {len(m)} pairs (same run and config); FLOP ratio within 20% of the arithmetic")
        shown = show(rows, ("metrics.sensitivity_flops_per_step", "metrics.sensitivity_ns_per_step"))
        if not all(ok):
            return Evidence(REFUTED if not any(ok) else PARTIAL, text, shown, "speedup", notes)
        if any(slow):
            notes.append(f"{sparse}: the operation count drops as stated but the time does not follow it")
            return Evidence(PARTIAL, text, shown, "speedup", notes)
        return Evidence(CONFIRMED, text, shown, "speedup", notes)
    return check


# ---------------------------------------------------------------- gradients
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


# ---------------------------------------------------------------- accuracy
@dataclass
class Acc:
    label: str
    n: int
    mean: float
    std: float
    steps: float
    rows: pd.DataFrame

    def text(self):
        if self.n == 0:
            return f"{self.label}: no runs"
        return (f"{self.label}: {fmt_pct(self.mean)} ± {fmt_pct(self.std)} (n={self.n} seeds"
                f"{f', {int(self.steps)} steps' if self.steps == self.steps else ''})")


def acc_stats(df, learner, task=None, model_type="moe", seq_len=None, lr=None, dense=None, label=None) -> Acc:
    d = select(df, kind="train", learner=learner, task=task, model_type=model_type, seq_len=seq_len)
    if len(d) and lr is not None:
        d = d[np.isclose(num(d, "config.lr"), lr)]
    if len(d) and dense is not None:
        ns = pd.to_numeric(model_field(d, "n_slots"), errors="coerce")
        full = ((pd.to_numeric(model_field(d, "topk_read"), errors="coerce") >= ns) &
                (pd.to_numeric(model_field(d, "topk_write"), errors="coerce") >= ns))
        d = d[full if dense else ~full]
    if len(d):
        d = d[num(d, "metrics.final_accuracy").notna()]
    label = label or f"{model_type} {learner}{f' lr={lr:g}' if lr is not None else ''}"
    if len(d) == 0:
        return Acc(label, 0, math.nan, math.nan, math.nan, d)
    # one configuration only: runs differing in lr, T or model are not seeds of one another
    # ... nor are runs of different lengths in steps: the longest runs with enough seeds win
    cfg = (num(d, "config.lr").astype(str) + "|" + num(d, "config.seq_len").astype(str) + "|" +
           num(d, "config.steps").astype(str) + "|" +
           (d["_model"] if "_model" in d.columns else col(d, "config.model").astype(str)))
    if cfg.nunique() > 1:
        cand = d
        if lr is None and np.isclose(num(d, "config.lr"), DOC_LR).any():
            cand = d[np.isclose(num(d, "config.lr"), DOC_LR)]
        ccfg = cfg[cand.index]
        counts = cand.groupby(ccfg).apply(lambda g: (num(g, "config.seed").nunique(),
                                                     float(num(g, "config.steps").max())))
        best = sorted(counts.items(), key=lambda kv: (-(kv[1][0] >= MIN_SEEDS), -kv[1][1],
                                                      -kv[1][0], kv[0]))[0][0]
        d = d[cfg == best]
        r0 = d.iloc[0]
        label += (f" (lr={r0.get('config.lr')}, T={r0.get('config.seq_len')}, "
                  f"{r0.get('config.steps')} steps; of {cfg.nunique()} configs)")
    last = d.groupby(num(d, "config.seed"), sort=True).tail(1)
    a = num(last, "metrics.final_accuracy")
    std = float(a.std(ddof=1)) if len(a) > 1 else math.nan
    steps = num(last, "config.steps").max()
    return Acc(label, len(a), float(a.mean()), std, float(steps), last)


def accuracy_level(learner, target, tol, task=None, model_type="moe", lr=None, min_steps=None, dense=None,
                   doc_text=""):
    def check(df):
        s = acc_stats(df, learner, task, model_type, lr=lr, dense=dense)
        if s.n < MIN_SEEDS:
            return nm(f"needs `train` runs of {s.label} on {task or 'any task'} with >= {MIN_SEEDS} seeds; "
                      f"have {s.n}", figure="accuracy")
        text = f"{s.text()}; documented {doc_text or fmt_pct(target)}"
        notes = [f"holds if the mean over seeds lies in {fmt_pct(target - tol)}.."
                 f"{fmt_pct(min(1, target + tol))}"]
        # The mean, not mean ± std: a wide spread must not turn a miss into a confirmation.
        ok = target - tol <= s.mean <= target + tol
        if ok:
            return Evidence(CONFIRMED, text, show(s.rows, ("metrics.final_accuracy",)), "accuracy", notes)
        if min_steps and s.steps == s.steps and s.steps < min_steps and s.mean < target - tol:
            return Evidence(NOT_MEASURED, f"runs stopped at {int(s.steps)} steps, fewer than the documented "
                            f"{min_steps}; {text}", show(s.rows, ("metrics.final_accuracy",)), "accuracy", notes)
        return Evidence(REFUTED, text, show(s.rows, ("metrics.final_accuracy",)), "accuracy", notes)
    return check


def _relation(a: Acc, b: Acc, relation: str) -> str:
    spread = (a.std if a.std == a.std else 0) + (b.std if b.std == b.std else 0)
    diff = a.mean - b.mean
    if relation == "beats":
        return CONFIRMED if diff > spread else REFUTED
    if relation == "similar":
        return CONFIRMED if abs(diff) <= spread else REFUTED
    if relation == "not_worse":
        return CONFIRMED if diff >= -spread else REFUTED
    if relation == "winner":   # beats: CONFIRMED; within spread: PARTIAL; worse: REFUTED
        return CONFIRMED if diff > spread else (PARTIAL if diff >= -spread else REFUTED)
    raise ValueError(relation)


def accuracy_compare(a_spec: dict, b_spec: dict, relation: str, tasks=(None,), doc_text=""):
    """a vs b on each task: 'beats' / 'similar' / 'not_worse', differences against the spread (std)."""

    def check(df):
        verdicts, texts, rows = [], [], []
        for task in tasks:
            a = acc_stats(df, task=task, **a_spec)
            b = acc_stats(df, task=task, **b_spec)
            if a.n < MIN_SEEDS or b.n < MIN_SEEDS:
                continue
            v = _relation(a, b, relation)
            verdicts.append(v)
            texts.append(f"{task or 'all tasks'}: {a.text()} vs {b.text()} -> {v}")
            rows += show(pd.concat([a.rows, b.rows]), ("metrics.final_accuracy",))
        if not verdicts:
            return nm(f"needs `train` runs of both sides with >= {MIN_SEEDS} seeds each", figure="accuracy")
        v = verdicts[0] if len(set(verdicts)) == 1 else PARTIAL
        return Evidence(v, "; ".join(texts) + (f"; documented {doc_text}" if doc_text else ""), rows[:MAX_ROWS],
                        "accuracy", [f"spread = sum of the two standard deviations over seeds; '{relation}'"])
    return check


THREE = {"RNN BPTT": dict(learner="bptt", model_type="rnn"),
         "MoE BPTT": dict(learner="bptt", model_type="moe"),
         "Sparse MoE RTRL": dict(learner="sparse-rtrl", model_type="moe")}


def three_way(seq_lens, relation="winner", doc_text=""):
    """Sparse MoE RTRL against RNN BPTT and MoE BPTT at the given lengths, on every task measured."""
    seq_lens = tuple(seq_lens)

    def check(df):
        d = select(df, kind="train")
        tasks = sorted(set(col(d, "config.task").dropna().astype(str))) if len(d) else []
        verdicts, texts, rows = [], [], []
        for task in tasks:
            for T in seq_lens:
                s = {k: acc_stats(df, task=task, seq_len=T, label=k, **v) for k, v in THREE.items()}
                if any(x.n < MIN_SEEDS for x in s.values()):
                    continue
                r = s["Sparse MoE RTRL"]
                vs = [_relation(r, s[k], relation) for k in ("RNN BPTT", "MoE BPTT")]
                v = REFUTED if REFUTED in vs else (PARTIAL if PARTIAL in vs else CONFIRMED)
                verdicts.append(v)
                texts.append(f"{task} T={T}: " + ", ".join(x.text() for x in s.values()) + f" -> {v}")
                rows += show(pd.concat([x.rows for x in s.values()]), ("metrics.final_accuracy",))
        if not verdicts:
            return nm(f"needs `train` runs of RNN BPTT, MoE BPTT and sparse MoE RTRL at T={seq_lens} with "
                      f">= {MIN_SEEDS} seeds each", figure="accuracy")
        v = verdicts[0] if len(set(verdicts)) == 1 else PARTIAL
        return Evidence(v, "; ".join(texts) + (f"; documented {doc_text}" if doc_text else ""), rows[:MAX_ROWS],
                        "accuracy", ["the document does not name the task: every task with all three is read",
                                     "RTRL wins if it beats each by more than the sum of the standard deviations"])
    return check


# ---------------------------------------------------------------- GPU
def _cuda(df):
    return select(df, device="cuda", status=None)


def gpu_speedup(learners=("sparse-rtrl",), min_speedup=2.0):
    def check(df):
        if len(_cuda(df)) == 0:
            return nm("needs a GPU; no GPU results (config.device == 'cuda') in results/", figure="time")
        texts, vs, rows = [], [], []
        for lr in learners:
            parts = []
            for dev in ("cpu", "cuda"):
                d = select(df, kind="measure", learner=lr, device=dev)
                d = d[num(d, TSTEP).notna()] if len(d) else d
                k = (col(d, "machine.machine_id").astype(str) + "|" + num(d, "config.seq_len").astype(str) + "|" +
                     series_key(d.assign(**{"config.device": ""})).astype(str)) if len(d) else pd.Series(dtype=str)
                parts.append(pd.DataFrame({"k": k.values, "t": num(d, TSTEP).values,
                                           "T": num(d, "config.seq_len").values}).groupby(["k", "T"], as_index=False).median()
                             if len(d) else pd.DataFrame(columns=["k", "T", "t"]))
                rows += show(d, (TSTEP,))
            m = parts[0].merge(parts[1], on=["k", "T"], suffixes=("_cpu", "_cuda"))
            if len(m) == 0:
                continue
            r = m["t_cpu"] / m["t_cuda"]
            texts.append(f"{lr}: cpu/cuda step time {fmt_num(r.min())}..{fmt_num(r.max())}x")
            med = float(r.median())
            vs.append(CONFIRMED if med >= min_speedup else (PARTIAL if med > 1 else REFUTED))
        if not vs:
            return nm("no CPU and GPU points of the same config on the same machine", figure="time")
        v = vs[0] if len(set(vs)) == 1 else PARTIAL
        return Evidence(v, "; ".join(texts), rows[:MAX_ROWS], "time",
                        [f"significant = median speedup >= {min_speedup:g}x (same machine and config)"])
    return check


def gpu_oom(learner="bptt", doc_len=1_000_000):
    def check(df):
        c = _cuda(df)
        if len(c) == 0:
            return nm("needs a GPU; no GPU results (config.device == 'cuda') in results/", figure="memory")
        d = select(df, kind="measure", learner=learner, device="cuda", status=None)
        if len(d) == 0:
            return nm(f"no GPU `measure` point of {learner}", figure="memory")
        oom = d[col(d, "status") == "oom"]
        notes = []
        if len(oom):
            T = float(num(oom, "config.seq_len").min())
            how = f"first OOM on the GPU at T={fmt_T(T)} (budget {fmt_num(num(oom, 'config.budget_mb').min())} MiB)"
        else:
            cs = curves(df, "metrics.cuda_allocated_peak", (learner,), device="cuda")
            cap, src = num(d, "machine.gpu_memory_bytes").max(), "machine.gpu_memory_bytes"
            if not (cap == cap):
                names_ = sorted(set(col(d, "machine.gpu").dropna().astype(str)))
                gb = [float(x) for n in names_ for x in re.findall(r"(\d+(?:\.\d+)?)\s*GB", n)]
                if gb:
                    cap, src = max(gb) * 2 ** 30, f"the GPU's name ({', '.join(names_)})"
            if not cs or not (cap == cap):
                return nm(f"no GPU OOM of {learner} and no GPU capacity (machine.gpu_memory_bytes) to predict one",
                          figure="memory")
            b, a, _ = pick(cs).fit()
            T = (cap - a) / b if b > 0 else math.inf
            how = (f"predicted from the cuda_allocated slope {fmt_bytes(b)}/token and a capacity of {fmt_bytes(cap)} "
                   f"(from {src}): T={fmt_T(T)}")
        v = CONFIRMED if doc_len / 2 <= T <= doc_len * 2 else REFUTED
        return Evidence(v, f"{how}; documented ~T={fmt_T(doc_len)}", show(d, ("metrics.cuda_allocated_peak",)),
                        "memory", notes)
    return check


def not_measured(reason):
    def check(df):
        return nm(reason)
    return check
