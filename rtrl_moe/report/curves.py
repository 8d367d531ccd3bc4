"""Series of one measured field over T (Curve: growth, line fit, value at a length) and pairs of
two learners measured in the same run and config (matched), which the speed checks and the
targets rest on."""
from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .data import (
    TIQR,
    TSTEP,
    SeriesKey,
    code_version,
    col,
    doc_mask,
    kwargs_json,
    num,
    record_staleness,
    select,
    series_key,
)
from .evidence import show
from .fmt import fmt_bytes, fmt_slope, fmt_T

CONSTANT_GROWTH = 0.02     # conventions: constant = growth shortest -> longest under 2%


def _is_doc_config(df: pd.DataFrame) -> bool:
    return bool(len(df)) and bool(doc_mask(df).all())


@dataclass
class Curve:
    learner: str
    key: SeriesKey
    T: np.ndarray
    y: np.ndarray
    rows: pd.DataFrame
    code: str = ""          # the code version its records measured (one per series)
    label_code: bool = False  # the learner has series of several code versions: say which this is

    @functools.cached_property
    def stale(self) -> bool:
        """Some record of the series was measured before the last change to its code."""
        return any(record_staleness(r)[0] is True for r in self.rows.get("record", []))

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
        name = self.learner + (f" [{'stale' if self.stale else 'current'} code]" if self.label_code else "")
        return (f"{name}: {fmt_bytes(self.y[0])} at T={fmt_T(self.T[0])} -> {fmt_bytes(self.y[-1])} "
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
    keys, code = series_key(d), code_version(d, timing=field.split(".")[-1].startswith(("time", "sensitivity_ns", "ns_")))
    # one series per code version: a change between versions is never read as growth in T
    for (learner, key, cv), g in d.groupby([col(d, "config.learner").astype(str), keys, code], sort=True):
        s = num(g, field).groupby(num(g, "config.seq_len")).median().sort_index()
        if len(s) >= min_len:
            out.append(Curve(learner, key, s.index.to_numpy(float), s.to_numpy(float), g, cv))
    for c in out:
        c.label_code = sum(1 for o in out if o.learner == c.learner and o.key == c.key) > 1
    return out


class AmbiguousLearner(ValueError):
    """pick() was handed curves of several learners without being told which one a claim is about."""


def pick(cs: list, learner: str | None = None):
    """The representative curve of one learner: the documents' config first, then batch 1, then
    most lengths.  The learner is declared by the caller (the claim's check argument), never chosen
    by sort order: curves of several learners without ``learner`` raise AmbiguousLearner."""
    if not cs:
        return None
    if learner is not None:
        cs = [c for c in cs if c.learner == learner]
        if not cs:
            return None
    elif len({c.learner for c in cs}) > 1:
        raise AmbiguousLearner(f"pick(): curves of {sorted({c.learner for c in cs})}; name the learner the claim "
                               "is about")
    return sorted(cs, key=lambda c: (not c.doc_config, c.stale, c.batch != 1, -len(c.T), c.key))[0]


def per_learner(cs: list) -> dict:
    out = {}
    for c in cs:
        out.setdefault(c.learner, []).append(c)
    return {k: pick(v) for k, v in sorted(out.items())}


def rows_of(cs, fields):
    if not cs:
        return []
    return show(pd.concat([c.rows for c in cs]), fields)


def matched(df, a, b, field=TSTEP, iqr=TIQR, task=None, device=None):
    """Pairs of points of learners a and b in the same run, config, length and seed: each seed
    is one pair (both learners on its data), so a ratio can be a median over pairs."""
    cols = ["key", "T", "seed", "va", "ia", "vb", "ib", "ka", "kb", "run_id"]
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
                          "seed": num(d, "config.seed").fillna(0).values,
                          "run_id": col(d, "run_id").astype(str).values})
        t = t.groupby(["key", "T", "seed", "k", "run_id"], as_index=False, sort=True).median()
        parts.append((t, d))
    (ta, da), (tb, db) = parts
    m = ta.merge(tb, on=["key", "T", "seed", "run_id"], suffixes=("a", "b"))
    m = m.sort_values(["key", "T", "seed", "ka", "kb"], kind="mergesort").reset_index(drop=True)
    rows = pd.concat([da, db])
    if len(m):
        pairs = set(zip(m["key"], m["T"]))
        k = zip(series_key(rows, with_kwargs=False, with_run=True), num(rows, "config.seq_len"))
        rows = rows[[kt in pairs for kt in k]]
    else:
        rows = rows.iloc[0:0]
    return m, rows
