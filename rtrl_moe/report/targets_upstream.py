"""Library target "upstream-5x": our sparse-rtrl's per-token time at least 5x below upstream's
fastest exact-looking path (its rtrl.py routed as its train.py), both measured in one process.

Read from the ``upstream_rtrl_speed`` protocol records (``rtrl_moe/protocols/upstream_rtrl.py``):
per seed the latest ``ok`` record; the verdict is MET when the median over the seeds of
``metrics.ratio`` (upstream's faster arm / ours, medians over interleaved blocks) is at least
:data:`AT_LEAST`, MISSED below it, NOT MEASURED with no ok record. The rule was fixed before any
record was read. Rows have the shape of :func:`rtrl_moe.report.targets.evaluate`'s, one per
machine.
"""
from __future__ import annotations

import math
import statistics

PIECE = "upstream_rtrl_speed"
ID = "upstream-5x"
AT_LEAST = 5.0
#: above this 1-minute load average the row says the machine was loaded (2 cores here)
LOAD_NOTE = 1.5
TEXT = ("sparse-rtrl per-token time >= 5x below upstream's fastest exact-looking path (its "
        "rtrl.py routed as its train.py, on its cell) on the documents' config, 1 thread, one process")
MET, MISSED, NOT_MEASURED = "MET", "MISSED", "NOT MEASURED"


def _flatten(rec: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in rec.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _rows(records) -> list[dict]:
    """Flat ``{"config.protocol": ..., "metrics.ratio": ...}`` dicts from a records list or the
    report's DataFrame (whose columns are already flat)."""
    if records is None:
        return []
    if hasattr(records, "to_dict"):
        return [] if len(records) == 0 else records.to_dict("records")
    return [_flatten(r) for r in records]


def _num(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _median(rows, key):
    vals = [v for v in (_num(r.get(key)) for r in rows) if v is not None]
    return statistics.median(vals) if vals else None


def _latest_per_seed(rows: list[dict]) -> list[dict]:
    best: dict = {}
    for r in rows:
        seed = r.get("config.seed")
        if seed not in best or str(r.get("created") or "") >= str(best[seed].get("created") or ""):
            best[seed] = r
    return [best[s] for s in sorted(best, key=lambda s: (_num(s) is None, _num(s) or 0))]


def _judge(rows: list[dict]) -> tuple[str, str]:
    ok = _latest_per_seed([r for r in rows if r.get("status") == "ok"])
    if not ok:
        bad = sorted({str(r.get("status")) for r in rows})
        return NOT_MEASURED, (f"no ok {PIECE} record (stored: {', '.join(bad)})" if bad
                              else f"no {PIECE} record in results/")
    ratio = _median(ok, "metrics.ratio")
    if ratio is None:
        return NOT_MEASURED, f"{PIECE} records carry no metrics.ratio"
    ours = _median(ok, "metrics.ms_per_token_sparse_rtrl")
    up = _median(ok, "metrics.ms_per_token_upstream")
    up_state = _median(ok, "metrics.ms_per_token_upstream_state_only")
    seeds = ", ".join(f"{_num(r.get('metrics.ratio')):.2f}" for r in ok
                      if _num(r.get("metrics.ratio")) is not None)
    text = (f"sparse-rtrl {ours:.2f} ms/token; upstream {up:.2f} ms/token as train.py tracks "
            f"(every parameter), {up_state:.2f} with state_* only; ratio to the faster "
            f"{ratio:.2f}x (median of {len(ok)} seed(s): {seeds}; need >= {AT_LEAST:g}x)")
    frac, floor = _median(ok, "metrics.floor_fraction"), _median(ok, "metrics.floor_ns_per_step")
    if frac is not None and floor is not None:
        text += (f"; sparse-rtrl's floor {floor / 1e6:.2f} ms/token (update FLOPs at the "
                 f"same process's bmm rate), floor fraction {frac:.2f}")
        at_floor = _median(ok, "metrics.ratio_at_floor")
        if at_floor is not None:
            text += f"; the ratio with our step at its floor would be {at_floor:.2f}x"
    blocks = _median(ok, "metrics.blocks")
    if blocks is not None:
        text += f"; {blocks:.0f} timed blocks per seed, arms interleaved"
    load = max((v for v in (_num(r.get("metrics.load_avg_1m_max")) for r in ok) if v is not None),
               default=None)
    if load is not None and load > LOAD_NOTE:
        text += (f"; machine loaded (1-min load average up to {load:.1f} on its cores): both "
                 "arms slowed alike, the ratio is the figure to read")
    return (MET if ratio >= AT_LEAST else MISSED), text


def evaluate(records) -> list[dict]:
    """``[{id, target, where, verdict, measured}]``, one per machine (one NOT MEASURED row
    without records). ``records``: the report's DataFrame or a list of record dicts."""
    rows = [r for r in _rows(records) if r.get("config.protocol") == PIECE]
    if not rows:
        return [{"id": ID, "target": TEXT, "where": "", "verdict": NOT_MEASURED,
                 "measured": f"no {PIECE} record in results/"}]
    out = []
    machines = sorted({str(r.get("machine.machine_id")) for r in rows})
    for m in machines:
        sub = [r for r in rows if str(r.get("machine.machine_id")) == m]
        first = sub[0]
        where = " ".join(str(x) for x in (first.get("machine.cpu"),
                                          f"{first.get('machine.cores')} cores",
                                          f"[{m}]") if not _missing(x))
        verdict, text = _judge(sub)
        out.append({"id": ID, "target": TEXT, "where": f"{where} (cpu)", "verdict": verdict,
                    "measured": text})
    return out
