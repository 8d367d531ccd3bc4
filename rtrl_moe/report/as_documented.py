"""The first of a claim's two verdicts: does the documented number reproduce under the
document's own protocol (its script's task, model, comparison, metric and steps)?

Three sources, in this order, each named in the verdict's ``basis``:

* ``measured``: a piece of the ``protocols`` preset re-ran the script's experiment
  (``rtrl_moe.protocols``; its checks and the claims each piece speaks to are in
  ``report/protocol_checks.py``, ``CHECKS`` and ``DOCUMENTED``);
* ``arithmetic`` / ``constant``: the documented figure is tensor-size arithmetic or a constant the
  script prints, not a measurement. Its arithmetic is recomputed here (:data:`ARITHMETIC`), so the
  row says what the number is and whether the sum is right; whether the claim it supports holds
  is the other verdict's business (``on_bench``);
* ``not run``: the document names a script or run for the figure but no protocol piece re-runs it
  here (the reason is given); ``no protocol``: no piece re-runs an experiment for the sentence
  (the document names none, or its script is not in the preset yet), so only the bench's test
  speaks to it.

The second verdict, ``on_bench``, is the claim's check on the bench's stronger workload
(``claims.py``); ``headline.py`` joins the two.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .evidence import CONFIRMED, NOT_MEASURED, REFUTED, Evidence, combine

MEASURED, ARITH, CONSTANT, NOT_RUN, STATEMENT = "measured", "arithmetic", "constant", "not run", "no protocol"
MiB, KB, GB = 2 ** 20, 1e3, 1e9


@dataclass(frozen=True)
class Sum:
    """One documented figure that is arithmetic: ``expr`` evaluates to ``value``; the document
    wrote ``documented`` (same unit). Right when within ``tol`` (relative): the documents round
    (0.0005 MB for 488 B), so 15% by default; a sum off by more is REFUTED as arithmetic."""
    expr: str
    value: float
    documented: float
    unit: str
    what: str                       # what the number is the size of
    tol: float = 0.15
    basis: str = ARITH

    @property
    def right(self) -> bool:
        return abs(self.value - self.documented) <= self.tol * abs(self.documented)


def sum_of(expr: str, documented: float, unit: str, what: str, **kw) -> Sum:
    # the expression is the document's own sum, evaluated here rather than typed as a result
    return Sum(expr, float(eval(expr, {"__builtins__": {}}, {"MiB": MiB, "KB": KB, "GB": GB})),
               documented, unit, what, **kw)


HIDDEN_128 = "T x H x 4 B of a hidden state of H = 128 float32 numbers per step"
@dataclass
class Judgement:
    """One of a claim's two verdicts, as ``claims.json`` carries it."""
    verdict: str
    basis: str
    text: str
    pieces: list = field(default_factory=list)     # protocol pieces behind a measured verdict
    script: str = ""
    records: list = field(default_factory=list)
    value: float | None = None

    def as_dict(self) -> dict:
        return {"verdict": self.verdict, "basis": self.basis, "text": self.text, "pieces": list(self.pieces),
                "script": self.script, "records": list(self.records)}


def _protocols():
    """(CHECKS, DOCUMENTED) of the protocols preset: piece -> check, piece -> {figure, script,
    basis}; which claims a piece speaks to is each claim entry's ``pieces``."""
    from . import protocol_checks, protocol_exactness
    return ({**protocol_checks.CHECKS, **protocol_exactness.CHECKS},
            {**protocol_checks.DOCUMENTED, **protocol_exactness.DOCUMENTED})


def arithmetic(claim) -> Judgement | None:
    """The document's own sums behind the claim's figure (its entry's ``sums``), recomputed."""
    sums = claim.sums
    if not sums:
        return None
    parts = [Evidence(CONFIRMED if s.right else REFUTED,
                      f"{s.expr} = {s.value:,.6g} {s.unit}".strip()
                      + (f" (documented {s.documented:,.6g}{' ' + s.unit if s.unit else ''})" if not s.right else "")
                      + f": {s.what}") for s in sums]
    basis = CONSTANT if all(s.basis == CONSTANT for s in sums) else ARITH
    verdict = combine(parts)
    lead = ("the documented figure is a constant the script prints" if basis == CONSTANT else
            "the documented figure is arithmetic, not a measurement")
    right = "its sum is right" if verdict == CONFIRMED else "its sum is wrong"
    return Judgement(verdict, basis, f"{lead}; {right}: " + "; ".join(p.measured_text for p in parts))


def protocol_records(df: pd.DataFrame, pieces) -> list[dict]:
    """The protocol records behind an as-documented verdict, each with its staleness against the
    code beside the report (the same fields as the bench side's records)."""
    from .data import col, record_staleness
    if not len(df) or not pieces:
        return []
    rows = df[(col(df, "config.kind") == "protocol") & col(df, "config.protocol").isin(list(pieces))]
    out = []
    for _, r in rows.iterrows():
        stale, why = record_staleness(r.get("record") if isinstance(r.get("record"), dict) else {})
        out.append({"record": str(r.get("_source", "")), "run_id": str(r.get("run_id", "")),
                    "commit": str(r.get("commit", ""))[:10], "stale": stale, "stale_reason": why})
    return sorted(out, key=lambda d: d["record"])


def judge(claim, df: pd.DataFrame, checks=None, documented=None) -> Judgement:
    """The as-documented verdict of one claim entry on all records ``df`` (each protocol check
    selects its own piece's records). The entry's own check (``protocol_check``) decides where
    there is one, so a claim about one part of a piece (the time column of a memory table) is
    never decided by another part; else every piece it names, combined."""
    if checks is None or documented is None:
        c, d = _protocols()
        checks = c if checks is None else checks
        documented = d if documented is None else documented
    pieces = [p for p in claim.pieces if p in checks or claim.protocol_check is not None]
    if pieces or claim.protocol_check is not None:
        own = claim.protocol_check
        labelled = [("claim", own)] if own is not None else [(p, checks[p]) for p in pieces]
        evs = []
        for _, fn in labelled:
            try:
                evs.append(fn(df))
            except Exception as e:  # a failing check is reported, never turned into a pass
                evs.append(Evidence(NOT_MEASURED, f"the protocol check raised {type(e).__name__}: {e}"))
        verdict = combine(evs)
        text = evs[0].measured_text if own is not None else \
            "; ".join(f"{p}: {e.verdict} - {e.measured_text}" for (p, _), e in zip(labelled, evs))
        meta = [documented.get(p, {}) for p in pieces]
        scripts = sorted({str(m.get("script", "")) for m in meta} - {""})
        bases = {claim.protocol_basis or str(m.get("basis", MEASURED)) for m in meta} or {MEASURED}
        j = Judgement(verdict, bases.pop() if len(bases) == 1 else MEASURED, text, pieces, ", ".join(scripts),
                      protocol_records(df, pieces), evs[0].value if len(evs) == 1 else None)
        if j.verdict == NOT_MEASURED and (a := arithmetic(claim)) is not None:
            a.pieces, a.text = pieces, a.text + f" (protocol pieces {', '.join(pieces)} not measured yet)"
            return a
        return j
    a = arithmetic(claim)
    if a is not None:
        return a
    if claim.not_run:
        return Judgement(NOT_MEASURED, NOT_RUN, f"not run under the document's protocol: {claim.not_run}")
    return Judgement(NOT_MEASURED, STATEMENT,
                     "no protocol piece re-runs a documented experiment for this sentence (the document names "
                     "none, or its script is not in the protocols preset); only the bench's test speaks to it")
