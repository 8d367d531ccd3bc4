"""A claim's two verdicts joined into the one its row leads with, and the first screen: one
table per document (the claim in plain words, documented, as documented, on the bench, verdict,
one line of why).

The rule, fixed before any protocol record existed:

* both REFUTED -> REFUTED;
* on the bench REFUTED and the refutation holds of any implementation (:data:`STRUCTURAL`: RTRL
  must hold H x P sensitivities; the documents' formula is inexact by algebra) -> REFUTED;
* on the bench REFUTED otherwise (it rests on our re-implementation's model, speed or training)
  -> NOT REPRODUCED ON THE BENCH, never REFUTED outright;
* as documented REFUTED (the number does not come back under the document's own protocol):
  REFUTED, unless the bench CONFIRMS the claim, then PARTIAL;
* NOT SUPPORTED (both arms at chance) on one side: PARTIAL where the other side CONFIRMS it or
  holds in part, else NOT SUPPORTED;
* otherwise the bench's verdict, or the documented protocol's where the bench has none.
"""
from __future__ import annotations

from .evidence import CONFIRMED, NOT_MEASURED, NOT_SUPPORTED, PARTIAL, REFUTED

NOT_REPRODUCED = "NOT REPRODUCED ON THE BENCH"
#: every value a claim's headline ``verdict`` can take, in the summary's order
HEADLINE_VERDICTS = (CONFIRMED, REFUTED, NOT_REPRODUCED, PARTIAL, NOT_SUPPORTED, NOT_MEASURED)
CLASS = {CONFIRMED: "confirmed", REFUTED: "refuted", NOT_REPRODUCED: "notreproduced", PARTIAL: "partial",
         NOT_SUPPORTED: "notsupported", NOT_MEASURED: "notmeasured"}

_HXP = "RTRL holds H x P sensitivities on any model at the documents' config (upstream's has ~12k state parameters)"
#: claim id -> why its on-bench refutation does not depend on our re-implementation
STRUCTURAL: dict[str, str] = {
    "001-sparse-formula": "P[W] = J[W,R] P[R] + J_theta drops J[W, W\\R] P[W\\R]: inexact by algebra whenever a "
                          "written slot was not read",
    "002-rtrl-0.0005": _HXP,
    "002-ratio-10k": _HXP,
    "002-ratio-100k": _HXP,
    "002-rtrl-oh": _HXP,
    "002-not-stored": "RTRL's recursion needs P_{t-1} to form P_t: the sensitivities are state",
    "002-under-1mb": _HXP + ": 128 x 12k x 4 B is already ~6 MB",
    "003-scalars": _HXP,
    "003-128x": _HXP,
    "003-table-64": _HXP,
    "003-table-128": _HXP,
    "003-table-1k": _HXP,
    "003-table-1m": _HXP,
    "003-table-1b": _HXP,
    "003-512b-constant": _HXP,
    "003-dna-rtrl": _HXP,
    "003-llm-rtrl": _HXP,
    "003-tree-oh": _HXP + "; the buffer adds n Jacobians on top",
    "003-mem-oh-const": _HXP,
}


def headline(as_documented: str, on_bench: str, claim_id: str = "") -> tuple[str, str]:
    """(verdict, why) of a claim from its two verdicts."""
    v, why, _ = decide(as_documented, on_bench, claim_id)
    return v, why


def decide(as_documented: str, on_bench: str, claim_id: str = "") -> tuple[str, str, str]:
    """(verdict, why, side): ``side`` is the verdict whose evidence decided ("bench",
    "documented" or "both"), so the row's one line of why can quote it."""
    structural = claim_id in STRUCTURAL
    if on_bench == REFUTED and as_documented == REFUTED:
        return REFUTED, "refuted under the document's own protocol and on the bench", "both"
    if on_bench == REFUTED:
        if structural:
            return REFUTED, f"refuted on the bench, and not by our model alone: {STRUCTURAL[claim_id]}", "bench"
        return NOT_REPRODUCED, ("refuted on the bench's re-implementation only"
                                + {CONFIRMED: "; the document's own protocol reproduces the number",
                                   PARTIAL: "; the document's own protocol reproduces it in part"}.get(
                                       as_documented, "; the document's own protocol was not re-run")), "bench"
    if as_documented == REFUTED:
        if on_bench == CONFIRMED:
            return (PARTIAL, "the number does not reproduce under the document's own protocol, the claim "
                             "holds on the bench", "both")
        return REFUTED, "the documented number does not reproduce under the document's own protocol", "documented"
    if NOT_SUPPORTED in (on_bench, as_documented):
        other, side = (as_documented, "documented") if on_bench == NOT_SUPPORTED else (on_bench, "bench")
        if other in (CONFIRMED, PARTIAL):   # informative on one side only: neither alone decides
            where = "the document's own protocol" if side == "documented" else "the bench"
            return PARTIAL, f"holds under {where}, uninformative on the other (both arms at chance)", side
        return (NOT_SUPPORTED, "uninformative: both arms sit at chance",
                "bench" if on_bench == NOT_SUPPORTED else "documented")
    if on_bench == NOT_MEASURED:
        if as_documented == NOT_MEASURED:
            return NOT_MEASURED, "measured by neither protocol", "bench"
        return as_documented, "the document's own protocol decides; the bench has no test of it", "documented"
    return on_bench, {CONFIRMED: "holds on the bench", PARTIAL: "holds in part on the bench"}.get(
        on_bench, ""), "bench"


def short(text: str, n: int = 160) -> str:
    """The first ``n`` characters of a verdict's text, cut at a word."""
    text = " ".join(str(text or "").split())
    return text if len(text) <= n else text[:n].rsplit(" ", 1)[0] + " ..."


def tally(objs: list) -> dict:
    """Headline verdict -> count over every claim object (documents 000-004 together): the one
    count the report, claims.json and the README quote."""
    out = {v: 0 for v in HEADLINE_VERDICTS}
    for o in objs:
        out[o["verdict"]] = out.get(o["verdict"], 0) + 1
    return out


def tally_sentence(objs: list) -> str:
    """The tally in words, as README's summary repeats it (tests compare the two)."""
    t = tally(objs)
    docs = sorted({o["source"][:3] for o in objs})
    parts = ", ".join(f"{n} {v}" for v, n in t.items() if n)
    return f"Of {len(objs)} claims of documents {docs[0]}-{docs[-1]}: {parts}." if objs else "No claims."


def first_screen(objs: list, plain: dict) -> list[dict]:
    """One table per document: rows of (id, plain words, documented, as documented, on the bench,
    verdict, why), from the claim objects alone."""
    out: dict[str, list] = {}
    for o in objs:
        ad, ob = o["as_documented"], o["on_bench"]
        out.setdefault(o["source"], []).append({
            "id": o["id"], "plain": plain.get(o["id"]) or o["quote"], "documented": _doc_text(o),
            "as_documented": f"{ad['verdict']} ({ad['basis']})", "on_bench": ob["verdict"],
            "verdict": o["verdict"], "vclass": CLASS.get(o["verdict"], "notmeasured"), "why": o["why"]})
    return [{"source": s, "rows": rows} for s, rows in sorted(out.items())]


def _doc_text(o: dict) -> str:
    d = o.get("documented")
    if not d or d.get("value") is None:
        return "-"
    from .twin import fmt_value
    return fmt_value(d["value"], d.get("unit")) if isinstance(d["value"], (int, float)) else str(d["value"])
