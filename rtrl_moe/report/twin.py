"""The machine-readable twin of the claims table: one plain object per claim (reports/claims.json).
The HTML and Markdown rows render from the same objects, so the three never disagree."""
from __future__ import annotations

import json
import math

from .evidence import NOT_MEASURED
from .fmt import fmt_value
from .headline import bench_answer, decide, doc_answer


def _num(v):
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def stale_of(records: list) -> tuple:
    """(stale, reason) of a claim from its records: True if any record's code changed since it was
    measured; None (unknown) if some record carries no fingerprint; False only if all are current."""
    if not records:
        return None, "no record behind the verdict"
    changed = [r for r in records if r["stale"] is True]
    unknown = [r for r in records if r["stale"] is None]
    if changed:
        parts = sorted({p.strip() for r in changed for p in r["stale_reason"].split(":", 1)[-1].split(",")})
        return True, f"{len(changed)} of {len(records)} records measured before the last change to: {', '.join(parts)}"
    if unknown:
        return None, f"{len(unknown)} of {len(records)} records carry no code fingerprint (staleness unknown)"
    return False, "every record measured on the current code"


def claim_object(cl, ev, as_doc=None) -> dict:
    """The claim's object: ``on_bench`` is its check on the bench's workload (``ev``),
    ``as_documented`` the document's own protocol (``as_doc``, an as_documented.Judgement), and
    ``verdict``/``why`` the two joined (headline.py)."""
    from .as_documented import STATEMENT, Judgement
    if as_doc is None:
        as_doc = Judgement(NOT_MEASURED, STATEMENT, "not judged under the document's protocol")
    rule = cl.rule
    doc = ({"value": rule.documented, "unit": rule.unit} if rule is not None and rule.documented is not None
           else None)
    meas = ({"value": _num(ev.value), "unit": ev.unit} if ev.value is not None and _num(ev.value) is not None
            else None)
    if doc and meas and meas["unit"] != doc["unit"]:   # one unit or none: never compare across units
        meas = None
    ratio = _num(ev.ratio) if doc and meas else None
    stale, why = stale_of(list(ev.records) + [r for r in as_doc.records if isinstance(r, dict)])
    return {"id": cl.id, "source": cl.source, "quote": cl.quote, "documented": doc, "measured": meas,
            "ratio": ratio, "rule": rule.as_text() if rule else cl.test,
            "workload": cl.workload.as_dict() if cl.workload else None,
            "records": [{"record": r["record"], "run_id": r["run_id"], "commit": r["commit"],
                         "stale": r["stale"], "stale_reason": r["stale_reason"]} for r in ev.records],
            "stale": stale, "stale_reason": why, **two_verdicts(as_doc.as_dict(), {
                "verdict": ev.verdict, "text": ev.measured_text}, cl.id, cl.structural, cl.differs)}


def two_verdicts(as_doc: dict, on_bench: dict, claim_id: str = "", structural: str = "", differs: str = "") -> dict:
    """The fields a claim object adds for its two verdicts (one shape for every document): each
    side's answer in words with its own evidence, and the joined verdict with the rule's clause.
    A side's answer quotes only that side's figures; ``differs`` (how the bench's experiment
    differs from the document's) goes with the bench's answer where the two disagree."""
    basis = as_doc.get("basis", "measured")
    verdict, why, _ = decide(as_doc["verdict"], on_bench["verdict"], structural, basis)
    ad = dict(as_doc, answer=doc_answer(as_doc["verdict"], basis))
    ob = dict(on_bench, answer=bench_answer(on_bench["verdict"]),
              differs=differs if differs and on_bench["verdict"] != as_doc["verdict"] else "")
    return {"as_documented": ad, "on_bench": ob, "verdict": verdict, "why": why}


def display(obj: dict) -> dict:
    """The row texts of a claim object: documented, measured, ratio, stale, records."""
    d, m = obj["documented"], obj["measured"]
    runs = sorted({r["run_id"] for r in obj["records"]})
    return {"doc_value": fmt_value(d["value"], d["unit"]) if d else "-",
            "meas_value": fmt_value(m["value"], m["unit"]) if m else "-",
            "ratio_text": f"{obj['ratio']:.3g}" if obj["ratio"] is not None else "-",
            "stale_text": {True: "STALE", False: "current", None: "unknown"}[obj["stale"]],
            "records_text": (", ".join(r["record"] for r in obj["records"][:12])
                             + (f" ... (+{len(obj['records']) - 12})" if len(obj["records"]) > 12 else "")),
            "runs_text": ", ".join(runs), "workload_text": json.dumps(obj["workload"], sort_keys=True)}


def dumps(objs: list) -> str:
    return json.dumps(objs, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
