"""Accuracy checks: trained accuracy over seeds against a documented level, or one setup against
another within the spread of the seeds."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data import col, model_field, num, select
from ..evidence import (
    CONFIRMED,
    MAX_ROWS,
    NOT_MEASURED,
    NOT_SUPPORTED,
    PARTIAL,
    REFUTED,
    Evidence,
    nm,
    show,
)
from ..fmt import fmt_pct

MIN_SEEDS = 3              # accuracy claims need this many seeds for a spread
COMPARE_SEEDS = 5          # "beats" / "similar" are decided only on >= 5 seeds each (else at best PARTIAL)
SIMILAR_MARGIN = 0.05      # "similar": the 95% interval of the difference lies within +-5 points
DOC_LR = 2e-3              # the documents' learning rate, used where a claim names none
CHANCE_MARGIN = 0.02       # an arm whose mean lies within 2 points of chance sits at chance (at_chance)
#: Student t, two-sided 95%, by degrees of freedom (no scipy dependency for a table of ten numbers)
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
       10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042}


def t95(dof: int) -> float:
    if dof < 1:
        return math.inf
    return T95[max(k for k in T95 if k <= dof)] if dof <= 30 else 1.96


@dataclass
class Acc:
    label: str
    n: int
    mean: float
    std: float
    steps: float
    rows: pd.DataFrame
    chance: float = math.nan

    @property
    def half(self) -> float:
        """Half-width of the 95% t-interval of the mean over seeds."""
        if self.n < 2 or self.std != self.std:
            return math.inf
        return t95(self.n - 1) * self.std / math.sqrt(self.n)

    def text(self):
        if self.n == 0:
            return f"{self.label}: no runs"
        ci = f"95% CI ±{fmt_pct(self.half)}" if math.isfinite(self.half) else "no interval"
        ch = f", chance {fmt_pct(self.chance)}" if self.chance == self.chance else ", chance not recorded"
        return (f"{self.label}: {fmt_pct(self.mean)} ({ci}; n={self.n} seeds"
                f"{f', {int(self.steps)} steps' if self.steps == self.steps else ''}{ch})")


def at_chance(a: "Acc") -> bool:
    """Rule, declared before it was applied: an arm sits at chance when the 95% t-interval of its
    mean over seeds holds the task's chance accuracy (metrics.chance_accuracy), or its mean lies
    within CHANCE_MARGIN (2 points) of it.  A comparison ("similar", "beats", "winner",
    "not_worse") whose arms both sit at chance is NOT SUPPORTED: two untrained-looking arms agree
    or differ by noise, which says nothing about the claim, so it is never CONFIRMED (nor REFUTED).
    An arm without a recorded chance accuracy is never at chance."""
    if a.n == 0 or a.chance != a.chance:
        return False
    return abs(a.mean - a.chance) <= CHANCE_MARGIN or (a.mean - a.half <= a.chance <= a.mean + a.half)


def acc_stats(df, learner, task=None, model_type="moe", seq_len=None, lr=None, dense=None, label=None,
              preset=None) -> Acc:
    """Accuracy over seeds of one configuration; ``preset``: only records of that preset label
    (a claim comparing two setups pins both to one piece, so runs of different lengths or step
    counts are never set side by side)."""
    d = select(df, kind="train", learner=learner, task=task, model_type=model_type, seq_len=seq_len)
    if len(d) and preset is not None:
        d = d[col(d, "config.label") == preset]
    if len(d) and lr is not None:
        d = d[np.isclose(num(d, "config.lr"), lr)]
    if len(d) and dense is not None:
        ns = pd.to_numeric(model_field(d, "n_slots"), errors="coerce")
        full = ((pd.to_numeric(model_field(d, "topk_read"), errors="coerce") >= ns) &
                (pd.to_numeric(model_field(d, "topk_write"), errors="coerce") >= ns))
        d = d[full if dense else ~full]
    if len(d):
        d = d[num(d, "metrics.final_accuracy").notna()]
    label = label or f"{model_type} {learner}{f' lr={lr:g}' if lr is not None else ''}"
    if len(d) == 0:
        return Acc(label, 0, math.nan, math.nan, math.nan, d)
    # one configuration only: runs differing in lr, T or model are not seeds of one another
    # ... nor are runs of different lengths in steps: the longest runs with enough seeds win
    cfg = (num(d, "config.lr").astype(str) + "|" + num(d, "config.seq_len").astype(str) + "|" +
           num(d, "config.steps").astype(str) + "|" +
           (d["_model"] if "_model" in d.columns else col(d, "config.model").astype(str)))
    if cfg.nunique() > 1:
        cand = d
        if lr is None and np.isclose(num(d, "config.lr"), DOC_LR).any():
            cand = d[np.isclose(num(d, "config.lr"), DOC_LR)]
        ccfg = cfg[cand.index]
        counts = cand.groupby(ccfg).apply(lambda g: (num(g, "config.seed").nunique(),
                                                     float(num(g, "config.steps").max())))
        best = sorted(counts.items(), key=lambda kv: (-(kv[1][0] >= MIN_SEEDS), -kv[1][1],
                                                      -kv[1][0], kv[0]))[0][0]
        d = d[cfg == best]
        r0 = d.iloc[0]
        label += (f" (lr={r0.get('config.lr')}, T={r0.get('config.seq_len')}, "
                  f"{r0.get('config.steps')} steps; of {cfg.nunique()} configs)")
    last = d.groupby(num(d, "config.seed"), sort=True).tail(1)
    a = num(last, "metrics.final_accuracy")
    std = float(a.std(ddof=1)) if len(a) > 1 else math.nan
    steps = num(last, "config.steps").max()
    chance = num(last, "metrics.chance_accuracy").mean()
    return Acc(label, len(a), float(a.mean()), std, float(steps), last, float(chance))


def accuracy_level(learner, target, tol, task=None, model_type="moe", lr=None, min_steps=None, dense=None,
                   doc_text="", preset=None):
    def check(df):
        s = acc_stats(df, learner, task, model_type, lr=lr, dense=dense, preset=preset)
        if s.n < MIN_SEEDS:
            return nm(f"needs `train` runs of {s.label} on {task or 'any task'} with >= {MIN_SEEDS} seeds; "
                      f"have {s.n}", figure="accuracy")
        text = f"{s.text()}; documented {doc_text or fmt_pct(target)}"
        notes = [f"holds if the mean over seeds lies in {fmt_pct(target - tol)}.."
                 f"{fmt_pct(min(1, target + tol))}"]
        # The mean, not mean ± std: a wide spread must not turn a miss into a confirmation.
        ok = target - tol <= s.mean <= target + tol
        short = bool(min_steps) and s.steps == s.steps and s.steps < min_steps
        if ok and short:   # the step-count rule: a run shorter than the documented steps cannot confirm
            notes.append(f"runs stopped at {int(s.steps)} steps, fewer than the documented {min_steps}: at best PARTIAL")
            return Evidence(PARTIAL, text, show(s.rows, ("metrics.final_accuracy",)), "accuracy", notes,
                            s.mean, "fraction")
        if ok:
            return Evidence(CONFIRMED, text, show(s.rows, ("metrics.final_accuracy",)), "accuracy", notes,
                            s.mean, "fraction")
        if min_steps and s.steps == s.steps and s.steps < min_steps and s.mean < target - tol:
            return Evidence(NOT_MEASURED, f"runs stopped at {int(s.steps)} steps, fewer than the documented "
                            f"{min_steps}; {text}", show(s.rows, ("metrics.final_accuracy",)), "accuracy", notes)
        if s.mean - s.half <= target <= s.mean + s.half:
            # the seeds cannot tell the documented figure apart from ours: not a refutation
            notes.append(f"the mean misses the tolerance, but its 95% interval {fmt_pct(max(0, s.mean - s.half))}.."
                         f"{fmt_pct(min(1, s.mean + s.half))} holds the documented {fmt_pct(target)}: at worst PARTIAL")
            return Evidence(PARTIAL, text, show(s.rows, ("metrics.final_accuracy",)), "accuracy", notes,
                            s.mean, "fraction", floor=PARTIAL)
        return Evidence(REFUTED, text, show(s.rows, ("metrics.final_accuracy",)), "accuracy", notes,
                        s.mean, "fraction")
    return check


def _relation(a: Acc, b: Acc, relation: str) -> str:
    """a vs b by the 95% interval of the difference of means (Welch, conservative dof = min(n)-1):
    beats: CONFIRMED if the interval is above 0, REFUTED if below, PARTIAL if it holds 0;
    similar: CONFIRMED if the interval lies within +-SIMILAR_MARGIN, REFUTED if it excludes 0 and
    the difference exceeds the margin, else PARTIAL; not_worse: REFUTED only if below 0;
    winner: as beats.  Fewer than COMPARE_SEEDS seeds on a side: at best PARTIAL.  Both arms at
    chance (at_chance): NOT SUPPORTED, whatever the interval says."""
    if at_chance(a) and at_chance(b):
        return NOT_SUPPORTED
    diff = a.mean - b.mean
    se = math.sqrt((a.std ** 2 / a.n if a.n > 1 else math.inf) + (b.std ** 2 / b.n if b.n > 1 else math.inf))
    half = t95(min(a.n, b.n) - 1) * se
    lo, hi = diff - half, diff + half
    if relation in ("beats", "winner"):
        v = CONFIRMED if lo > 0 else (REFUTED if hi < 0 else PARTIAL)
    elif relation == "similar":
        v = (CONFIRMED if -SIMILAR_MARGIN <= lo and hi <= SIMILAR_MARGIN else
             REFUTED if (lo > 0 or hi < 0) and abs(diff) > SIMILAR_MARGIN else PARTIAL)
    elif relation == "not_worse":
        v = REFUTED if hi < 0 else (CONFIRMED if lo >= -SIMILAR_MARGIN else PARTIAL)
    else:
        raise ValueError(relation)
    if v == CONFIRMED and min(a.n, b.n) < COMPARE_SEEDS:
        return PARTIAL
    return v


def accuracy_compare(a_spec: dict, b_spec: dict, relation: str, tasks=(None,), doc_text="", min_steps=None):
    """a vs b on each task: 'beats' / 'similar' / 'not_worse' by the 95% interval of the difference.
    A task without runs is a NOT MEASURED part, said in the text (never silently skipped)."""

    def check(df):
        verdicts, texts, rows = [], [], []
        for task in tasks:
            a = acc_stats(df, task=task, **a_spec)
            b = acc_stats(df, task=task, **b_spec)
            if a.n < MIN_SEEDS or b.n < MIN_SEEDS:
                texts.append(f"{task or 'all tasks'}: NOT MEASURED (needs >= {MIN_SEEDS} seeds each, "
                             f"have {a.n} and {b.n})")
                continue
            v = _relation(a, b, relation)
            steps = min(a.steps, b.steps)
            if min_steps and v == CONFIRMED and steps == steps and steps < min_steps:
                v = PARTIAL     # the step-count rule
                texts.append(f"{task}: runs stopped at {int(steps)} steps, fewer than the documented {min_steps}")
            verdicts.append(v)
            texts.append(f"{task or 'all tasks'}: {a.text()} vs {b.text()} -> {v}")
            rows += show(pd.concat([a.rows, b.rows]), ("metrics.final_accuracy",))
        if not verdicts:
            return nm(f"needs `train` runs of both sides with >= {MIN_SEEDS} seeds each; " + "; ".join(texts),
                      figure="accuracy")
        v = verdicts[0] if len(set(verdicts)) == 1 and len(verdicts) == len(tasks) else (
            REFUTED if REFUTED in verdicts else PARTIAL)
        return Evidence(v, "; ".join(texts) + (f"; documented {doc_text}" if doc_text else ""), rows[:MAX_ROWS],
                        "accuracy", [f"'{relation}' by the 95% t-interval of the difference of means; >= "
                                     f"{COMPARE_SEEDS} seeds each to confirm; similar = within ±{SIMILAR_MARGIN:.0%}",
                                     _CHANCE_NOTE])
    return check


_CHANCE_NOTE = (f"a comparison whose arms both sit at chance (95% interval holding chance, or mean within "
                f"{CHANCE_MARGIN:.0%} of it) is NOT SUPPORTED: uninformative, never CONFIRMED")

THREE = {"RNN BPTT": dict(learner="bptt", model_type="rnn"),
         "MoE BPTT": dict(learner="bptt", model_type="moe"),
         "Sparse MoE RTRL": dict(learner="sparse-rtrl", model_type="moe")}


def three_way(seq_lens, relation="winner", doc_text="", min_steps=None, preset=None):
    """Sparse MoE RTRL against RNN BPTT and MoE BPTT at the given lengths, on every task measured
    (in the ``preset`` piece where given)."""
    seq_lens = tuple(seq_lens)

    def check(df):
        d = select(df, kind="train")
        if len(d) and preset is not None:
            d = d[col(d, "config.label") == preset]
            df = d
        tasks = sorted(set(col(d, "config.task").dropna().astype(str))) if len(d) else []
        verdicts, texts, rows = [], [], []
        for task in tasks:
            for T in seq_lens:
                s = {k: acc_stats(df, task=task, seq_len=T, label=k, **v) for k, v in THREE.items()}
                if any(x.n < MIN_SEEDS for x in s.values()):
                    continue
                r = s["Sparse MoE RTRL"]
                vs = [_relation(r, s[k], relation) for k in ("RNN BPTT", "MoE BPTT")]
                v = (REFUTED if REFUTED in vs else NOT_SUPPORTED if all(x == NOT_SUPPORTED for x in vs) else
                     PARTIAL if (PARTIAL in vs or NOT_SUPPORTED in vs) else CONFIRMED)
                steps = min(x.steps for x in s.values())
                if min_steps and v == CONFIRMED and steps == steps and steps < min_steps:
                    v = PARTIAL     # the step-count rule
                verdicts.append(v)
                texts.append(f"{task} T={T}: " + ", ".join(x.text() for x in s.values()) + f" -> {v}")
                rows += show(pd.concat([x.rows for x in s.values()]), ("metrics.final_accuracy",))
        if not verdicts:
            return nm(f"needs `train` runs of RNN BPTT, MoE BPTT and sparse MoE RTRL at T={seq_lens} with "
                      f">= {MIN_SEEDS} seeds each", figure="accuracy")
        v = verdicts[0] if len(set(verdicts)) == 1 else PARTIAL
        return Evidence(v, "; ".join(texts) + (f"; documented {doc_text}" if doc_text else ""), rows[:MAX_ROWS],
                        "accuracy", ["the document does not name the task: every task with all three is read",
                                     "RTRL wins if the 95% interval of its difference to each lies above 0",
                                     _CHANCE_NOTE])
    return check


def chance_level(doc_chance, task="anbn"):
    """A documented 'random' accuracy against the task's chance accuracy (metrics.chance_accuracy, a
    property of the task and its targets, the same in every train record of it)."""

    def check(df):
        d = select(df, kind="train", task=task)
        ch = num(d, "metrics.chance_accuracy").dropna() if len(d) else pd.Series([], dtype=float)
        if len(ch) == 0:
            return nm(f"no `train` record on {task} with metrics.chance_accuracy", figure="accuracy")
        c = float(ch.median())
        text = f"chance accuracy on {task}: {fmt_pct(c)} (metrics.chance_accuracy); documented random {fmt_pct(doc_chance)}"
        v = CONFIRMED if abs(c - doc_chance) <= 0.05 else REFUTED
        return Evidence(v, text, show(d.head(3), ("metrics.chance_accuracy",)), "accuracy",
                        ["holds if the task's chance accuracy is within 5 points of the documented random level"],
                        c, "fraction")
    return check


#: two same-seed trajectories have separated at the first step whose training losses differ by
#: more than this, relative (float64 rounding is ~1e-16; float32 ~1e-7)
SEPARATION_TOL = 1e-6
TRAJECTORY = "train-trajectory"


def separation(df, preset=TRAJECTORY) -> dict:
    """Per dtype, where bptt's and sparse-rtrl's same-seed training losses separate:
    ``{dtype: {"first": step or None (never, over the steps compared), "steps": n,
    "max_rel": largest relative difference, "curve": [(step, relative difference)], "rows": [...]}}``."""
    d = select(df, kind="train", task="anbn")
    if len(d) == 0:
        return {}
    d = d[col(d, "config.label") == preset]
    out = {}
    for dtype in sorted(set(col(d, "config.dtype").dropna().astype(str))):
        dd = d[col(d, "config.dtype") == dtype]
        for seed in sorted(set(num(dd, "config.seed").dropna())):
            pair = {lr: dd[(col(dd, "config.learner") == lr) & (num(dd, "config.seed") == seed)]
                    for lr in ("bptt", "sparse-rtrl")}
            if any(len(v) == 0 for v in pair.values()):
                continue
            a, b = ({int(c[0]): c[1] for c in (v.iloc[-1].get("metrics.curve") or []) if c[1] is not None}
                    for v in pair.values())
            steps = sorted(set(a) & set(b))
            if not steps:
                continue
            rel = [abs(a[k] - b[k]) / max(abs(a[k]), 1e-300) for k in steps]
            first = next((k for k, r in zip(steps, rel) if r > SEPARATION_TOL), None)
            out[dtype] = {"first": first, "steps": len(steps), "max_rel": max(rel), "seed": int(seed),
                          "curve": list(zip(steps, rel)),
                          "rows": show(pd.concat(list(pair.values())), ("metrics.final_loss",))}
            break
    return out


def separation_text(sep: dict) -> str:
    if not sep:
        return "no same-seed trajectory records"
    return "; ".join(f"{dt}: " + (f"separate at step {s['first']}" if s["first"] is not None else
                                  f"together over all {s['steps']} steps")
                     + f" (largest relative loss difference {s['max_rel']:.1e})" for dt, s in sep.items())


def rtrl_level_by_proxy(target, tol, task="anbn", min_steps=None, doc_text="", level_preset=None,
                        pair_preset=None):
    """An RTRL accuracy level at a step count RTRL cannot afford here, read from bptt (issue 9):
    sparse-rtrl's gradient equals bptt's, so its training is bptt's up to rounding.  Declared rule:
    direct sparse-rtrl runs with >= MIN_SEEDS seeds at >= min_steps decide if they exist; else the
    bptt level decides, *only if* the proxy is shown: same-seed float64 trajectories stay within
    SEPARATION_TOL over every recorded step, and at an affordable setting the two learners'
    final accuracies are not REFUTED as 'similar' (``pair_preset``).  Otherwise NOT MEASURED."""
    direct = accuracy_level("sparse-rtrl", target, tol, task=task, min_steps=min_steps, doc_text=doc_text)

    def check(df):
        s = acc_stats(df, "sparse-rtrl", task)
        if s.n >= MIN_SEEDS and (not min_steps or s.steps >= min_steps):
            return direct(df)
        sep = separation(df)
        pair = accuracy_compare(dict(learner="sparse-rtrl", preset=pair_preset),
                                dict(learner="bptt", preset=pair_preset), "similar", tasks=(task,))(df)
        lev = accuracy_level("bptt", target, tol, task=task, lr=DOC_LR, min_steps=min_steps,
                             doc_text=doc_text, preset=level_preset)(df)
        f64 = sep.get("float64")
        why = []
        if f64 is None:
            why.append("no float64 same-seed trajectories")
        elif f64["first"] is not None:
            why.append(f"float64 trajectories separate at step {f64['first']}")
        if pair.verdict in (NOT_MEASURED, REFUTED):
            why.append(f"the affordable-setting comparison is {pair.verdict}")
        proxy = (f"proxy: same-seed trajectories {separation_text(sep)}; affordable setting: "
                 f"{pair.verdict} - {pair.measured_text}")
        if why:
            return nm(f"sparse-rtrl has no runs at {min_steps} steps and the bptt proxy does not hold "
                      f"({'; '.join(why)}); {proxy}", figure="accuracy")
        if lev.verdict == NOT_MEASURED:
            return lev
        return Evidence(lev.verdict, f"by proxy (bptt): {lev.measured_text}; {proxy}", lev.rows + pair.rows,
                        "accuracy", lev.notes + [
                            "read from bptt at the documented step count: sparse-rtrl's gradient is bptt's "
                            f"(float64 same-seed losses within {SEPARATION_TOL:g} over every recorded step), "
                            "and at an affordable setting their final accuracies are not told apart"],
                        lev.value, lev.unit, floor=lev.floor)
    return check
