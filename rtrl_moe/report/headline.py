"""A claim's two verdicts joined into the one its row leads with, and each side worded as an answer.

The rule (docs/VERDICTS.md), fixed before the data of each claim:

* both REFUTED -> REFUTED;
* on the bench REFUTED and the refutation holds of any implementation (the claim entry's
  ``structural`` reason: RTRL must hold H x P sensitivities; the documents' formula is inexact by
  algebra) -> REFUTED;
* on the bench REFUTED, and the number reproduces under the document's own protocol (a measured
  re-run, not arithmetic) -> HOLDS AS DOCUMENTED ONLY: the document passes its own test and fails
  the bench's stronger one, which ran a different experiment (the entry's ``differs`` says how);
* on the bench REFUTED otherwise -> NOT REPRODUCED ON THE BENCH (rests on our re-implementation);
* as documented REFUTED (the number does not come back under the document's own protocol):
  REFUTED, unless the bench CONFIRMS the claim, then PARTIAL;
* NOT SUPPORTED (both arms at chance) on one side: PARTIAL where the other side CONFIRMS it or
  holds in part, else NOT SUPPORTED;
* otherwise the bench's verdict, or the documented protocol's where the bench has none.

The row's "why" is the rule's clause only; the numbers are in the two answers, each written from
its own side's evidence, so a sentence never quotes the other side's figures.
"""
from __future__ import annotations

from .evidence import CONFIRMED, NOT_MEASURED, NOT_SUPPORTED, PARTIAL, REFUTED
from .fmt import fmt_value

NOT_REPRODUCED = "NOT REPRODUCED ON THE BENCH"
#: reproduces under the document's own protocol, refuted by the bench's stronger (different) test
AS_DOCUMENTED_ONLY = "HOLDS AS DOCUMENTED ONLY"
#: every value a claim's headline ``verdict`` can take, in the summary's order
HEADLINE_VERDICTS = (CONFIRMED, AS_DOCUMENTED_ONLY, PARTIAL, NOT_REPRODUCED, REFUTED, NOT_SUPPORTED, NOT_MEASURED)
CLASS = {CONFIRMED: "confirmed", REFUTED: "refuted", NOT_REPRODUCED: "notreproduced", PARTIAL: "partial",
         NOT_SUPPORTED: "notsupported", NOT_MEASURED: "notmeasured", AS_DOCUMENTED_ONLY: "asdocumented"}
#: a measured re-run of the document's experiment (not arithmetic, not a printed constant)
MEASURED_BASES = ("measured",)

def headline(as_documented: str, on_bench: str, structural: str = "", basis: str = "measured") -> tuple[str, str]:
    """(verdict, why) of a claim from its two verdicts."""
    v, why, _ = decide(as_documented, on_bench, structural, basis)
    return v, why


def decide(as_documented: str, on_bench: str, structural: str = "", basis: str = "measured") -> tuple[str, str, str]:
    """(verdict, why, side): ``side`` is the verdict whose evidence decided ("bench",
    "documented" or "both"). ``structural``: the claim entry's reason why a bench refutation holds
    of any implementation ('' where it rests on our model); ``basis``: the as-documented verdict's
    basis (as_documented.py)."""
    if on_bench == REFUTED and as_documented == REFUTED:
        return REFUTED, "refuted under the document's own protocol and on the bench", "both"
    if on_bench == REFUTED:
        if structural:
            return REFUTED, f"refuted on the bench, and not by our model alone: {structural}", "bench"
        if as_documented == CONFIRMED and basis in MEASURED_BASES:
            return (AS_DOCUMENTED_ONLY, "the document's number comes back under its own protocol; the claim "
                    "fails the bench's stronger test, which is a different experiment", "both")
        return NOT_REPRODUCED, ("refuted on the bench's re-implementation only"
                                + ("; the document's own protocol was not re-run" if as_documented == NOT_MEASURED
                                   else "")), "bench"
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


#: the as-documented verdict in words, by basis (as_documented.py) and verdict
_DOC_ANSWER = {
    "measured": {CONFIRMED: "reproduces under its own protocol", PARTIAL: "reproduces in part under its own protocol",
                 REFUTED: "does not reproduce under its own protocol",
                 NOT_SUPPORTED: "uninformative under its own protocol (both arms at chance)",
                 NOT_MEASURED: "its protocol's records are missing"},
    "arithmetic": {CONFIRMED: "the document's sum is right (arithmetic, not a measurement)",
                   REFUTED: "the document's sum is wrong", PARTIAL: "the document's sums are right in part"},
    "constant": {CONFIRMED: "a constant the script prints, not a measurement",
                 REFUTED: "a constant the script prints, quoted wrong", PARTIAL: "a printed constant, in part"},
}
_BENCH_ANSWER = {CONFIRMED: "holds on the bench", PARTIAL: "holds in part on the bench",
                 REFUTED: "does not hold on the bench", NOT_SUPPORTED: "uninformative on the bench (both arms at chance)",
                 NOT_MEASURED: "not measured on the bench"}


def doc_answer(verdict: str, basis: str) -> str:
    """The as-documented verdict as an answer (no verdict label and basis in brackets)."""
    if basis in ("not run", "no protocol") or verdict == NOT_MEASURED and basis not in _DOC_ANSWER:
        return "not re-run under its own protocol"
    return _DOC_ANSWER.get(basis, _DOC_ANSWER["measured"]).get(verdict, verdict.lower())


def bench_answer(verdict: str) -> str:
    return _BENCH_ANSWER.get(verdict, verdict.lower())


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


def clauses(text: str, limit: int = 320) -> str:
    """Whole '; '-separated clauses of an evidence text up to about ``limit`` characters (the rest
    is in the claim's evidence block): never a figure cut in half."""
    parts, out = [p.strip() for p in str(text or "").split("; ") if p.strip()], []
    for p in parts:
        if out and len("; ".join(out + [p])) > limit:
            out.append("...")
            break
        out.append(p)
    return "; ".join(out)


def first_screen(objs: list, plain: dict) -> list[dict]:
    """One table per document: per claim its plain words, the two answers (each with its own
    evidence), the verdict and the rule's clause, from the claim objects alone."""
    out: dict[str, list] = {}
    for o in objs:
        ad, ob = o["as_documented"], o["on_bench"]
        quiet = ad.get("basis") == "no protocol"      # nothing was re-run: the answer says so
        out.setdefault(o["source"], []).append({
            "id": o["id"], "plain": plain.get(o["id"]) or o["quote"], "documented": _doc_text(o),
            "doc_answer": ad.get("answer") or doc_answer(ad["verdict"], ad.get("basis", "")),
            "doc_text": "" if quiet else clauses(ad.get("text", "")),
            "bench_answer": ob.get("answer") or bench_answer(ob["verdict"]),
            "bench_text": clauses(ob.get("text", "")), "differs": ob.get("differs", ""),
            "as_documented": f"{ad['verdict']} ({ad.get('basis', '')})", "on_bench": ob["verdict"],
            "verdict": o["verdict"], "vclass": CLASS.get(o["verdict"], "notmeasured"), "why": o["why"],
            "stale": o.get("stale") is True})
    return [{"source": s, "rows": rows} for s, rows in sorted(out.items())]


def _doc_text(o: dict) -> str:
    d = o.get("documented")
    if not d or d.get("value") is None:
        return "-"
    return fmt_value(d["value"], d.get("unit")) if isinstance(d["value"], (int, float)) else str(d["value"])
