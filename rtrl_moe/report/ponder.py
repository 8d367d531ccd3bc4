"""Document 004 (PonderTTT's quick start): its checkable claims beside the `ponder` records.

Each claim names its workload (the document's command: scale 125m, its action, its number of
chunks, synthetic or stdlib data) and its rule, declared here before any record is read:

* losses: the documented value with an absolute tolerance of 0.1 nats (the document writes
  them to one decimal); the improvement "~0.1" is CONFIRMED in [0.05, 0.2], PARTIAL in
  (0, 0.05) or (0.2, 0.4], REFUTED otherwise;
* per-chunk cost "cost=60.0 (3x per chunk)" (issue 32): judged on the document's own mode only,
  the full-weight UPDATE_k, on the bench (ponder_bench.cost_verdicts: FLOPs and interleaved time
  each within 1.5x of the documented multiple). The runs here are TTT-Linear on a random-init
  GPT-2, another mode, so this side is NOT MEASURED for cost; no mode is picked because it passes;
* durations ("1-2 minutes", "5-10 minutes" on CPU): the end-to-end time of the command within
  the documented range is CONFIRMED, within twice its upper bound PARTIAL, else REFUTED; a
  timing taken under load (1-minute load average above threads + 0.5) says so;
* GPU figures: NOT MEASURED without a GPU record.

Records come only from the document's own runs (labels ``doc-quick``, ``doc-first``,
``doc-real`` and ``command-*``: ``results/ponder/document.jsonl``, migrated in issue 32); records of two scales are never pooled.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from .data import col, num
from .evidence import CONFIRMED, NOT_MEASURED, PARTIAL, REFUTED

SOURCE = "004_ca5ad81251189e34.txt"
SCALE = "125m"
NOMINAL = {"SKIP": 1, "UPDATE_1": 3, "UPDATE_2": 5, "UPDATE_4": 12}


@dataclass
class PonderClaim:
    id: str
    quote: str
    rule: str
    workload: dict
    verdict: str = NOT_MEASURED
    documented: str = ""
    measured: str = ""
    ratio: float | None = None
    records: list = field(default_factory=list)


def _ponder(df: pd.DataFrame) -> pd.DataFrame:
    if len(df) == 0 or "config.kind" not in df.columns:
        return df.iloc[0:0]
    d = df[(col(df, "config.kind") == "ponder") & (col(df, "status") == "ok")]
    return d[col(d, "config.model_scale").astype(str) == SCALE]


def _runs(d: pd.DataFrame, label: str, data: str = "synthetic") -> pd.DataFrame:
    return d[(col(d, "config.label").astype(str) == label)
             & (col(d, "config.data").astype(str) == data)]


def _by_action(runs: pd.DataFrame, metric: str) -> dict:
    out = {}
    for a, g in runs.groupby(col(runs, "config.action").astype(str), sort=True):
        out[a] = float(num(g, metric).median())
    return out


def _refs(rows: pd.DataFrame) -> list:
    return [f"{s} ({r})" for s, r in zip(col(rows, "_source"), col(rows, "run_id"))]


def _loaded(rows: pd.DataFrame) -> str:
    load = num(rows, "metrics.load_avg_1m")
    thr = num(rows, "metrics.threads").fillna(1)
    return " (timed under load: load average up to %.1f)" % load.max() \
        if (load > thr + 0.5).any() else ""


def _band(x: float, lo: float, hi: float, slack: float) -> str:
    if lo <= x <= hi:
        return CONFIRMED
    return PARTIAL if lo / slack <= x <= hi * slack else REFUTED


def evaluate(df: pd.DataFrame) -> list[PonderClaim]:
    d = _ponder(df)
    first = _runs(d, "doc-first")
    real = _runs(d, "doc-real", "stdlib")
    quick = _runs(d, "doc-quick")
    cmds = d[col(d, "config.label").astype(str).str.startswith("command-")] if len(d) else d
    out = []

    # -- losses on random tokens --------------------------------------------------------
    c = PonderClaim("004-quick-avg-11.024", "Average loss: 11.024",
                    "average loss of the quick validation (SKIP, 10 chunks) within 0.1 of 11.024",
                    {"command": "train_baseline --model_scale 125m --action SKIP --num_chunks 10",
                     "data": "synthetic", "label": "doc-quick"}, documented="11.024")
    if len(quick):
        x = float(num(quick, "metrics.average_loss").median())
        c.measured, c.ratio = f"{x:.3f}", x / 11.024
        c.verdict = CONFIRMED if abs(x - 11.024) <= 0.1 else REFUTED
        c.records = _refs(quick)
    out.append(c)

    loss = _by_action(first, "metrics.average_loss")
    c = PonderClaim("004-skip-11.0", "SKIP baseline: ~11.0 loss",
                    "average loss of the SKIP run within 0.1 of 11.0",
                    {"command": "train_baseline --model_scale 125m --action SKIP --num_chunks 20",
                     "data": "synthetic", "label": "doc-first"}, documented="11.0")
    if "SKIP" in loss:
        x = loss["SKIP"]
        c.measured, c.ratio = f"{x:.3f} (uniform-token floor ln 50257 = {math.log(50257):.3f})", x / 11.0
        c.verdict = CONFIRMED if abs(x - 11.0) <= 0.1 else REFUTED
        c.records = _refs(first[col(first, "config.action") == "SKIP"])
    out.append(c)

    c = PonderClaim("004-update-10.9", "UPDATE_1/2/4: ~10.9 loss (marginal improvement expected)",
                    "each UPDATE_k's average loss within 0.1 of 10.9 (all three: CONFIRMED; "
                    "some: PARTIAL; none: REFUTED)",
                    {"command": "train_baseline --action UPDATE_k --num_chunks 20",
                     "data": "synthetic", "label": "doc-first"}, documented="10.9")
    ups = {a: v for a, v in loss.items() if a.startswith("UPDATE")}
    if ups:
        ok = [abs(v - 10.9) <= 0.1 for v in ups.values()]
        c.verdict = CONFIRMED if all(ok) and len(ups) == 3 else (PARTIAL if any(ok) else REFUTED)
        c.measured = "; ".join(f"{a} {v:.3f}" for a, v in ups.items())
        c.records = _refs(first[col(first, "config.action").astype(str).str.startswith("UPDATE")])
    out.append(c)

    c = PonderClaim("004-marginal-0.1", "TTT improvement is marginal (~0.1) on synthetic data",
                    "SKIP loss minus the best UPDATE_k loss: CONFIRMED in [0.05, 0.2], PARTIAL "
                    "in (0, 0.05) or (0.2, 0.4], else REFUTED",
                    {"label": "doc-first", "data": "synthetic"}, documented="0.1")
    if "SKIP" in loss and ups:
        gain = loss["SKIP"] - min(ups.values())
        c.measured, c.ratio = f"{gain:+.3f} nats", gain / 0.1
        c.verdict = CONFIRMED if 0.05 <= gain <= 0.2 else (
            PARTIAL if 0 < gain <= 0.4 else REFUTED)
        c.records = _refs(first)
    out.append(c)

    c = PonderClaim("004-real-differentiates", "Real code data will show more differentiation",
                    "spread of the four actions' average losses (max - min) on the stdlib code "
                    "larger than on random tokens",
                    {"labels": ["doc-first", "doc-real"], "data": ["synthetic", "stdlib"]})
    real_loss = _by_action(real, "metrics.average_loss")
    if len(loss) >= 2 and len(real_loss) >= 2:
        s_syn = max(loss.values()) - min(loss.values())
        s_real = max(real_loss.values()) - min(real_loss.values())
        c.measured = f"spread {s_real:.3f} nats on stdlib code vs {s_syn:.3f} on random tokens"
        c.ratio = s_real / s_syn if s_syn else None
        c.verdict = CONFIRMED if s_real > s_syn else REFUTED
        c.records = _refs(pd.concat([first, real]))
    out.append(c)

    # -- cost per chunk -----------------------------------------------------------------
    out += _costs(first)

    # -- the quick validation's printed lines ---------------------------------------------
    out += _quick_lines(quick)
    out.append(_no_errors(df))

    # -- durations ----------------------------------------------------------------------
    for cid, quote, group, lo, hi in (
            ("004-quick-1-2min", "should complete in 1-2 minutes on CPU", "command-quick", 60, 120),
            ("004-first-5-10min", "**Time**: ~5-10 minutes on CPU", "command-first", 300, 600)):
        c = PonderClaim(cid, quote, f"end-to-end seconds of the command(s) in [{lo}, {hi}] "
                        f"(CONFIRMED), up to {2 * hi} (PARTIAL), else REFUTED",
                        {"label": group, "scale": SCALE}, documented=f"{lo}-{hi} s")
        rows = cmds[col(cmds, "config.label").astype(str) == group] if len(cmds) else cmds
        if len(rows):
            total = float(num(rows, "metrics.end_to_end_s").sum())
            c.measured = f"{total:.0f} s over {len(rows)} command(s)" + _loaded(rows)
            c.ratio = total / hi
            c.verdict = _band(total, lo, hi, 2)
            c.records = _refs(rows)
        out.append(c)

    # -- the Second Experiment (train_policy, 125m, 10 iterations): "hours on CPU" -------------
    c = PonderClaim("004-policy-cpu-hours", "Expected time: ~10-15 minutes on GPU (hours on CPU)",
                    "CPU part: end-to-end seconds of the document's train_policy command (125m, 10 "
                    "iterations) >= 3600 (hours) holds, 1800..3600 PARTIAL, < 1800 REFUTED; the GPU part "
                    "is NOT MEASURED without a GPU record, so the claim is at best PARTIAL; REFUTED when "
                    "the CPU part is. Our train_policy computes each chunk's four outcomes once and trains "
                    "PPO on them (docs/PONDERTTT.md): the document's code may do more per iteration",
                    {"label": "command-policy", "scale": SCALE, "device": "cpu"},
                    documented="hours on CPU (>= 3600 s); 600-900 s on GPU")
    rows = cmds[col(cmds, "config.label").astype(str) == "command-policy"] if len(cmds) else cmds
    if len(rows):
        total = float(num(rows, "metrics.end_to_end_s").median())
        cpu = CONFIRMED if total >= 3600 else (PARTIAL if total >= 1800 else REFUTED)
        c.measured = (f"{total:.0f} s ({total / 60:.1f} min) end to end on this CPU over {len(rows)} run(s); "
                      f"GPU not measured" + _loaded(rows))
        c.ratio = total / 3600
        c.verdict = REFUTED if cpu == REFUTED else PARTIAL
        c.records = _refs(rows)
    out.append(c)

    for cid, quote in (("004-gpu-1min", "<1 minute on GPU"),
                       ("004-cpu-10-100x", "GPU required for production training (CPU is 10-100× "
                                           "slower)")):
        gpu = d[col(d, "config.device").astype(str).str.startswith("cuda")] if len(d) else d
        c = PonderClaim(cid, quote, "needs the same command timed on a GPU",
                        {"device": "cuda", "scale": SCALE})
        c.measured = "not measured: no GPU record in results/" if len(gpu) == 0 else \
            "GPU records present but this check is not written yet"
        out.append(c)
    return out


def _costs(first: pd.DataFrame) -> list:
    """004-cost-update_k (issue 32): judged on the document's own mode only.

    The documented multiples (3 / 5 / 12 a chunk) are about the seed's UPDATE_k, k Adam steps
    on all the weights; the runs of this side (TTT-Linear on a random-init GPT-2) are another
    mode, so this side is NOT MEASURED for cost and the verdict is the bench's full-weight
    measurement (ponder_bench.cost_verdicts). The CLI's printed total is quoted (an accounting
    table, not a measurement)."""
    out = []
    for a, mult in NOMINAL.items():
        if a == "SKIP":
            continue
        doc_total = 20.0 * mult
        c = PonderClaim(f"004-cost-{a.lower()}", f"{a}: ~10.9 loss, cost={20 * mult}.0 ({mult}× per chunk)",
                        f"judged on the document's own mode only, the full-weight {a} (k Adam steps on all "
                        f"weights): its ratio to SKIP on torch-counted FLOPs per chunk and on interleaved "
                        f"wall time, each within 1.5x of {mult} CONFIRMED, beyond 2x REFUTED, else PARTIAL, "
                        "the two agreeing (else PARTIAL); the TTT-Linear mode's ratios are quoted, never "
                        "judged; declared before the data (issue 32)",
                        {"mode": "full-weight UPDATE_k", "backbone": "smollm2-135m", "action": a},
                        documented=f"cost {doc_total:g} ({mult}x per chunk)")
        run = first[col(first, "config.action").astype(str) == a] if len(first) else first
        if len(run) and "metrics.total_cost" in run.columns and num(run, "metrics.total_cost").notna().any():
            total = float(num(run, "metrics.total_cost").median())
            c.measured = (f"not the document's mode here (TTT-Linear on random-init GPT-2): the CLI prints "
                          f"total_cost {total:g} (documented {doc_total:g}, an accounting table)")
            c.records = _refs(run)
        else:
            c.measured = "not measured on the document's mode under its own protocol"
        c.verdict = NOT_MEASURED
        out.append(c)
    return out


def _quick_lines(quick: pd.DataFrame) -> list:
    """The quick validation's expected output, line by line: per-chunk losses (the module's 0.1-nat
    tolerance) and the printed total cost (the CLI's units, exact)."""
    out = []
    losses = None
    if len(quick) and "metrics.chunk_losses" in quick.columns:
        ls = [v for v in quick["metrics.chunk_losses"] if isinstance(v, list) and v]
        losses = ls[0] if ls else None
    for i, (quote, doc) in enumerate((("Chunk 1/10: loss=11.045", 11.045), ("Chunk 2/10: loss=11.032", 11.032))):
        c = PonderClaim(f"004-quick-chunk{i + 1}", quote,
                        f"loss of chunk {i + 1} of the quick validation (SKIP, 10 chunks) within 0.1 of {doc}",
                        {"command": "train_baseline --model_scale 125m --action SKIP --num_chunks 10",
                         "data": "synthetic", "label": "doc-quick"}, documented=f"{doc}")
        if losses is not None and len(losses) > i and losses[i] is not None:
            x = float(losses[i])
            c.measured, c.ratio = f"{x:.3f}", x / doc
            c.verdict = CONFIRMED if abs(x - doc) <= 0.1 else REFUTED
            c.records = _refs(quick)
        out.append(c)
    c = PonderClaim("004-quick-total-cost", "Total cost: 10.0 (baseline)",
                    "the quick validation's reported total_cost equals 10.0 (10 SKIP chunks x 1 unit) -> CONFIRMED, "
                    "else REFUTED", {"command": "train_baseline --model_scale 125m --action SKIP --num_chunks 10",
                                     "data": "synthetic", "label": "doc-quick"}, documented="10.0")
    if len(quick) and "metrics.total_cost" in quick.columns and num(quick, "metrics.total_cost").notna().any():
        x = float(num(quick, "metrics.total_cost").median())
        c.measured, c.ratio = f"total_cost {x:g}", x / 10.0
        c.verdict = CONFIRMED if abs(x - 10.0) < 1e-9 else REFUTED
        c.records = _refs(quick)
    out.append(c)
    return out


def _no_errors(df: pd.DataFrame) -> PonderClaim:
    """'No errors or crashes': every record of the document's own commands (labels doc-* and
    command-*, the 125m scale) finished with status ok; one that did not refutes it."""
    c = PonderClaim("004-no-errors", "- No errors or crashes",
                    "every record of the document's commands (labels doc-*, command-*; 125m) has status ok -> "
                    "CONFIRMED; any other status -> REFUTED",
                    {"labels": "doc-*, command-*", "scale": SCALE})
    if len(df) == 0 or "config.kind" not in df.columns:
        return c
    d = df[(col(df, "config.kind") == "ponder") & (col(df, "config.model_scale").astype(str) == SCALE)]
    lab = col(d, "config.label").astype(str) if len(d) else pd.Series([], dtype=str)
    d = d[lab.str.startswith("doc-") | lab.str.startswith("command-")] if len(d) else d
    if len(d) == 0:
        return c
    st = col(d, "status").astype(str)
    bad = d[st != "ok"]
    c.verdict = CONFIRMED if len(bad) == 0 else REFUTED
    c.measured = (f"{len(d)} runs, all ok" if len(bad) == 0 else
                  f"{len(bad)} of {len(d)} runs not ok: " + ", ".join(sorted(set(col(bad, 'status').astype(str)))))
    c.records = _refs(d)
    return c
