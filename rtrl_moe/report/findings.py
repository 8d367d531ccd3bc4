"""The first screen: what was found, in a few sentences, each built from the claim objects that
decided it (their verdict, their measured and documented figures, or the leading clauses of the
evidence text the verdict was decided on), never from numbers computed here.

One function per finding; a finding whose claims are absent says "not measured". The README
carries the same findings between markers (``readme_block``), written by the report command.
"""
from __future__ import annotations

from .fmt import fmt_value
from .headline import CLASS, HEADLINE_VERDICTS

README_BEGIN = "<!-- findings:begin (written by python -m rtrl_moe.report; do not edit by hand) -->"
README_END = "<!-- findings:end -->"


def clause(text: str, n: int = 1) -> str:
    """The first ``n`` clauses of an evidence text (split at '; '): whole clauses, never a figure
    cut in half."""
    parts = [p.strip() for p in str(text or "").split("; ") if p.strip()]
    return "; ".join(parts[:n])


def _fig(obj: dict, key: str) -> str:
    d = obj.get(key)
    return fmt_value(d["value"], d.get("unit")) if d and d.get("value") is not None else "n/a"


def _item(title: str, objs: list, text: str, anchor: str | None = None) -> dict:
    lead = objs[0] if objs else None
    verdict = lead["verdict"] if lead else "NOT MEASURED"
    return {"title": title, "verdict": verdict, "vclass": CLASS.get(verdict, "notmeasured"), "text": text,
            "anchor": anchor or (f"claim-{lead['id']}" if lead else ""),
            "claims": [o["id"] for o in objs],
            "stale": any(o.get("stale") is True for o in objs)}


def _missing(title: str, ids) -> dict:
    return _item(title, [], f"not measured: no claim in this report has the role {', '.join(ids)}")


def exactness(by: dict) -> dict:
    ids = ("exactness:bench", "exactness:formula")
    if not all(i in by for i in ids):
        return _missing("Exactness", ids)
    ex, formula = by[ids[0]], by[ids[1]]
    return _item("Exactness of the documents' RTRL", [formula, ex],
                 f"their update rule (BlockRTRL's P[W] = J[W,R] P[R] + J_theta) as an exact gradient "
                 f"{formula['as_documented']['answer']}: {clause(formula['as_documented']['text'])}; "
                 f"gradient error against BPTT in float64 on the bench: {clause(ex['on_bench']['text'], 4)} "
                 f"(exact means <= 1e-10)")


def sensitivities(by: dict) -> dict:
    i = "memory:sensitivities"
    if i not in by:
        return _missing("RTRL's memory", (i,))
    o = by[i]
    if o.get("ratio") is None:
        return _item("RTRL's memory", [o], f"{o['on_bench']['answer']}: {clause(o['on_bench']['text'], 2)}")
    return _item("RTRL's memory", [o],
                 f"documented {_fig(o, 'documented')} (O(H)), measured {_fig(o, 'measured')} of RTRL learner "
                 f"state ({o['ratio']:,.0f}x): the sensitivities are H x P numbers; {o['on_bench']['answer']}")


def bptt_memory(by: dict) -> dict:
    ids = ("bptt:slope", "bptt:oom")
    if not all(i in by for i in ids):
        return _missing("BPTT's memory", ids)
    lin, oom = by[ids[0]], by[ids[1]]
    return _item("BPTT's memory and out-of-memory length", [oom, lin],
                 f"BPTT grows {_fig(lin, 'measured')} on the documents' model (documented "
                 f"{_fig(lin, 'documented')} from their table); out of memory at 1,024 tokens: "
                 f"{oom['on_bench']['answer']} ({clause(oom['on_bench']['text'], 2)})")


def speed(by: dict) -> dict:
    i = "speed:ratio"
    if i not in by:
        return _missing("BPTT / RTRL time", (i,))
    o = by[i]
    return _item("BPTT / RTRL time per step", [o],
                 f"documented {_fig(o, 'documented')}, measured {_fig(o, 'measured')} "
                 f"(time(bptt) / time(sparse-rtrl), median of seed pairs on the documents' model): "
                 f"{o['on_bench']['answer']}")


def tree(by: dict) -> dict:
    i = "tree:speedup"
    if i not in by:
        return _missing("Segment tree", (i,))
    o = by[i]
    return _item("Segment-tree speed-up", [o],
                 f"documented {_fig(o, 'documented')}: {o['as_documented']['answer']} "
                 f"({clause(o['as_documented']['text'])}); on the bench's sparse-rtrl vs tree-rtrl, measured "
                 f"{_fig(o, 'measured')}: {o['on_bench']['answer']}")


def accuracy(by: dict) -> dict:
    i = "accuracy:level"
    if i not in by:
        return _missing("Accuracy", (i,))
    o = by[i]
    return _item("Accuracy on a^n b^n", [o],
                 f"documented {_fig(o, 'documented')}: {o['as_documented']['answer']} "
                 f"({clause(o['as_documented']['text'])}); {o['on_bench']['answer']} on held-out sequences "
                 f"of the documents' model ({clause(o['on_bench']['text'])})")


def build(objs: list, extra: list | None = None, roles: dict | None = None) -> list[dict]:
    """The findings in reading order. ``roles``: claim id -> its role in a finding ("finding:part"),
    as each claim entry declares it (``Claim.finding``), so no claim id is written here; ``extra``:
    findings of the sections (long range, PonderTTT), each already a dict with title, text, anchor
    and (optionally) verdict."""
    by = {roles[o["id"]]: o for o in objs if o["id"] in (roles or {})}
    out = [exactness(by), sensitivities(by), bptt_memory(by), speed(by), tree(by), accuracy(by)]
    for e in extra or []:
        if e:
            out.append({"title": e["title"], "verdict": e.get("verdict", ""),
                        "vclass": CLASS.get(e.get("verdict", ""), "notmeasured"), "text": e["text"],
                        "anchor": e.get("anchor", ""), "claims": [], "stale": bool(e.get("stale"))})
    return out


def verdict_bars(objs: list) -> list[dict]:
    """Per document, the count of each headline verdict (the verdict bar of the first screen)."""
    docs: dict[str, dict] = {}
    for o in objs:
        d = docs.setdefault(o["source"][:3], {v: 0 for v in HEADLINE_VERDICTS})
        d[o["verdict"]] = d.get(o["verdict"], 0) + 1
    return [{"doc": k, "n": sum(c.values()),
             "parts": [{"verdict": v, "n": c[v], "vclass": CLASS[v]} for v in HEADLINE_VERDICTS if c.get(v)]}
            for k, c in sorted(docs.items())]


def stale_summary(objs: list) -> dict:
    """How many verdicts rest on a stale record, and on records of unknown staleness."""
    stale = sorted(o["id"] for o in objs if o.get("stale") is True)
    unknown = sorted(o["id"] for o in objs if o.get("stale") is None and o.get("records"))
    return {"stale": stale, "unknown": unknown, "n": len(objs)}


def readme_block(findings: list, tally: str, stale: dict) -> str:
    """The README's findings, the same objects as the report's first screen (a test compares)."""
    lines = [README_BEGIN, "", tally, ""]
    for f in findings:
        lines.append(f"- **{f['title']}**{' (' + f['verdict'] + ')' if f['verdict'] else ''}: {f['text']}"
                     + (" *(rests on a stale record)*" if f["stale"] else ""))
    lines += ["", f"{len(stale['stale'])} of {stale['n']} verdicts rest on a record measured before the last "
              f"change to its code (marked STALE in the report); {len(stale['unknown'])} on records whose "
              "staleness cannot be checked.", "", README_END]
    return "\n".join(lines) + "\n"
