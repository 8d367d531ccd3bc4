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
    """Adaptive compute against the bare backbone and the best fixed action at equal cost, both
    update modes (issue 32; ponder_frontier.py, numbers from ponder_bench.py)."""
    rows = ponder_frontier.adaptive_rows(df)
    f = ponder_bench.formatted(rows)
    tables = [{"title": "gate and PPO against the best mix of fixed actions at equal cost (per seed, 95% interval)",
               "cols": list(f[0]), "rows": f}] if f else []
    fig = _figure(ponder_frontier.figure(df), "ponder-frontier",
                  "PonderTTT: loss against the bare backbone vs cost a chunk",
                  "Loss minus the bare SmolLM2-135M's (nats/token; 0 dotted) against the average cost a chunk "
                  "in the document's units (SKIP 1, UPDATE_1 3, UPDATE_2 5, UPDATE_4 12), one panel per data "
                  "set: both update modes, fixed actions joined, gate and PPO as open markers (mean and 95% "
                  "interval over seeds), the TTT mode's budget oracle dashed.")
    return {"tables": tables, "figure": fig, "headline": ponder_frontier.headline(df),
            "intro": PONDER_FRONTIER_INTRO}


PONDER_FRONTIER_INTRO = (
    "Not a claim of the document (its \"Second Experiment\" is \"Not yet run\"). Both update modes on "
    "SmolLM2-135M, each against the bare backbone: the TTT layer (trained slow weights, each chunk from the "
    "learned fast weights) and the seed's full-weight UPDATE_k (carried). The gate (reads the chunk's "
    "reconstruction loss, or in the full mode its loss before the update) and PID-Lagrangian PPO at each "
    "budget, against the lower convex hull of the fixed actions at the same cost, per seed.")

PONDER_PRETRAINED_INTRO = (
    "The claims' on_bench verdicts rest on these runs (python -m ponderttt.experiments.pretrained; "
    "docs/PONDERTTT.md). Every loss is against the bare backbone (SmolLM2-135M with no layer, on the same "
    "chunks). Recovery = (loss_bare - loss) / (loss_bare - loss_oracle at the method's budget), 0 where the "
    "oracle has no headroom, every seed counted (a policy that never updates scores 0); only the TTT mode "
    "has an exact oracle. Cost claims are judged on the full-weight mode only.")


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
    """Document 004 on SmolLM2-135M (issue 32): per update mode and data set every action against
    the bare backbone, the TTT layer's train / validation / held-out losses, and plain sentences
    wherever SKIP or the oracle is worse than the bare model."""
    tables = []
    tr = ponder_bench.formatted(ponder_bench.training_rows(df))
    if tr:
        tables.append({"title": "TTT layer: train / validation / held-out loss of the kept layer (best "
                                "validation step), mean over seeds", "cols": list(tr[0]), "rows": tr})
    for update in ("ttt", "full"):
        for data, rows in ponder_bench.table(df, update).items():
            f = ponder_bench.formatted(rows)
            tables.append({"title": f"{ponder_bench.MODE_NAME[update]}, SmolLM2-135M, "
                                    f"{ponder_bench.DATA_NAME.get(data, data)}",
                           "cols": list(f[0]) if f else [], "rows": f})
    warn = ponder_bench.bare_findings(df)
    head = ponder_bench.headline(df)
    if tables and not warn:
        head = [f"On every data set and in both modes SKIP is within {ponder_bench.SKIP_TOLERANCE} nats of the "
                "bare backbone and the oracle is not worse than it."] + head
    return {"tables": tables, "headline": warn + head, "warnings": warn, "intro": PONDER_PRETRAINED_INTRO}


def ponder_finding(df: pd.DataFrame) -> dict:
    """The lead's first screen: one plain sentence from the deciding numbers (issue 32)."""
    return ponder_bench.finding(df)
