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


def _s(expr: str, documented: float, unit: str, what: str, **kw) -> Sum:
    # the expression is the document's own sum, evaluated here rather than typed as a result
    return Sum(expr, float(eval(expr, {"__builtins__": {}}, {"MiB": MiB, "KB": KB, "GB": GB})),
               documented, unit, what, **kw)


HIDDEN_128 = "T x H x 4 B of a hidden state of H = 128 float32 numbers per step"
#: claim id -> the sums its documented figure is made of (documents 002 and 003 state them)
ARITHMETIC: dict[str, tuple[Sum, ...]] = {
    "000-mem-per-token": (_s("82.3 / 10000", 0.0082, "MB/token", "the peak (82.3 MB) divided by the length; "
                                                                  "a mean, not a marginal cost"),),
    "002-bptt-growth": (_s("1024 * 128 * 4 / MiB", 0.5, "MiB", HIDDEN_128 + " (demo_memory_advantage.py)"),),
    "002-bptt-100k": (_s("100000 * 128 * 4 / MiB", 50, "MiB", HIDDEN_128 + ", extrapolated"),),
    "002-rtrl-0.0005": (_s("128 * 4 / MiB", 0.0005, "MiB", "one hidden state of 128 float32 numbers: a "
                                                             "constant, not RTRL's sensitivities", basis=CONSTANT),),
    "002-rtrl-unchanged": (_s("128 * 4 / MiB", 0.0005, "MiB", "the same constant at every length",
                              basis=CONSTANT),),
    "002-ratio-10k": (_s("10000 * 128 * 4 / MiB", 4.9, "MiB", HIDDEN_128),
                      _s("(10000 * 128 * 4) / (128 * 4)", 9800, "x", "T itself: the ratio of T states to one")),
    "002-ratio-100k": (_s("100000 * 128 * 4 / MiB", 48.8, "MiB", HIDDEN_128),
                       _s("(100000 * 128 * 4) / (128 * 4)", 97600, "x", "T itself")),
    "002-bptt-1m": (_s("1000000 * 128 * 4 / MiB", 500, "MiB", HIDDEN_128),),
    "003-scalars": (_s("128 * 128", 16384, "scalars", "T x H at T = H = 128"),
                    _s("128", 128, "scalars", "one hidden state")),
    "003-128x": (_s("(128 * 128) / 128", 128, "x", "T at T = 128"),),
    "003-table-64": (_s("64 * 128 * 4 / KB", 32, "KB", HIDDEN_128, tol=0.1),
                     _s("128 * 4", 512, "B", "one hidden state", basis=CONSTANT)),
    "003-table-128": (_s("128 * 128 * 4 / KB", 64, "KB", HIDDEN_128, tol=0.1),
                      _s("128 * 4", 512, "B", "one hidden state", basis=CONSTANT)),
    "003-table-1k": (_s("1000 * 128 * 4 / MiB", 0.5, "MiB", HIDDEN_128),
                     _s("128 * 4", 512, "B", "one hidden state", basis=CONSTANT)),
    "003-table-1m": (_s("1e6 * 128 * 4 / GB", 0.5, "GB", HIDDEN_128),
                     _s("128 * 4", 512, "B", "one hidden state", basis=CONSTANT)),
    "003-table-1b": (_s("1e9 * 128 * 4 / GB", 500, "GB", HIDDEN_128),
                     _s("128 * 4", 512, "B", "one hidden state", basis=CONSTANT)),
    "003-512b-constant": (_s("128 * 4", 512, "B", "one hidden state of H = 128 float32", basis=CONSTANT),),
    "003-dna-bptt": (_s("3e9 * 128 * 4 / 1e12", 1.5, "TB", HIDDEN_128 + " at T = 3 x 10^9"),),
    "003-dna-rtrl": (_s("128 * 4", 512, "B", "one hidden state", basis=CONSTANT),),
    "003-llm-bptt": (_s("1e6 * 2048 * 4 / GB", 8, "GB", "T x H x 4 B at T = 10^6, H = 2048"),),
    "003-llm-rtrl": (_s("2048 * 4 / KB", 8, "KB", "one hidden state of 2048 float32", basis=CONSTANT),
                     _s("(1e6 * 2048 * 4) / (2048 * 4)", 3000, "x",
                        "the document's own two figures, 8 GB over 8 KB")),
    "003-0.25x": (_s("0.5 * 0.5", 0.25, "x", "the read fraction times the write fraction"),),
    "003-H128": (_s("32 * 4", 128, "", "d_model x n_slots"),),
}

#: claims whose documented figure comes from a named script or run this bench does not re-run,
#: with the reason (the protocols preset covers the others)
NOT_RUN_REASON: dict[str, str] = {
    "000-gpu-speedup": "a GPU speed figure: no GPU is lent to this bench's runs",
    "003-gpu-1m": "a GPU out-of-memory point: no GPU records",
    "001-anbn-rtrl-95": "train_anbn.py's RTRL run is 5,000 steps of the upstream code (hours here); "
                        "not run under its protocol",
    "001-anbn-bptt-95": "train_anbn.py's BPTT run is 5,000 steps of the upstream model; not yet a protocol piece",
}


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


#: the report modules that hold protocol checks: each has CHECKS (piece -> check), DOCUMENTED
#: (piece -> {figure, script, claims, basis, basis_of}) and may have CLAIM_CHECKS (claim id ->
#: the check of the part of its pieces that claim is about; preferred over the whole piece's)
PROTOCOL_MODULES = ("protocol_checks", "protocol_exactness")


def _protocols(with_claims: bool = False):
    """(CHECKS, DOCUMENTED[, CLAIM_CHECKS]) of the protocols preset, merged over
    :data:`PROTOCOL_MODULES`; a module that is absent contributes nothing (its claims then say
    NOT MEASURED)."""
    import importlib
    checks, documented, per_claim = {}, {}, {}
    for name in PROTOCOL_MODULES:
        try:
            mod = importlib.import_module(f"{__package__}.{name}")
        except ImportError:
            continue
        checks.update(getattr(mod, "CHECKS", {}))
        documented.update(getattr(mod, "DOCUMENTED", {}))
        per_claim.update(getattr(mod, "CLAIM_CHECKS", {}))
    return (checks, documented, per_claim) if with_claims else (checks, documented)


def pieces_of(claim_id: str, documented: dict | None = None) -> list[str]:
    """The protocol pieces that speak to a claim, in the preset's order."""
    documented = _protocols()[1] if documented is None else documented
    return [p for p, d in documented.items() if claim_id in (d.get("claims") or ())]


def arithmetic(claim_id: str) -> Judgement | None:
    sums = ARITHMETIC.get(claim_id)
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


def judge(claim_id: str, df: pd.DataFrame, checks=None, documented=None, claim_checks=None) -> Judgement:
    """The as-documented verdict of one claim on all records ``df`` (each protocol check selects
    its own piece's records). A claim's own check (``CLAIM_CHECKS``) decides where there is one,
    so a claim about one part of a piece (the time column of a memory table) is never decided by
    another part; else every piece that speaks to it, combined."""
    if checks is None or documented is None:
        c, d, k = _protocols(with_claims=True)
        checks = c if checks is None else checks
        documented = d if documented is None else documented
        claim_checks = k if claim_checks is None else claim_checks
    claim_checks = claim_checks or {}
    pieces = [p for p in pieces_of(claim_id, documented) if p in checks]
    if pieces or claim_id in claim_checks:
        own = claim_checks.get(claim_id)
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
        scripts = sorted({str(documented[p].get("script", "")) for p in pieces} - {""})
        bases = {str((documented[p].get("basis_of") or {}).get(claim_id, documented[p].get("basis", MEASURED)))
                 for p in pieces}
        recs = protocol_records(df, pieces)
        j = Judgement(verdict, bases.pop() if len(bases) == 1 else MEASURED, text, pieces, ", ".join(scripts),
                      recs, evs[0].value if len(evs) == 1 else None)
        if j.verdict == NOT_MEASURED and (a := arithmetic(claim_id)) is not None:
            a.pieces, a.text = pieces, a.text + f" (protocol pieces {', '.join(pieces)} not measured yet)"
            return a
        return j
    a = arithmetic(claim_id)
    if a is not None:
        return a
    if claim_id in NOT_RUN_REASON:
        return Judgement(NOT_MEASURED, NOT_RUN, f"not run under the document's protocol: {NOT_RUN_REASON[claim_id]}")
    return Judgement(NOT_MEASURED, STATEMENT,
                     "no protocol piece re-runs a documented experiment for this sentence (the document names "
                     "none, or its script is not in the protocols preset); only the bench's test speaks to it")
