"""Long-range credit assignment (issue 30): which learner solves delayed recall at delay D, at
what memory and time, per model, under the protocol of ``rtrl_moe.longrange.protocol``. Not a
claim of the documents (it is kept out of the claims tally) but the thesis they argue: sparse
RTRL "enables solving very long sequence tasks at constant memory".

A pure function of the long-range records of protocol v2 (the last record of each point);
records of the retired token-budget streaming preset are counted and not used. Rules, fixed
before any data:

* a learner *solves* D when at least :data:`MIN_SEEDS` verdict seeds (episodic arm) ran to the
  end and their held-out accuracy, pooled over the seeds' queries, is at least :data:`SOLVED`;
  it *fails* D when as many seeds ran and the pooled accuracy is below; otherwise D is *open*;
* k* of a constant-memory learner is its model's measured memory-matched window (``kstar``
  records); its rival is ``tbptt-<k*>`` on the same model;
* the thesis per model: **yes** when some constant-memory learner solves a D that its rival
  fails; **no** when no such D exists and, for every constant-memory learner, some declared D
  beyond its rival's reach (D + 2 > k*) was run and every such D was run and failed; **undecided
  at this budget** otherwise (a D beyond the rival's reach not run or open, or no k*);
* where full BPTT fails D, D is the cell's limit at this budget, not credit assignment's;
* a point not run says so and shows no accuracy.
"""
from __future__ import annotations

import math

import pandas as pd

from .data import col, num
from .fmt import fmt_bytes

SOLVED = 0.9
MIN_SEEDS = 3
PROTOCOL = "v2"
ANCHOR = "longrange"
MODEL_NAMES = {"lru": "element-wise LRU (H 64)", "rnn": "tanh RNN (hidden 32)",
               "moe": "documents' MoE (d_model 32, 4 slots, 4 experts, top-2)"}
TITLES = {"lru": "element-wise LRU", "rnn": "tanh RNN", "moe": "documents' MoE (d_model 32)"}
CONSTANT_MEMORY = {"lru": ("lru-rtrl",), "rnn": ("rflo", "uoro"),
                   "moe": ("sparse-rtrl", "tree-rtrl")}
ANSWERS = ("yes", "no", "undecided")


def _last(sub: pd.DataFrame) -> pd.DataFrame:
    if len(sub) == 0:
        return sub
    return sub.sort_values("created", kind="mergesort").drop_duplicates("point_key", keep="last")


def records(df: pd.DataFrame, role: str = "verdict") -> pd.DataFrame:
    """The protocol-v2 long-range records of one role (``verdict``, ``tuning``,
    ``equivalence``) or arm ``kstar``, the last of each point."""
    if len(df) == 0 or "config.kind" not in df.columns:
        return pd.DataFrame()
    sub = df[(col(df, "config.kind").astype(str) == "longrange")
             & (col(df, "config.protocol").astype(str) == PROTOCOL)]
    if role == "kstar":
        sub = sub[col(sub, "config.arm").astype(str) == "kstar"]
    else:
        sub = sub[(col(sub, "config.role").astype(str) == role)
                  & (col(sub, "config.arm").astype(str) == "episodic")]
    return _last(sub)


def retired(df: pd.DataFrame) -> int:
    if len(df) == 0 or "config.kind" not in df.columns:
        return 0
    return int(((col(df, "config.kind").astype(str) == "longrange")
                & (col(df, "config.protocol").astype(str) != PROTOCOL)).sum())


def kstars(df: pd.DataFrame) -> dict:
    """``{(model, learner): {"k": k*, "bytes": learner bytes, "per_step": tbptt bytes a step}}``."""
    out = {}
    rec = records(df, "kstar")
    for _, r in rec.iterrows():
        if r.get("status") != "ok" or not (r.get("metrics.kstar") == r.get("metrics.kstar")):
            continue
        out[(str(r["config.model_name"]), str(r["config.learner_label"]))] = {
            "k": int(r["metrics.kstar"]), "bytes": float(r["metrics.learner_bytes"]),
            "per_step": float(r["metrics.bytes_per_window_step"])}
    return out


def _order(model: str, learner: str) -> tuple:
    m = list(MODEL_NAMES).index(model) if model in MODEL_NAMES else len(MODEL_NAMES)
    if learner.startswith("tbptt-"):
        k = learner[6:]
        return (m, 1, int(k) if k.isdigit() else 0, learner)
    return (m, 2 if learner == "bptt" else 0, 0, learner)


def table(df: pd.DataFrame) -> list[dict]:
    """One row per (model, learner): per D the pooled accuracy, its Wilson interval, the seeds
    run, the state (solved / failed / open / not run); longest D solved, memory, ms/token."""
    from rtrl_moe.longrange.experiment import wilson
    rec = records(df)
    if len(rec) == 0:
        return []
    mt = col(rec, "config.model_name").astype(str)
    lab = col(rec, "config.learner_label").astype(str)
    rows = []
    for model, learner in sorted(set(zip(mt, lab)), key=lambda k: _order(*k)):
        g = rec[(mt == model) & (lab == learner)]
        per_d = {}
        for D in sorted({int(d) for d in num(g, "config.delay").dropna()}):
            gd = g[num(g, "config.delay") == D]
            ok = gd[col(gd, "status").astype(str) == "ok"]
            c = int(num(ok, "metrics.heldout_correct").fillna(0).sum())
            n = int(num(ok, "metrics.heldout_targets").fillna(0).sum())
            seeds = len(ok)
            acc = c / n if n else math.nan
            lo, hi = wilson(c, n)
            state = ("not run" if seeds == 0 else "open" if seeds < MIN_SEEDS
                     else "solved" if acc >= SOLVED else "failed")
            per_d[D] = {"acc": acc, "lo": lo, "hi": hi, "seeds": seeds, "state": state,
                        "seed_acc": num(ok, "metrics.heldout_accuracy").tolist(),
                        "memory": float(num(ok, "metrics.tensor_bytes_peak").max())
                        if seeds else None,
                        "ms": float(num(ok, "metrics.ms_per_token").median()) if seeds else None,
                        "load": float(num(ok, "metrics.load_avg_1m").max()) if seeds else None,
                        "chance": float(num(ok, "metrics.chance").dropna().iloc[0])
                        if num(ok, "metrics.chance").notna().any() else None,
                        "why": sorted(set(col(gd[col(gd, "status") != "ok"], "message")
                                          .dropna().astype(str)))}
        solved = [D for D, v in per_d.items() if v["state"] == "solved"]
        longest = max(solved) if solved else None
        ran = [v for v in per_d.values() if v["seeds"]]
        mem = (per_d[longest]["memory"] if longest is not None
               else max((v["memory"] for v in ran), default=None))
        ms = [v["ms"] for v in ran if v["ms"] is not None]
        rows.append({"model": model, "learner": learner, "per_d": per_d, "longest": longest,
                     "memory": mem, "ms_per_token": sorted(ms)[len(ms) // 2] if ms else None,
                     "load": max((v["load"] or 0 for v in ran), default=None),
                     "constant_memory": learner in CONSTANT_MEMORY.get(model, ())})
    return rows


def _cost_sources(df: pd.DataFrame) -> dict:
    """``{(model, learner): (ms a token, where from)}``: the measured ms/token a not-run point's
    cost is estimated from (its own verdict points, else the equivalence run)."""
    out = {}
    for role, note in (("equivalence", "the equivalence run's ms/token (B = 1, float64)"),
                       ("verdict", "its measured ms/token")):
        rec = records(df, role)
        if len(rec) == 0:
            continue
        rec = rec[col(rec, "status").astype(str) == "ok"]
        for (m, lab), g in rec.groupby([col(rec, "config.model_name").astype(str),
                                        col(rec, "config.learner_label").astype(str)]):
            ms = num(g, "metrics.ms_per_token").median()
            if ms == ms:
                out[(m, lab)] = (float(ms), note)
    return out


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def add_not_run(rows: list[dict], df: pd.DataFrame, ks: dict) -> list[dict]:
    """The protocol's verdict points without a record, as "not run", each with what running
    it would cost on this machine (an estimate from a measured ms/token, said as such)."""
    from rtrl_moe.longrange.protocol import MIN_SEEDS as SEEDS_WANTED
    from rtrl_moe.longrange.protocol import MODELS, preset
    planned = preset(kstar={k: v["k"] for k, v in ks.items()})
    cost = _cost_sources(df)
    by = {(r["model"], r["learner"]): r for r in rows}
    for p in planned:
        r = by.get((p.model, p.learner))
        if r is None:
            r = by[(p.model, p.learner)] = {
                "model": p.model, "learner": p.learner, "per_d": {}, "longest": None,
                "memory": None, "ms_per_token": None, "load": None,
                "constant_memory": p.learner in CONSTANT_MEMORY.get(p.model, ())}
            rows.append(r)
        if p.delay in r["per_d"] and r["per_d"][p.delay]["seeds"]:
            continue
        src = cost.get((p.model, p.learner))
        tokens = p.n_updates * (p.delay + 2) * MODELS[p.model].batch * SEEDS_WANTED
        why = (f"est. {_duration(src[0] * tokens / 1e3)} for {SEEDS_WANTED} seeds on this CPU, "
               f"from {src[1]}"
               if src else "no measured ms/token to estimate its cost from")
        r["per_d"][p.delay] = {"acc": math.nan, "lo": math.nan, "hi": math.nan, "seeds": 0,
                               "state": "not run", "seed_acc": [], "memory": None, "ms": None,
                               "load": None, "chance": None, "why": [why]}
    rows.sort(key=lambda r: _order(r["model"], r["learner"]))
    return rows


def _state(rows, model, learner, D) -> str:
    for r in rows:
        if r["model"] == model and r["learner"] == learner:
            return r["per_d"].get(D, {}).get("state", "not run")
    return "not run"


def thesis(rows: list[dict], ks: dict, delays: dict | None = None) -> dict:
    """Per model, the answer by the module's rule, with the deciding pairs. ``delays``:
    {model: declared delays} (default: the protocol's)."""
    if delays is None:
        from rtrl_moe.longrange.protocol import MODELS
        delays = {m: p.delays for m, p in MODELS.items()}
    models = sorted({r["model"] for r in rows} | {m for m, _ in ks}, key=lambda m: _order(m, ""))
    out = {}
    for m in models:
        pairs, answer = [], None
        decided_no = True
        for L in CONSTANT_MEMORY.get(m, ()):
            kk = ks.get((m, L))
            if kk is None:
                pairs.append({"learner": L, "rival": None, "k": None, "wins": [], "why":
                              f"k* of {L} not measured"})
                decided_no = False
                continue
            rival = f"tbptt-{kk['k']}"
            wins = [D for D in delays.get(m, ()) if _state(rows, m, L, D) == "solved"
                    and _state(rows, m, rival, D) == "failed"]
            beyond = [D for D in delays.get(m, ()) if D + 2 > kk["k"]]
            open_ = [D for D in beyond if _state(rows, m, L, D) not in ("failed",)]
            solved = [D for D in delays.get(m, ()) if _state(rows, m, L, D) == "solved"]
            pairs.append({"learner": L, "rival": rival, "k": kk["k"], "wins": wins,
                          "solved": solved, "beyond": beyond, "open": open_})
            if wins:
                answer = "yes"
            if not beyond or open_:
                decided_no = False
        if answer is None:
            answer = "no" if decided_no and pairs else "undecided"
        cell = [D for D in delays.get(m, ()) if _state(rows, m, "bptt", D) == "failed"]
        out[m] = {"answer": answer, "pairs": pairs, "cell_limit": cell,
                  "sentence": _sentence(m, answer, pairs, cell)}
    return out


def _sentence(m, answer, pairs, cell) -> str:
    name = MODEL_NAMES.get(m, m)
    if answer == "yes":
        p = next(p for p in pairs if p["wins"])
        return (f"{name}: yes: {p['learner']} solves D = {max(p['wins'])}, which {p['rival']} "
                f"(its memory-matched truncated BPTT, k* = {p['k']}) fails.")
    if answer == "no":
        return (f"{name}: no: no constant-memory learner solves a delay beyond its "
                f"memory-matched truncated BPTT's reach"
                + (f" (full BPTT fails D = {', '.join(map(str, cell))} too: the cell's limit "
                   f"at this budget)" if cell else "") + ".")
    why = []
    for p in pairs:
        if p.get("rival") is None:
            why.append(p["why"])
        elif not p["beyond"]:
            why.append(f"no declared D is beyond {p['rival']}'s reach (k* = {p['k']}), so "
                       f"{p['learner']} is never tested where the thesis could show")
        elif p["open"]:
            why.append(f"{p['learner']} not run to {MIN_SEEDS} seeds at D = "
                       f"{', '.join(map(str, p['open']))} (beyond {p['rival']}'s reach)")
    return f"{name}: undecided at this budget: " + "; ".join(why) + "."


def formatted(rows: list[dict], ks: dict) -> tuple[list[str], list[dict]]:
    delays = sorted({D for r in rows for D in r["per_d"]})
    cols = ["model", "learner"] + [f"D={D}" for D in delays] + [
        "longest D solved", "memory (tensor bytes)", "ms/token"]
    rivals = {(m, f"tbptt-{v['k']}"): L for (m, L), v in ks.items()}
    out = []
    for r in rows:
        lab = r["learner"]
        if (r["model"], lab) in rivals:
            lab += f" (k* of {rivals[(r['model'], lab)]})"
        row = {"model": r["model"], "learner": lab}
        for D in delays:
            v = r["per_d"].get(D)
            if v is None:                       # not a delay of this model's protocol
                row[f"D={D}"] = ""
                continue
            if v["seeds"] == 0:
                row[f"D={D}"] = "not run" + (f" ({'; '.join(v['why'])})" if v and v["why"]
                                             else "")
                continue
            mark = {"solved": " ✓", "failed": " ✗", "open": " (open)"}[v["state"]]
            row[f"D={D}"] = (f"{100 * v['acc']:.0f}% [{100 * v['lo']:.0f}-{100 * v['hi']:.0f}] "
                             f"({v['seeds']} seed{'s' if v['seeds'] != 1 else ''}){mark}")
        ran = any(v["seeds"] for v in r["per_d"].values())
        row["longest D solved"] = (str(r["longest"]) if r["longest"] is not None
                                   else "none" if ran else "not run")
        row["memory (tensor bytes)"] = "" if r["memory"] is None else fmt_bytes(r["memory"])
        row["ms/token"] = ("" if r["ms_per_token"] is None
                           else f"{r['ms_per_token']:.3f}" + (" (under load)"
                                                             if (r["load"] or 0) > 1 else ""))
        out.append(row)
    return cols, out


def equivalence(df: pd.DataFrame) -> list[dict]:
    """Exact learners against BPTT, update by update, under the episodic protocol: the largest
    relative difference of the per-update training loss, with memory and ms/token."""
    rec = records(df, "equivalence")
    rec = rec[col(rec, "status").astype(str) == "ok"] if len(rec) else rec
    if len(rec) == 0:
        return []
    out = []
    for (model, D, seed), g in rec.groupby([col(rec, "config.model_name").astype(str),
                                            num(rec, "config.delay"), num(rec, "config.seed")]):
        by = {str(r["config.learner_label"]): r for _, r in g.iterrows()}
        ref = by.get("bptt")
        for lab, r in by.items():
            losses = r.get("metrics.losses")
            diff = None
            if ref is not None and lab != "bptt" and isinstance(losses, list):
                rl = ref["metrics.losses"]
                n = min(len(losses), len(rl))
                diff = max(abs(a - b) / abs(b) for a, b in zip(losses[:n], rl[:n]))
            out.append({"model": model, "delay": int(D), "learner": lab,
                        "updates": len(losses) if isinstance(losses, list) else None,
                        "batch": int(r["config.batch"]), "dtype": r["config.dtype"],
                        "max_rel_loss_diff": diff,
                        "memory": float(r["metrics.tensor_bytes_peak"]),
                        "ms_per_token": float(r["metrics.ms_per_token"]),
                        "load": r.get("metrics.load_avg_1m")})
    return out


def figure(rows: list[dict]):
    """Held-out accuracy (pooled over seeds, Wilson 95% interval) against D, one panel per
    model, the legend beside each panel (plotstyle); chance dashed, the solved level dotted."""
    from . import plotstyle as ps
    models = [m for m in MODEL_NAMES if any(r["model"] == m and any(
        v["seeds"] for v in r["per_d"].values()) for r in rows)]
    if not models:
        return None
    fig, axes = ps.new_figure(len(models), ncols=2,
                              panel_w=ps.PAGE_W / min(2, len(models)) - 1.9, panel_h=3.6,
                              legend_w=1.9)
    for ax, m in zip(axes, models):
        chance = None
        series = [r for r in rows if r["model"] == m
                  and any(v["seeds"] for v in r["per_d"].values())][:ps.MAX_SERIES]
        sty = ps.styles([(r["learner"],) for r in series])
        for j, r in enumerate(series):
            pts = [(D, v) for D, v in sorted(r["per_d"].items()) if v["seeds"]]
            # a small sideways dodge, so that series at the same accuracy stay visible
            xs = [D * 2 ** (0.035 * (j - (len(series) - 1) / 2)) for D, _ in pts]
            ys = [100 * v["acc"] for _, v in pts]
            err = [[max(0.0, 100 * (v["acc"] - v["lo"])) for _, v in pts],
                   [max(0.0, 100 * (v["hi"] - v["acc"])) for _, v in pts]]
            ax.errorbar(xs, ys, yerr=err, ms=3, capsize=2, label=r["learner"],
                        **sty[(r["learner"],)])
            chance = next((v["chance"] for _, v in pts if v["chance"]), chance)
        if chance:
            ax.axhline(100 * chance, ls="--", color="gray", lw=1, label="chance")
        ax.axhline(100 * SOLVED, ls=":", color="black", lw=1, label=f"solved ({SOLVED:.0%})")
        ps.tokens_axis(ax, "delay D (steps between symbol and query; 1k = 1024)", numticks=6)
        ax.set_ylim(0, 105)
        ax.set_ylabel("held-out accuracy (%)", fontsize=ps.FONT + 1)
        ax.set_title(TITLES.get(m, m), fontsize=ps.FONT + 2)
        ax.grid(True, alpha=0.3)
        ps.legend_beside(ax)
    return fig


def _figure_out(fig):
    if fig is None:
        return None
    from . import figures
    from .figure_out import FigureOut
    return FigureOut("longrange", "fig-longrange", "Delayed recall: held-out accuracy against D",
                     "Held-out accuracy on 256 fresh episodes a seed, pooled over the verdict seeds "
                     "(Wilson 95% interval), against the delay D, one panel per model: "
                     "constant-memory learners solid, truncated BPTT dashed, full BPTT dotted; "
                     f"chance grey, the solved level ({SOLVED:.0%}) black. Points not run are "
                     "absent and named in the table.", figures.png(fig), "figures/longrange.png")


def _protocol_text() -> tuple[str, str]:
    from rtrl_moe.longrange.protocol import EVAL_EPISODES, MODELS, TUNING_SEED
    rule = (f"episodic arm (state reset at every episode, {MODELS['lru'].batch} aligned "
            f"episodes an update, one optimizer update per episode, none without a target); "
            f"held out: {EVAL_EPISODES} fresh episodes a seed; solved: >= {SOLVED:.0%} pooled "
            f"over >= {MIN_SEEDS} seeds; the rival of a constant-memory learner is truncated "
            f"BPTT at k*, the window of equal tensor bytes on the same model; yes only where a "
            f"constant-memory learner solves a D its rival fails")
    ups = "; ".join(
        f"{m}: lr {p.lr:g} (tuned on seed {TUNING_SEED}), updates "
        + ", ".join(f"D={d}: {u}" for d, u in sorted(p.updates.items()) if d in p.delays)
        + f", curriculum {p.curriculum.describe()}" for m, p in MODELS.items())
    return rule, ups


def section(df: pd.DataFrame) -> dict:
    """What the templates show (rows, cols, thesis.sentence, n, statuses, updates, rule,
    figure) and more: answers per model, k*, the exact learners' curves, retired records."""
    ks = kstars(df)
    rows = table(df)
    if rows or ks:
        rows = add_not_run(rows, df, ks)
    cols, frows = formatted(rows, ks)
    th = thesis(rows, ks) if rows or ks else {}
    rec = records(df)
    statuses = (col(rec, "status").astype(str).value_counts().sort_index().to_dict()
                if len(rec) else {})
    rule, ups = _protocol_text()
    sentence = " ".join(v["sentence"] for v in th.values()) or "No records."
    return {"rows": frows, "cols": cols, "n": len(rec), "statuses": statuses,
            "thesis": {"sentence": sentence, "models": th,
                       "verdict": _overall(th)},
            "answers": {m: v["answer"] for m, v in th.items()},
            "kstar": [{"model": m, "learner": L, "kstar": v["k"],
                       "learner_bytes": fmt_bytes(v["bytes"]),
                       "tbptt_bytes_per_step": fmt_bytes(v["per_step"])}
                      for (m, L), v in sorted(ks.items())],
            "equivalence": equivalence(df), "retired": retired(df),
            "updates": ups, "rule": rule, "anchor": ANCHOR,
            "figure": _figure_out(figure(rows)) if rows else None}


def _overall(th: dict) -> str:
    ans = {v["answer"] for v in th.values()}
    return "yes" if "yes" in ans else "undecided" if "undecided" in ans or not ans else "no"


def finding(df: pd.DataFrame) -> dict:
    """The thesis for the first screen: one plain sentence from the deciding numbers."""
    rows = table(df)
    ks = kstars(df)
    th = thesis(rows, ks) if rows or ks else {}
    parts = []
    for m, v in th.items():
        short = {"lru": "element-wise LRU", "rnn": "tanh RNN", "moe": "documents' MoE"}.get(m, m)
        if v["answer"] == "yes":
            p = next(p for p in v["pairs"] if p["wins"])
            D = max(p["wins"])
            acc = {r["learner"]: r["per_d"].get(D, {}).get("acc") for r in rows
                   if r["model"] == m}
            parts.append(f"{short} yes ({p['learner']} solves D = {D} at "
                         f"{100 * acc[p['learner']]:.0f}% where {p['rival']} stays at "
                         f"{100 * acc[p['rival']]:.0f}%)")
        elif v["answer"] == "no":
            parts.append(f"{short} no (no constant-memory learner solves a delay beyond its "
                         f"rival's reach)")
        else:
            ks_m = [p["k"] for p in v["pairs"] if p.get("k")]
            why = (f"k* = {min(ks_m)} lies beyond every delay run" if ks_m and not any(
                p.get("beyond") for p in v["pairs"]) else "its deciding points are not all run")
            parts.append(f"{short} undecided at this budget ({why})")
    text = ("A constant-memory learner solving delayed recall at a delay that truncated BPTT of "
            "equal tensor bytes fails: " + "; ".join(parts) + "."
            if parts else "Not measured yet: no long-range records of protocol v2.")
    return {"key": "thesis", "title": "Long-range thesis: constant memory vs truncated BPTT",
            "text": text, "answer": {m: v["answer"] for m, v in th.items()}, "anchor": ANCHOR}
