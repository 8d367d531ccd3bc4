"""What a check returns: an Evidence (verdict, the measured text, display rows, notes), and how
the Evidence of the parts of one claim merges into one."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from .data import kwargs_json

CONFIRMED = "CONFIRMED"
REFUTED = "REFUTED"
PARTIAL = "PARTIAL"
NOT_MEASURED = "NOT MEASURED"
VERDICTS = (CONFIRMED, REFUTED, PARTIAL, NOT_MEASURED)

MAX_ROWS = 40              # evidence rows shown per claim


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
    """NOT MEASURED, with the reason naming the records that would decide it."""
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
    """One Evidence of a claim made of labelled parts: the verdict by combine, each part's text
    and notes under its label, so the reader sees which part decided it."""
    verdict = combine(parts)
    text = "; ".join(f"{lab}: {p.verdict} - {p.measured_text}" for lab, p in zip(labels, parts))
    rows, notes = [], []
    for lab, p in zip(labels, parts):
        rows += p.rows
        notes += [f"[{lab}] {n}" for n in p.notes]
    return Evidence(verdict, text, rows[:MAX_ROWS], figure or next((p.figure for p in parts if p.figure), None), notes)


def not_measured(reason):
    """The check of a claim no record can speak to (a model or machine we do not have)."""
    def check(df):
        return nm(reason)
    return check
