"""What a check returns: an Evidence (verdict, the measured text, display rows, notes), and how
the Evidence of the parts of one claim merges into one."""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field

import pandas as pd

from .data import kwargs_json

CONFIRMED = "CONFIRMED"
REFUTED = "REFUTED"
PARTIAL = "PARTIAL"
NOT_MEASURED = "NOT MEASURED"
#: a comparison ("similar", "beats", "wins") whose arms both sit at chance: it says nothing either way,
#: so it is neither CONFIRMED nor REFUTED (rule: checks/accuracy.py, at_chance)
NOT_SUPPORTED = "NOT SUPPORTED"
VERDICTS = (CONFIRMED, REFUTED, PARTIAL, NOT_MEASURED, NOT_SUPPORTED)

MAX_ROWS = 40              # evidence rows shown per claim


@dataclass
class Evidence:
    verdict: str
    measured_text: str
    rows: list = field(default_factory=list)     # list of dicts (display rows)
    figure: str | None = None                    # figure kind the verdict rests on
    notes: list = field(default_factory=list)    # the computation, line by line
    value: float | None = None                   # the measured figure the rule compares (in `unit`)
    unit: str | None = None
    records: list = field(default_factory=list)  # every record used (judge.records_of)
    ratio: float | None = None                   # value / the rule's documented figure
    #: the lowest verdict the rule's magnitude cap may give (an interval over seeds that holds the
    #: documented figure cannot be REFUTED by its mean alone: judge.py keeps it at floor)
    floor: str | None = None
    #: the same figure on a second memory metric (e.g. RSS beside tensor bytes): judge.py applies the
    #: rule's band to both, and where they disagree the claim is PARTIAL, decided on neither alone
    alt_value: float | None = None
    alt_metric: str | None = None

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")


DISPLAY = ("_source", "run_id", "config.kind", "config.learner", "config.model_type", "config.task",
           "config.seq_len", "config.batch", "config.dtype", "config.device", "config.seed",
           "config.lr", "config.budget_mb", "status")


#: while a claim is evaluated, the index labels of every record a check showed (see collecting)
_USED: list | None = None


@contextlib.contextmanager
def collecting():
    """Within the block, show() records which rows each check rests on, all of them (not only the
    MAX_ROWS displayed), so a claim can list every record behind its verdict."""
    global _USED
    prev, _USED = _USED, []
    try:
        yield _USED
    finally:
        _USED = prev


def show(df: pd.DataFrame, fields=()) -> list:
    """Rows as display dicts: identifying columns plus the fields the verdict rests on."""
    if df is None or len(df) == 0:
        return []
    if _USED is not None:
        _USED.extend(df.index)
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
    """NOT MEASURED, with the reason naming the records that would decide it."""
    return Evidence(NOT_MEASURED, reason, [], figure, list(notes))


def combine(parts: list, labels=None, core=None) -> str:
    """Verdict of a claim made of several parts (all must hold).

    A claim that needs all its parts is false when a core part is false: a REFUTED core part
    (by default every part is core) makes the claim REFUTED, however the others came out, so an
    off-by-orders figure can never be softened to PARTIAL by a part that holds.  Parts that are
    all NOT SUPPORTED (uninformative) leave the claim NOT SUPPORTED; one beside parts that hold
    leaves it PARTIAL."""
    core = range(len(parts)) if core is None else core
    if any(parts[i].verdict == REFUTED for i in core):
        return REFUTED
    v = [p.verdict for p in parts if p.verdict != NOT_MEASURED]
    if not v:
        return NOT_MEASURED
    if all(x == NOT_SUPPORTED for x in v):
        return NOT_SUPPORTED
    if all(x == REFUTED for x in v):
        return REFUTED
    if all(x == CONFIRMED for x in v) and len(v) == len(parts):
        return CONFIRMED
    return PARTIAL


def merge(parts: list, labels: list, figure=None, core=None, value_of=0) -> Evidence:
    """One Evidence of a claim made of labelled parts: the verdict by combine, each part's text
    and notes under its label, so the reader sees which part decided it.  The claim's measured
    figure is that of part ``value_of`` (the one the rule's documented figure is about)."""
    verdict = combine(parts, core=core)
    text = "; ".join(f"{lab}: {p.verdict} - {p.measured_text}" for lab, p in zip(labels, parts))
    rows, notes = [], []
    for lab, p in zip(labels, parts):
        rows += p.rows
        notes += [f"[{lab}] {n}" for n in p.notes]
    vp = parts[value_of] if value_of is not None and value_of < len(parts) else None
    return Evidence(verdict, text, rows[:MAX_ROWS], figure or next((p.figure for p in parts if p.figure), None), notes,
                    vp.value if vp else None, vp.unit if vp else None, floor=vp.floor if vp else None,
                    alt_value=vp.alt_value if vp else None, alt_metric=vp.alt_metric if vp else None)


def band_verdict(ratio: float, band=(0.5, 2.0), near=(0.1, 10.0)) -> str:
    """A measured/documented ratio: CONFIRMED within band, PARTIAL within near, else REFUTED."""
    if not math.isfinite(ratio):
        return REFUTED
    if band[0] <= ratio <= band[1]:
        return CONFIRMED
    if near and near[0] <= ratio <= near[1]:
        return PARTIAL
    return REFUTED


def not_measured(reason):
    """The check of a claim no record can speak to (a model or machine we do not have)."""
    def check(df):
        return nm(reason)
    return check
