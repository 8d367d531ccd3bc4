"""The report's sections beside the claims of documents 000-003: document 004 (PonderTTT),
the online learners' frontier (not a documented claim), and where the RTRL step's time goes.

Each builds plain rows (and a figure) for the templates; document 004's claims also become
objects of reports/claims.json, in the same shape as the others.
"""
from __future__ import annotations

import pandas as pd

from . import figures, frontier, phases, ponder, ponder_bench, ponder_frontier, twin
from .evidence import NOT_MEASURED

#: what 004's verdicts rest on: the document's own commands, run on our torch rebuild
PONDER_AS_DOCUMENTED = ("; the document's commands as written, on our torch rebuild (TTT-Linear update on a "
                        "random-init GPT-2; the seed's UPDATE_k is k Adam steps on all weights)")
PONDER_ON_BENCH = ("not measured on the bench: this claim is about the document's own commands (their times, "
                   "GPU figures or printed lines); the pretrained-backbone runs (SmolLM2-135M, "
                   "ponder_bench.py) judge the loss and cost claims")


def _figure(fig, kind: str, title: str, caption: str):
    if fig is None:
        return None
    from .figure_out import FigureOut
    return FigureOut(kind, f"fig-{kind}", title, caption, figures.png(fig), f"figures/{kind}.png")


def ponder_claims(df: pd.DataFrame) -> list[dict]:
    out = []
    bench = ponder_bench.verdicts(df)
    for c in ponder.evaluate(df):
        out.append({"id": c.id, "source": ponder.SOURCE, "quote": c.quote,
                    "documented": {"value": c.documented, "unit": None} if c.documented else None,
                    "measured": {"value": c.measured, "unit": None} if c.measured else None,
                    "ratio": c.ratio, "verdict": c.verdict, "rule": c.rule,
                    "workload": c.workload,
                    "records": [{"record": r.split(" (")[0], "run_id": r.split(" (")[-1][:-1],
                                 "commit": None, "stale": None,
                                 "stale_reason": "ponderttt records carry no rtrl_moe fingerprint"}
                                for r in c.records],
                    "stale": None, "stale_reason": "ponderttt's code is not fingerprinted",
                    **twin.two_verdicts(
                        {"verdict": c.verdict, "basis": "measured" if c.verdict != NOT_MEASURED else "not run",
                         "text": (c.measured or "not measured") + PONDER_AS_DOCUMENTED, "pieces": [],
                         "script": "the quick start's commands (ponderttt.experiments.document)", "records": []},
                        bench.get(c.id, {"verdict": NOT_MEASURED, "text": PONDER_ON_BENCH}), c.id)})
    return out


def frontier_section(df: pd.DataFrame) -> dict:
    tab = frontier.table(df)
    tables = []
    for mt, rows in sorted(tab.items()):
        f = frontier.formatted(rows)
        cols = [k for k in (f[0] if f else {}) if k != "model"]
        tables.append({"model": "documents' MoE" if mt == "moe" else "tanh RNN", "cols": cols,
                       "rows": f})
    fig = _figure(frontier.figure(tab), "frontier", "Online learners: bias versus cost",
                  "Cosine of each learner's gradient to BPTT's at the longest length measured, "
                  "against its time per token and its state at T=256, and its held-out accuracy "
                  "per task (mean and 95% interval over seeds, chance dashed) against its time "
                  "per token; one model per row.")
    return {"tables": tables, "figure": fig}


def ponder_frontier_section(df: pd.DataFrame) -> dict:
    tab = ponder_frontier.table(df)
    tables = []
    for (scale, data), rows in sorted(tab.items()):
        f = ponder_frontier.formatted(rows)
        tables.append({"title": f"{scale}, {ponder_frontier.DATA_NAME.get(data, data)} "
                                f"(pipeline check: random-init GPT-2, not evidence about TTT)",
                       "cols": list(f[0]) if f else [], "rows": f})
    fig = _figure(ponder_frontier.figure(tab), "ponder-frontier", "PonderTTT: loss vs cost per chunk",
                  "Held-out loss against average nominal cost per chunk (SKIP 1, UPDATE_1 3, UPDATE_2 5, "
                  "UPDATE_4 12): fixed actions joined, the oracle dashed, gate and PPO per setting; mean "
                  "± 95% CI over seeds; one panel per scale and data.")
    return {"tables": tables, "figure": fig, "headline": ponder_frontier.headline(tab)}


def phases_section(df: pd.DataFrame) -> dict:
    rows = phases.bars(df)
    fmt = [{"config": r["config"], "learner": r["learner"], "T": r["T"],
            **{p: f"{r[p]:.2f}" for p in phases.PHASES}, "step ms": f"{r['step']:.2f}",
            "floor ms": "" if r["floor"] is None else f"{r['floor']:.2f}",
            "floor fraction": "" if r["floor_fraction"] is None else f"{r['floor_fraction']:.2f}"}
           for r in rows]
    fig = _figure(phases.figure(rows), "phases", "Where the time goes",
                  "Each RTRL learner's step split by its own phase clock (ms per token), the "
                  "update's floor marked; one panel per model config.")
    return {"rows": fmt, "cols": list(fmt[0]) if fmt else [], "figure": fig}


def ponder_pretrained_section(df: pd.DataFrame) -> dict:
    """Document 004 on a pretrained backbone (issue 24): the TTT-Linear frontier per data set
    and the seed's full-weight UPDATE_k, from the ``pretrained`` records (SmolLM2-135M)."""
    ttt, full = ponder_bench.ttt_table(df), ponder_bench.full_table(df)
    tables = []
    for data, rows in sorted(ttt.items()):
        f = ponder_bench.formatted(rows)
        tables.append({"title": f"TTT-Linear, SmolLM2-135M, {ponder_bench.DATA_NAME.get(data, data)}",
                       "cols": list(f[0]) if f else [], "rows": f})
    for data, rows in sorted(full.items()):
        f = ponder_bench.formatted(rows)
        tables.append({"title": f"full-weight UPDATE_k (the seed's), SmolLM2-135M, "
                                f"{ponder_bench.DATA_NAME.get(data, data)}",
                       "cols": list(f[0]) if f else [], "rows": f})
    return {"tables": tables, "headline": ponder_bench.headline(ttt)}
