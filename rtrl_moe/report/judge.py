"""A claim judged on its declared workload: select its records, refuse to pool model configs,
run the check, cap the verdict by the rule's magnitude band, and list every record used with
its staleness (records/provenance.py)."""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from .data import col, record_staleness
from .evidence import NOT_MEASURED, PARTIAL, REFUTED, Evidence, collecting
from .workload import ORDER, PoolingError, one_config

ERROR = "ERROR"   # prefix of the text of a claim whose workload holds two configs of one part


def judge(claim, df: pd.DataFrame, strict: bool = False) -> Evidence:
    w = claim.workload.select(df) if claim.workload is not None else df
    clash = one_config(w)
    if clash:
        msg = (f"{ERROR}: refusing to pool records of more than one model config inside the declared workload: "
               + "; ".join(clash))
        if strict:
            raise PoolingError(f"{claim.id}: {msg}")
        return Evidence(NOT_MEASURED, msg, [], None, ["the workload must name one config; this is a defect to fix"])
    with collecting() as used:
        ev = claim.check(w)
    notes = list(ev.notes)
    rule = claim.rule
    ratio = None
    if rule is not None and rule.documented and ev.value is not None:
        ratio = ev.value / rule.documented
        v, why = rule.cap(ev.verdict, ratio)
        if ev.alt_value is not None and ev.verdict not in (NOT_MEASURED, REFUTED):
            v, why = _two_metrics(rule, ev, ratio, v, why)
        if why and ev.floor and ORDER.get(v, 0) < ORDER.get(ev.floor, 0):
            # the check's own evidence (a 95% interval holding the documented figure) forbids lower
            why = f"{why}; kept at {ev.floor}: the check's 95% interval holds the documented figure"
            v = ev.floor
        if why:
            notes.append(why)
            ev = replace(ev, verdict=v)
    if len(w) == 0 and ev.verdict == NOT_MEASURED and claim.workload is not None and claim.workload.labels:
        # say which records would decide it: the declared workload's, not any records at all
        ev = replace(ev, measured_text=f"no records of the declared workload (preset labels "
                     f"{', '.join(claim.workload.labels)}) in results/; {ev.measured_text}")
    ev = replace(ev, notes=notes)
    ev.records = records_of(w, used)
    ev.ratio = ratio
    return ev


def _two_metrics(rule, ev, ratio, v, why):
    """The rule's band on the second memory metric too: where the two metrics' capped verdicts
    differ, the claim cannot be CONFIRMED or REFUTED on one alone: PARTIAL, saying why."""
    alt_ratio = ev.alt_value / rule.documented
    v2, _ = rule.cap(ev.verdict, alt_ratio)
    unit = f" {ev.unit}" if ev.unit else ""
    line = (f"the magnitude on two metrics: {rule.metric}: {ev.value:.4g}{unit} (measured/documented {ratio:.3g}) "
            f"-> {v}; {ev.alt_metric}: {ev.alt_value:.4g}{unit} (measured/documented {alt_ratio:.3g}) -> {v2}")
    if v2 == v:
        return v, (f"{why}; {line}" if why else line)
    return PARTIAL, f"{line}: they disagree, so PARTIAL (neither metric alone decides)"


def records_of(w: pd.DataFrame, used) -> list:
    """Each record a check rested on: file:line, run id, commit and the code parts changed since."""
    if not len(used) or len(w) == 0:
        return []
    idx = [i for i in dict.fromkeys(used) if i in w.index]
    out = []
    for i in idx:
        r = w.loc[i]
        stale, why = record_staleness(r.get("record") if isinstance(r.get("record"), dict) else {})
        out.append({"record": str(r.get("_source", "")), "run_id": str(col(w.loc[[i]], "run_id").iloc[0]),
                    "commit": str(r.get("commit", ""))[:10], "stale": stale, "stale_reason": why})
    return sorted(out, key=lambda d: d["record"])
