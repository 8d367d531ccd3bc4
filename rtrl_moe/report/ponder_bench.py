"""Document 004 on the bench: its claims judged on a pretrained backbone, everything against the
bare backbone (issues 24 and 32).

Records: ``ponderttt.experiments.pretrained`` (kind ``ponder``, label ``issue32``), backbone
``smollm2-135m`` only (``config.role "measurement"``; the random-init GPT-2's records are
pipeline checks and never judged), files ``results/ponder/ttt_training.jsonl``,
``ttt_frontier.jsonl`` and ``full_frontier.jsonl``. Rules, fixed here before the measured
records were read:

* the loss claims are judged on ``update == "full"``, the seed's own UPDATE_k (k Adam steps,
  lr 3e-4, all weights, carried; each chunk scored before its update), on the synthetic ids in
  [0, 10000), the mean over seeds:
  - "SKIP ~11.0" and "Average loss: 11.024": SKIP's loss within 0.1 -> CONFIRMED, else REFUTED;
  - "UPDATE_1/2/4: ~10.9": every UPDATE_k within 0.1 of 10.9 -> CONFIRMED, some -> PARTIAL,
    none -> REFUTED;
  - "marginal (~0.1)": the best UPDATE_k's gain over SKIP in [0.05, 0.2] CONFIRMED, in (0, 0.05)
    or (0.2, 0.4] PARTIAL, else REFUTED;
  - "real code ... more differentiation": the spread (max - min) of the four actions' losses on
    stdlib held-out larger than on synthetic -> CONFIRMED, else REFUTED;
* **the cost claims are judged on the document's own mode only** (``update == "full"``): the
  documented multiple (3 / 5 / 12) against the full-weight mode's ratio to SKIP on
  torch-counted FLOPs per chunk (mean over records) AND on interleaved wall time (the four
  actions alternate chunk by chunk in one process; the median over (data, seed) runs): each
  within a factor 1.5 of the documented multiple CONFIRMED, beyond 2x REFUTED, else PARTIAL;
  both metrics must agree for CONFIRMED or REFUTED (else PARTIAL). The TTT-Linear mode's ratios
  are quoted in the text and never decide (no picking the mode that passes);
* "No errors or crashes": every measured record ``ok`` -> CONFIRMED, any ``error`` -> REFUTED.

Recovery is the records' own (``metrics.recovery``, defined once in ponderttt.experiments.pretrained:
``(loss_bare - loss) / (loss_bare - loss_oracle(budget))``, 0 without headroom); over seeds its
mean, sd and range, every seed counted (a policy that never updates scores 0). Against the fixed
actions at equal cost: per seed ``d = loss - F(cost)``, F the lower convex hull of that seed's
four fixed actions' (nominal cost, loss) points, non-increasing; "beats" when the 95%
t-interval of mean d is below 0, "worse" above, else "tie" (fewer than 2 seeds: "n/a").
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .data import col, num
from .evidence import CONFIRMED, NOT_MEASURED, PARTIAL, REFUTED

LABEL = "issue32"
BACKBONE = "smollm2-135m"
NOMINAL = {"SKIP": 1, "UPDATE_1": 3, "UPDATE_2": 5, "UPDATE_4": 12}
UPDATES = ("UPDATE_1", "UPDATE_2", "UPDATE_4")
EVAL_DATA = ("stdlib-heldout", "go", "synthetic")
DATA_NAME = {"stdlib-heldout": "Python stdlib, held-out files", "go": "Go stdlib (out of distribution)",
             "synthetic": "synthetic ids in [0, 10000)", "stdlib-train": "stdlib train chunks",
             "stdlib-val": "stdlib validation chunks"}
MODE_NAME = {"ttt": "TTT layer (delta, trained slow weights)", "full": "full-weight UPDATE_k (the seed's mode)"}
ACTION_ORDER = {"bare": 0, "SKIP": 1, "UPDATE_1": 2, "UPDATE_2": 3, "UPDATE_4": 4, "gate": 5, "ppo": 6,
                "oracle": 7}
#: the done-when tolerance of issue 32: SKIP at most the bare backbone + 0.01 nats
SKIP_TOLERANCE = 0.01


def records(df: pd.DataFrame, status: str | None = "ok") -> pd.DataFrame:
    if len(df) == 0 or "config.kind" not in df.columns or "config.backbone" not in df.columns:
        return df.iloc[0:0]
    d = df[(col(df, "config.kind") == "ponder") & (col(df, "config.label").astype(str) == LABEL)
           & (col(df, "config.backbone").astype(str) == BACKBONE)]
    return d if status is None else d[col(d, "status") == status]


def _sel(d: pd.DataFrame, update: str, data: str | None = None) -> pd.DataFrame:
    if not len(d):
        return d
    g = d[col(d, "config.update") == update]
    return g if data is None else g[col(g, "config.data") == data]


def fixed_losses(d: pd.DataFrame, update: str, data: str, seed=None) -> dict:
    """{action: mean loss} of SKIP and UPDATE_k (over seeds, or one seed)."""
    g = _sel(d, update, data)
    if seed is not None and len(g):
        g = g[num(g, "config.seed") == seed]
    out = {}
    for a in NOMINAL:
        gg = g[col(g, "config.action") == a] if len(g) else g
        if len(gg):
            out[a] = float(num(gg, "metrics.loss").mean())
    return out


def _band(x: float, doc: float) -> str:
    r = x / doc
    if 1 / 1.5 <= r <= 1.5:
        return CONFIRMED
    return REFUTED if (r > 2 or r < 0.5) else PARTIAL


def _v(verdict, text, recs=()):
    return {"verdict": verdict, "basis": "measured" if verdict != NOT_MEASURED else "not run",
            "text": text, "pieces": [], "script": "python -m ponderttt.experiments.pretrained",
            "records": list(recs)}


def cost_verdicts(d: pd.DataFrame) -> dict:
    """The three cost claims, judged on the full-weight mode only (the module's rule)."""
    out = {}
    full, ttt = _sel(d, "full"), _sel(d, "ttt")
    for a in UPDATES:
        g = full[col(full, "config.action") == a] if len(full) else full
        if not len(g):
            continue
        fr, tr = float(num(g, "metrics.flops_ratio").mean()), float(num(g, "metrics.time_ratio").median())
        vf, vt = _band(fr, NOMINAL[a]), _band(tr, NOMINAL[a])
        v = vf if vf == vt else PARTIAL
        tg = ttt[col(ttt, "config.action") == a] if len(ttt) else ttt
        tnote = (f"; quoted, not judged: the TTT layer's {a} is x{float(num(tg, 'metrics.flops_ratio').mean()):.4f} "
                 f"in FLOPs" if len(tg) and num(tg, "metrics.flops_ratio").notna().any() else "")
        out[f"004-cost-{a.lower()}"] = _v(
            v, f"the document's mode (full-weight {a}, SmolLM2-135M): FLOPs x{fr:.2f} of SKIP (torch counter), "
               f"interleaved time x{tr:.2f} (median of {len(g)} runs), documented x{NOMINAL[a]}{tnote}",
            list(col(g, "run_id").astype(str)))
    return out


def verdicts(df: pd.DataFrame) -> dict:
    """``{claim id: on-bench verdict dict}`` for 004's claims (absent ids: NOT MEASURED)."""
    d = records(df)
    out: dict = {}
    syn, real = fixed_losses(d, "full", "synthetic"), fixed_losses(d, "full", "stdlib-heldout")
    runs = [str(x) for x in col(_sel(d, "full"), "run_id")] if len(d) else []
    tsyn = fixed_losses(d, "ttt", "synthetic")
    tnote = ("; TTT layer (quoted): " + ", ".join(f"{a} {tsyn[a]:.3f}" for a in NOMINAL if a in tsyn)) if tsyn else ""
    if "SKIP" in syn:
        x = syn["SKIP"]
        for cid, doc in (("004-skip-11.0", 11.0), ("004-quick-avg-11.024", 11.024)):
            out[cid] = _v(CONFIRMED if abs(x - doc) <= 0.1 else REFUTED,
                          f"SmolLM2-135M, synthetic ids in [0, 10000): SKIP {x:.3f} nats "
                          f"(documented {doc})", runs)
    if "SKIP" in syn and all(a in syn for a in UPDATES):
        near = [abs(syn[a] - 10.9) <= 0.1 for a in UPDATES]
        txt = ", ".join(f"{a} {syn[a]:.3f}" for a in UPDATES)
        out["004-update-10.9"] = _v(CONFIRMED if all(near) else PARTIAL if any(near) else REFUTED,
                                    f"full-weight UPDATE_k on synthetic ids: {txt}{tnote}", runs)
        gain = syn["SKIP"] - min(syn[a] for a in UPDATES)
        out["004-marginal-0.1"] = _v(
            CONFIRMED if 0.05 <= gain <= 0.2 else PARTIAL if 0 < gain <= 0.4 else REFUTED,
            f"best full-weight UPDATE_k gains {gain:+.3f} nats over SKIP on synthetic ids", runs)
    if len(syn) == 4 and len(real) == 4:
        s_syn, s_real = max(syn.values()) - min(syn.values()), max(real.values()) - min(real.values())
        out["004-real-differentiates"] = _v(
            CONFIRMED if s_real > s_syn else REFUTED,
            f"spread of the four actions: {s_real:.3f} nats on stdlib held-out vs {s_syn:.3f} on "
            f"synthetic ids (full-weight UPDATE_k)", runs)
    out.update(cost_verdicts(d))
    allr = records(df, None)
    if len(allr):
        bad = int((col(allr, "status") != "ok").sum())
        out["004-no-errors"] = _v(REFUTED if bad else CONFIRMED,
                                  f"{len(allr) - bad} pretrained-backbone records ok, {bad} errors",
                                  list(col(allr, "run_id").astype(str)))
    return out


# -- the tables: every action against the bare backbone ------------------------------------------

def fixed_frontier(fixed: dict, cost: float) -> float:
    """Loss of the best mix of two fixed actions at average nominal cost ``cost``: the lower
    convex hull of the fixed actions' (cost, loss) points, interpolated (a random mix of two
    actions spends and scores the weighted average in expectation), non-increasing in cost
    (spending more than the best point needs can always be wasted). ``fixed``: {action: loss}."""
    pts = sorted((NOMINAL[a], loss) for a, loss in fixed.items())
    hull: list = []
    for p in pts:   # lower hull, monotone chain
        while len(hull) >= 2 and (hull[-1][0] - hull[-2][0]) * (p[1] - hull[-2][1]) - \
                (hull[-1][1] - hull[-2][1]) * (p[0] - hull[-2][0]) <= 0:
            hull.pop()
        hull.append(p)
    xs, ys = [h[0] for h in hull], list(np.minimum.accumulate([h[1] for h in hull]))
    return float(np.interp(cost, xs, ys))


def versus_fixed(diffs) -> str:
    """'beats' when the 95% interval of the mean of ``diffs`` lies below 0, 'worse' above, else
    'tie'; fewer than 2 seeds: 'n/a'."""
    from .frontier import interval
    m, h = interval(diffs)
    if m != m or h != h:
        return "n/a"
    return "beats" if m + h < 0 else "worse" if m - h > 0 else "tie"


def _setting(r) -> str:
    return str(r) if r is not None and r == r else ""


def table(df: pd.DataFrame, update: str) -> dict:
    """``{data: [row]}``: per (action, setting), over seeds: loss, loss - bare (paired per seed),
    cost (document units), FLOPs and time ratios to SKIP, recovery (mean, sd, min, max, every seed)
    and the difference to the best fixed mix at equal cost with its verdict."""
    from .frontier import interval
    d = _sel(records(df), update)
    out: dict = {}
    for da in [x for x in EVAL_DATA if len(d) and (col(d, "config.data") == x).any()]:
        g = d[col(d, "config.data") == da]
        bare = {int(s): float(num(gg, "metrics.loss").mean())
                for s, gg in g[col(g, "config.action") == "bare"].groupby(num(g, "config.seed"))}
        fixed = {s: fixed_losses(d, update, da, s) for s in bare}
        rows = []
        keys = col(g, "config.action").astype(str) + "|" + col(g, "config.setting").astype(str)
        for key, gg in g.groupby(keys, sort=False):
            act, setting = key.split("|", 1)
            seeds = [int(s) for s in num(gg, "config.seed")]
            losses = list(num(gg, "metrics.loss"))
            costs = list(num(gg, "metrics.avg_cost"))
            dbare = [x - bare[s] for x, s in zip(losses, seeds) if s in bare]
            rec = [x for x in num(gg, "metrics.recovery") if x == x]
            judged = act in ("gate", "ppo", "oracle") and setting != "unconstrained"
            diffs = [x - fixed_frontier(fixed[s], c) for x, c, s in zip(losses, costs, seeds)
                     if judged and len(fixed.get(s, {})) == 4]
            lm, lh = interval(losses)
            bm, bh = interval(dbare)
            dm, dh = interval(diffs)
            rows.append({"action": act, "setting": "" if setting == act else setting, "seeds": len(set(seeds)),
                         "loss": lm, "loss ±95%": lh, "loss - bare": bm, "- bare ±95%": bh,
                         "cost (units)": float(np.mean(costs)),
                         "FLOPs x SKIP": float(num(gg, "metrics.flops_ratio").mean()),
                         "time x SKIP": float(num(gg, "metrics.time_ratio").median()),
                         "recovery": float(np.mean(rec)) if rec else math.nan,
                         "recovery sd": float(np.std(rec, ddof=1)) if len(rec) > 1 else math.nan,
                         "recovery range": f"{min(rec):.2f}..{max(rec):.2f}" if rec else "",
                         "vs best fixed": dm, "vs fixed ±95%": dh,
                         "verdict vs fixed": versus_fixed(diffs) if judged else ""})
        rows.sort(key=lambda r: (ACTION_ORDER.get(r["action"], 9), r["cost (units)"]))
        out[da] = rows
    return out


def training_rows(df: pd.DataFrame) -> list:
    """The TTT layer's losses on its train and validation chunks and held-out, per action, over
    seeds (the kept layer: best validation step), and the steps it took."""
    d = _sel(records(df), "ttt")
    rows = []
    for da in ("stdlib-train", "stdlib-val", "stdlib-heldout"):
        g = d[col(d, "config.data") == da] if len(d) else d
        if not len(g):
            continue
        row = {"data": DATA_NAME.get(da, da)}
        for a in ("bare",) + tuple(NOMINAL):
            gg = g[col(g, "config.action") == a]
            row[a] = float(num(gg, "metrics.loss").mean()) if len(gg) else math.nan
        bs = num(g, "metrics.best_step").dropna()
        row["best step (per seed)"] = ", ".join(str(int(x)) for x in
                                                 g.drop_duplicates("config.seed")["metrics.best_step"]) if len(bs) else ""
        rows.append(row)
    return rows


def bare_findings(df: pd.DataFrame) -> list:
    """Plain sentences: where SKIP or the oracle is worse than the bare backbone (the report must
    say it), and whether SKIP is within the tolerance on every data set."""
    out = []
    for update in ("ttt", "full"):
        for da, rows in table(df, update).items():
            by = {(r["action"], r["setting"]): r for r in rows}
            skip, orc = by.get(("SKIP", "")), by.get(("oracle", "unconstrained"))
            name = f"{MODE_NAME[update]}, {DATA_NAME.get(da, da)}"
            if skip and skip["loss - bare"] > SKIP_TOLERANCE:
                out.append(f"{name}: SKIP is WORSE than the bare backbone by {skip['loss - bare']:.4f} nats")
            if orc and orc["loss - bare"] > 0:
                out.append(f"{name}: even the oracle is WORSE than the bare backbone "
                           f"(+{orc['loss - bare']:.4f} nats)")
            best = min((r for r in rows if r["action"] in UPDATES), key=lambda r: r["loss"], default=None)
            if best and best["loss - bare"] > 0:
                out.append(f"{name}: every update is worse than the bare backbone "
                           f"(best {best['action']} +{best['loss - bare']:.4f} nats)")
    return out


def headline(df: pd.DataFrame) -> list[str]:
    out = []
    say = {"beats": "beats", "worse": "is worse than", "tie": "ties with", "n/a": "not judged against"}
    for update in ("ttt", "full"):
        for da, rows in table(df, update).items():
            by = {(r["action"], r["setting"]): r for r in rows}
            bare, skip = by.get(("bare", "")), by.get(("SKIP", ""))
            fx = [r for r in rows if r["action"] in NOMINAL]
            best = min(fx, key=lambda r: r["loss"]) if fx else None
            head = f"{MODE_NAME[update]}, {DATA_NAME.get(da, da)}: bare {bare['loss']:.4f}" if bare else ""
            if skip:
                head += f", SKIP {skip['loss - bare']:+.4f} vs bare"
            if best:
                head += f", best fixed {best['action']} {best['loss - bare']:+.4f} vs bare at {best['cost (units)']:g} units"
            pol = [f"{r['action']} {r['setting']} {say.get(r['verdict vs fixed'], '')} the best fixed mix at "
                   f"{r['cost (units)']:.2f} units ({r['vs best fixed']:+.4f} ± {r['vs fixed ±95%']:.4f})"
                   + ("" if r["recovery"] != r["recovery"] else
                      f", recovery {r['recovery']:.2f} (sd {r['recovery sd']:.2f}, {r['recovery range']})")
                   for r in rows if r["action"] in ("gate", "ppo")]
            out.append(head + ("; " + "; ".join(pol) if pol else ""))
    return out


def formatted(rows: list) -> list:
    out = []
    for r in rows:
        f = {}
        for k, v in r.items():
            if isinstance(v, float) and v != v:
                f[k] = ""
            elif isinstance(v, float):
                f[k] = (f"{v:.4f}" if ("loss" in k or "bare" in k or "fixed" in k or k in NOMINAL)
                        else f"{v:.3f}" if ("x SKIP" in k) else f"{v:.2f}")
            else:
                f[k] = str(v)
        out.append(f)
    return out


def finding(df: pd.DataFrame) -> dict:
    """{"key", "title", "text", "anchor"}: one plain sentence from the deciding numbers, for the
    report's first screen."""
    out = {"key": "ponderttt", "title": "PonderTTT against the bare model", "anchor": "ponder-pretrained"}
    ttt, full = table(df, "ttt"), table(df, "full")
    if not ttt and not full:
        out["text"] = "PonderTTT on a pretrained backbone: not measured (no issue-32 records in results/)."
        return out
    parts = []
    da = "stdlib-heldout" if "stdlib-heldout" in ttt else next(iter(ttt), None)
    if da:
        by = {(r["action"], r["setting"]): r for r in ttt[da]}
        bare, skip = by.get(("bare", "")), by.get(("SKIP", ""))
        best = min((r for r in ttt[da] if r["action"] in UPDATES), key=lambda r: r["loss"], default=None)
        if bare and skip and best:
            parts.append(f"on SmolLM2-135M ({DATA_NAME[da]}) the TTT layer's SKIP is {skip['loss - bare']:+.3f} "
                         f"nats from the bare backbone's {bare['loss']:.3f} and its best update "
                         f"({best['action']}) {best['loss - bare']:+.3f}")
    fda = "stdlib-heldout" if "stdlib-heldout" in full else next(iter(full), None)
    if fda:
        by = {r["action"]: r for r in full[fda] if r["action"] in UPDATES}
        if by:
            b = min(by.values(), key=lambda r: r["loss"])
            ratios = "/".join(f"{by[a]['FLOPs x SKIP']:.0f}" for a in UPDATES if a in by)
            parts.append(f"the seed's full-weight mode gains {-b['loss - bare']:.3f} nats with {b['action']} "
                         f"and costs {ratios}x SKIP in FLOPs for UPDATE_1/2/4 (documented 3/5/12)")
    rows = [r for u in (ttt, full) for rs in u.values() for r in rs if r["action"] in ("gate", "ppo")]
    if rows:
        k = sum(r["verdict vs fixed"] == "beats" for r in rows)
        parts.append(f"the gate and PPO beat the best fixed action at equal cost in {k} of {len(rows)} points")
    text = "; ".join(parts) + "."
    out["text"] = text[0].upper() + text[1:] if parts else "PonderTTT: too few records to judge."
    return out
