"""The as-documented verdicts on exactness: does the documents' RTRL give BPTT's gradient on the
documents' own model (protocol piece ``upstream_exactness``, rtrl_moe/protocols/exactness.py)?

Rule, fixed before the data:

* metric: the relative L2 error ``||g - g_bptt|| / ||g_bptt||`` of the whole gradient, float64
  (float32 is shown beside and decides nothing), one point per (arm, length, seed);
* a claim is about named arms (its entry's ``exactness_check(arms)``). CONFIRMED when every float64 point of
  every one of them is at most 1e-10 ("exact", the conventions' threshold) at every length and
  seed; REFUTED when any of their float64 points exceeds 1e-6; PARTIAL in between (errors
  above rounding but small); NOT MEASURED when an arm has no points and none of the others
  already exceeds 1e-6.

Which arm each claim is about, read from upstream's code (rtrl_block.py ``BlockRTRL.step``):

* the documents' "RTRL" is their BlockRTRL called with the gate's read and write indices, as
  every training script calls it. Its recursion ``P[W] = J_h[W, R] P[R] + J_theta[W]`` is our
  ``sparse-rtrl-readonly``; with the documents' own gradient assembly (the last product pairs
  ``dL/dh_{t-1}`` with the already advanced ``P``) it is the restated ``blockrtrl-sparse``. Both
  are the documents' RTRL, so 000-exact and 001-sparse-formula are judged on both;
* 001-exact-recursion quotes the dense recursion ``P_t = J_h P_{t-1} + J_theta``: our ``rtrl``,
  and the documents' step with every index and the right pairing (``blockrtrl-full-fixed``).
  The documents' full step as they assemble it (``blockrtrl-full``) is shown beside: its error
  is the gradient assembly's (001's "RTRL Update" / "correctly accumulates gradients"), not the
  recursion's.
"""
from __future__ import annotations

import math
import statistics

import pandas as pd

from .data import col, num
from .evidence import CONFIRMED, NOT_MEASURED, PARTIAL, REFUTED, Evidence, nm, show

PIECE = "upstream_exactness"
EXACT = 1e-10           # the conventions' "exact" (float64)
WRONG = 1e-6            # above this a float64 gradient is not the same gradient
DECIDES = "float64"

DOCS_RTRL = ("sparse-rtrl-readonly", "blockrtrl-sparse")
#: what each arm is, for the text
ARM_TEXT = {
    "rtrl": "dense RTRL (ours)",
    "sparse-rtrl-readonly": "the documents' formula P[W] = J[W,R] P[R] + J_theta[W] (our learner)",
    "sparse-rtrl": "our sparse RTRL (columns R u W, unwritten rows copied)",
    "blockrtrl-sparse": "the documents' BlockRTRL step with the gate's indices, as they assemble "
                        "the gradient",
    "blockrtrl-full": "the documents' BlockRTRL step with every index, as they assemble the "
                      "gradient",
    "blockrtrl-full-fixed": "the documents' step with every index, last product with P_{t-1}",
}


def records(df: pd.DataFrame) -> pd.DataFrame:
    """The ok records of the piece (an empty frame when there are none)."""
    if df is None or len(df) == 0 or "config.protocol" not in df.columns:
        return pd.DataFrame()
    m = (col(df, "config.kind") == "protocol") & (col(df, "config.protocol") == PIECE) \
        & (col(df, "status") == "ok")
    return df[m]


def _metrics(row) -> dict:
    rec = row.get("record") if hasattr(row, "get") else None
    if isinstance(rec, dict):
        return rec.get("metrics") or {}
    return {}


def points(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (record, arm, dtype, length): the record's seed and source beside."""
    out = []
    seeds = num(rows, "config.seed")
    for (i, row), seed in zip(rows.iterrows(), seeds):
        for p in _metrics(row).get("points") or []:
            out.append({**p, "seed": int(seed) if seed == seed else None,
                        "source": row.get("_source", "")})
    return pd.DataFrame(out)


def exactness_verdict(errors) -> str:
    """The rule on the float64 relative errors of the arms a claim is about."""
    v = [float(e) for e in errors]
    if not v:
        return NOT_MEASURED
    if any(not math.isfinite(e) or e > WRONG for e in v):
        return REFUTED
    return CONFIRMED if all(e <= EXACT for e in v) else PARTIAL


def _fmt(e) -> str:
    return f"{e:.2g}"


def _summary(pts: pd.DataFrame, arm: str) -> tuple[list, str]:
    """Display rows (per length: mean and max over seeds in float64, max in float32, the
    lowest cosine) and a one-line text for one arm."""
    rows, parts = [], []
    a = pts[pts["arm"] == arm]
    for T in sorted(set(a["T"])):
        f64 = a[(a["T"] == T) & (a["dtype"] == DECIDES)]
        f32 = a[(a["T"] == T) & (a["dtype"] == "float32")]
        e64 = list(f64["rel_err"])
        row = {"source": f"protocol-{PIECE}", "arm": arm, "T": str(int(T)),
               "seeds": str(len(e64)),
               "rel_err_f64_mean": _fmt(statistics.fmean(e64)) if e64 else "",
               "rel_err_f64_max": _fmt(max(e64)) if e64 else "",
               "rel_err_f32_max": _fmt(max(f32["rel_err"])) if len(f32) else "",
               "cosine_f64_min": f"{min(f64['cosine']):.6f}" if len(f64) else "",
               "worst_param_f64": str(f64.sort_values("worst_param_rel_err").iloc[-1]["worst_param"])
               if len(f64) else ""}
        rows.append(row)
        if e64:
            parts.append(f"T={int(T)}: mean {row['rel_err_f64_mean']}, max {row['rel_err_f64_max']}")
    return rows, f"{arm} ({ARM_TEXT.get(arm, arm)}): float64 rel. error " + "; ".join(parts)


def _script_note(rows: pd.DataFrame) -> str:
    """debug_gradients.py's own comparison (per-parameter cosines, float32), over the seeds."""
    per_arm: dict = {}
    for _, row in rows.iterrows():
        for arm, s in ((_metrics(row).get("script") or {}).get("arms") or {}).items():
            per_arm.setdefault(arm, []).append(s)
    if not per_arm:
        return "debug_gradients.py's comparison: not in the records"
    bits = [f"{arm}: lowest per-parameter cosine {min(s['min_cos'] for s in v):.3f}, "
            f"{sum(s['below_0.99'] for s in v)} parameter(s) below 0.99 over {len(v)} seed(s)"
            for arm, v in per_arm.items()]
    return ("debug_gradients.py's own comparison (a^n b^m, d_in = d_out = 2, float32; it "
            "prints per-parameter cosines and sets no tolerance): " + "; ".join(bits))


def judge_arms(df: pd.DataFrame, arms, context=("blockrtrl-full", "sparse-rtrl")) -> Evidence:
    """The rule on ``arms``; ``context`` arms are shown and decide nothing."""
    rows = records(df)
    if len(rows) == 0:
        return nm(f"no records of protocol piece {PIECE!r} (python -m rtrl_moe.protocols run "
                  f"--piece {PIECE})")
    pts = points(rows)
    if len(pts) == 0:
        return nm(f"the {PIECE} records carry no points")
    f64 = pts[pts["dtype"] == DECIDES]
    errors, texts, display, missing = [], [], [], []
    for arm in arms:
        e = list(f64[f64["arm"] == arm]["rel_err"])
        if not e:
            missing.append(arm)
            continue
        errors += e
        r, t = _summary(pts, arm)
        display += r
        texts.append(t)
    verdict = exactness_verdict(errors)
    if missing and verdict != REFUTED:
        verdict = NOT_MEASURED
    for arm in context:
        if arm not in arms and arm in set(pts["arm"]):
            r, t = _summary(pts, arm)
            display += r
            texts.append("beside, deciding nothing: " + t)
    worst = max(errors) if errors else math.nan
    text = (f"worst float64 rel. error of {', '.join(arms)}: {_fmt(worst)} "
            f"(exact means <= {EXACT:g}, wrong > {WRONG:g}); " + " | ".join(texts))
    if missing:
        text += f"; no points of {', '.join(missing)}"
    routing = f64.drop_duplicates(["seed", "T"]) if "slots_written" in f64.columns else None
    notes = [f"rule: every float64 point of {', '.join(arms)} <= {EXACT:g} CONFIRMED; any > "
             f"{WRONG:g} REFUTED; else PARTIAL",
             "arms: " + "; ".join(f"{a} = {ARM_TEXT.get(a, a)}" for a in arms),
             _script_note(rows)]
    if routing is not None and len(routing):
        notes.append("routing per (seed, T): " + ", ".join(
            f"s{int(r.seed)}/T{int(r.T)}: {int(r.slots_written)} slots written, "
            f"{int(r.write_set_changes)} changes" for r in routing.itertuples()))
    return Evidence(verdict, text, display + show(rows, []), None, notes, worst,
                    "relative error")


def exactness_check(arms: tuple):
    """The check a claim entry names for the arms it is about (this module's rule on them)."""
    def check(df) -> Evidence:
        return judge_arms(df, arms)
    check.__doc__ = f"the rule of this module on {', '.join(arms)}"
    return check


def check(df) -> Evidence:
    """The piece's verdict: the documents' RTRL (their sparse BlockRTRL, :data:`DOCS_RTRL`)."""
    return judge_arms(df, DOCS_RTRL)


CHECKS = {PIECE: check}

_U = "jmCabrillana/rtrl_moe"
DOCUMENTED = {
    PIECE: {
        "documented": "RTRL is exact (000: 'RTRL is not an approximation - it computes exact "
                      "gradients'; 001: 'P_t = J_h @ P_{t-1} + J_theta', 'the core algorithm "
                      "correctly implements sparse sensitivity updates')",
        "figure": "exact gradients (no figure; the documents never measured it)",
        "script": f"{_U}:debug_gradients.py@7f2998d (Test 3, per-parameter cosine, no "
                  f"tolerance); BlockRTRL of rtrl_block.py@81120cf, model moe.py@81120cf",
        "basis": "measured",
    },
}
