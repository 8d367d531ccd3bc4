"""The quality-cost frontier: loss vs average cost per chunk on held-out chunks, for the fixed
actions, the inner-loss gate, the PID-Lagrangian PPO policy and the oracles, over seeds.

    python -m ponderttt.experiments.frontier --model_scale 125m --output local/ponder/frontier.jsonl
    python -m ponderttt.experiments.frontier --output local/ponder/frontier.jsonl --summary

Per (data, seed): build the model (random init from the seed), compute the outcome tables of
the training and the held-out chunks (oracle.py: every chunk from fresh fast weights, ONE
backbone pass per chunk, the four actions' losses from it; cached under --cache_dir), then
every method only selects one precomputed outcome per held-out chunk:

  fixed      SKIP, UPDATE_1, UPDATE_2, UPDATE_4 on every chunk
  hindsight  per chunk the action with the lowest loss (no budget)
  gate       the inner-loss gate at each --gate_rates target (threshold warmed up on the
             training chunks' inner losses, then adapting online over the held-out ones)
  ppo        PID-Lagrangian PPO at each --budgets, trained on the training table
             (--ppo_iterations), evaluated by sampling (seeded) on the held-out chunks
  oracle     the budget-constrained oracle (DP) at each --budgets and at each gate's nominal
             budget 1 + r (cost(UPDATE) - 1)

Each (method, setting, data, seed) is one record appended to --output (JSON Lines, schema 1,
``config.kind "ponder"``, label "frontier"; fields in docs/PONDERTTT.md) with ``point_key``;
``metrics.recovery`` = (loss_SKIP - loss) / (loss_SKIP - loss_oracle) with the oracle at the
record's own realized cost. Resumable: a point whose ``point_key`` is in --output as a valid
``ok`` record is skipped (invalid lines are reported and ignored, so they are redone). A point
that raises is recorded with ``status: "error"`` and the others go on.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
import traceback
from pathlib import Path

from ..actions import Action
from ..config import CONTEXT, SCALES
from .train_baseline import _check, _Parser, _positive
from .train_policy import _budget

METHODS = ("fixed", "hindsight", "gate", "ppo", "oracle")
DATA = ("synthetic", "stdlib")
LABEL = "frontier"
#: every frontier record's metrics have these (docs/PONDERTTT.md)
METRIC_KEYS = ("loss", "avg_cost", "total_cost", "n_chunks", "loss_skip",
               "oracle_loss_at_cost", "oracle_cost", "recovery", "action_counts",
               "chunk_actions", "chunk_losses")


def _rate(text: str) -> float:
    v = float(text)
    if not 0.0 < v <= 1.0:
        raise argparse.ArgumentTypeError(f"a target update rate is in (0, 1], got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m ponderttt.experiments.frontier",
                description="Loss vs average cost per chunk on held-out chunks: fixed actions, "
                            "gate, PID-Lagrangian PPO, oracles; one record per point.")
    p.add_argument("--model_scale", choices=list(SCALES), default="125m",
                   help="GPT-2 shape (default 125m, ~45 min for the defaults on one core; "
                        "docs/PONDERTTT.md has the times per scale)")
    p.add_argument("--output", default="local/ponder/frontier.jsonl",
                   help="JSON Lines file the records are appended to (and resumed from)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                   help="seeds: model init, data window, policy (default 0 1 2)")
    p.add_argument("--data", nargs="+", choices=DATA, default=list(DATA),
                   help="synthetic (random tokens) and/or stdlib (code); default both")
    p.add_argument("--train_chunks", type=_positive, default=32,
                   help="training chunks per (data, seed) (default 32)")
    p.add_argument("--eval_chunks", type=_positive, default=32,
                   help="held-out chunks per (data, seed) (default 32)")
    p.add_argument("--chunk_size", type=_positive, default=512,
                   help=f"tokens per chunk, at most {CONTEXT} (default 512)")
    p.add_argument("--gate_rates", type=_rate, nargs="+", default=[0.1, 0.25, 0.5, 0.75],
                   help="the gate's target update rates (default 0.1 0.25 0.5 0.75)")
    p.add_argument("--gate_action", choices=[a.value for a in Action if a.steps],
                   default="UPDATE_1", help="what the gate does when it fires (default UPDATE_1)")
    p.add_argument("--budgets", type=_budget, nargs="+", default=[1.5, 2.0, 3.0],
                   help="PPO and oracle budgets, units per chunk (default 1.5 2 3)")
    p.add_argument("--ppo_iterations", type=_positive, default=50,
                   help="PPO iterations per budget (default 50)")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS),
                   help="which methods (default all)")
    p.add_argument("--cache_dir", default=None,
                   help="outcome tables are cached here (default OUTPUT's folder/frontier_tables)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--weights", default=None, help="local GPT-2 checkpoint (default random init)")
    p.add_argument("--threads", type=_positive, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--summary", action="store_true",
                   help="only print the summary table of --output (mean and sd over seeds)")
    return p


# -- records -----------------------------------------------------------------------------------

def point_key(scale, data, seed, method, setting, chunk_size, train_chunks, eval_chunks) -> str:
    return (f"ponder-frontier|{scale}|{data}|seed{seed}|{method}|{setting}|c{chunk_size}"
            f"|train{train_chunks}|eval{eval_chunks}")


def validate_frontier_record(rec) -> dict:
    """The harness's record check plus the frontier's own fields; ValueError names the field."""
    from .._harness import validate_record
    if validate_record is not None:
        validate_record(rec, None, None)
    elif not isinstance(rec, dict):
        raise ValueError("not a JSON object")
    c, m = rec.get("config", {}), rec.get("metrics", {})
    if c.get("label") != LABEL or c.get("method") not in METHODS:
        raise ValueError(f"not a frontier record (label {c.get('label')!r}, "
                         f"method {c.get('method')!r})")
    for k in ("setting", "data", "model_scale"):
        if not isinstance(c.get(k), str):
            raise ValueError(f"config.{k} must be a string")
    for k in ("seed", "chunk_size", "train_chunks", "eval_chunks"):
        if not isinstance(c.get(k), int) or isinstance(c.get(k), bool):
            raise ValueError(f"config.{k} must be an integer")
    key = point_key(c["model_scale"], c["data"], c["seed"], c["method"], c["setting"],
                    c["chunk_size"], c["train_chunks"], c["eval_chunks"])
    if rec.get("point_key") != key:
        raise ValueError(f"point_key {rec.get('point_key')!r} does not match its config ({key!r})")
    if rec["status"] != "ok":
        return rec
    missing = [k for k in METRIC_KEYS if k not in m]
    if missing:
        raise ValueError(f"metrics lack {', '.join(missing)}")
    for k in ("loss", "avg_cost", "loss_skip", "oracle_loss_at_cost"):
        if not isinstance(m[k], (int, float)) or not math.isfinite(m[k]):
            raise ValueError(f"metrics.{k} must be a finite number, got {m[k]!r}")
    if not 1.0 <= m["avg_cost"] <= 12.0:
        raise ValueError(f"metrics.avg_cost {m['avg_cost']} outside 1..12")
    n = m["n_chunks"]
    if not isinstance(n, int) or n <= 0 or len(m["chunk_actions"]) != n \
            or len(m["chunk_losses"]) != n or sum(m["action_counts"].values()) != n:
        raise ValueError("metrics.n_chunks does not match the per-chunk lists")
    if m["recovery"] is not None and not math.isfinite(m["recovery"]):
        raise ValueError("metrics.recovery must be a finite number or null")
    return rec


def read_records(path: Path, warn=True) -> list:
    """The valid frontier records of ``path``; an invalid line is reported and skipped."""
    out = []
    if not path.exists():
        return out
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(validate_frontier_record(json.loads(line)))
        except (ValueError, KeyError, TypeError) as e:
            if warn:
                print(f"{path}:{i}: ignored (will be redone): {e}", file=sys.stderr)
    return out


def done_points(path: Path) -> set:
    return {r["point_key"] for r in read_records(path) if r["status"] == "ok"}


# -- one (data, seed) --------------------------------------------------------------------------

def _points(a) -> list:
    """(method, setting, params) of every point of one (data, seed)."""
    pts = []
    if "fixed" in a.methods:
        pts += [("fixed", act.value, {"action": act.value}) for act in Action]
    if "hindsight" in a.methods:
        pts.append(("hindsight", "unconstrained", {}))
    if "gate" in a.methods:
        pts += [("gate", f"rate={r:g}", {"target_rate": r}) for r in a.gate_rates]
    if "ppo" in a.methods:
        pts += [("ppo", f"budget={b:g}", {"budget": b}) for b in a.budgets]
    if "oracle" in a.methods:
        cost = Action(a.gate_action).nominal_cost
        bs = sorted(set(a.budgets) | {round(1 + r * (cost - 1), 6) for r in a.gate_rates})
        pts += [("oracle", f"budget={b:g}", {"budget": b}) for b in bs]
    return pts


def _tables(a, data: str, seed: int, cache_dir: Path, model_box: dict):
    """(train, heldout) outcome tables: from the cache, else computed (and cached)."""
    from ..oracle import OutcomeTable
    from ._common import data_tokens, progress_table
    name = (f"{a.model_scale}_{data}_seed{seed}_c{a.chunk_size}_train{a.train_chunks}"
            f"_eval{a.eval_chunks}{'_w' if a.weights else ''}.json")
    f = cache_dir / name
    if f.exists():
        try:
            d = json.loads(f.read_text())
            return OutcomeTable.from_dict(d["train"]), OutcomeTable.from_dict(d["heldout"]), True
        except (ValueError, KeyError) as e:
            print(f"  cache {f} unusable ({e}); recomputing", flush=True)
    from .. import build_model
    t0 = time.perf_counter()
    model = build_model(a.model_scale, weights=a.weights, seed=seed).to(a.device)
    model_box["build_s"] = time.perf_counter() - t0
    model_box["model"] = model
    real = data == "stdlib"
    out = []
    for part, n in (("train", a.train_chunks), ("heldout", a.eval_chunks)):
        tok = data_tokens(n, a.chunk_size, real=real, seed=seed, part=part)
        out.append(progress_table(model, tok, a.chunk_size, f"{data} seed {seed} {part}"))
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(".tmp")
    tmp.write_text(json.dumps({"train": out[0].to_dict(), "heldout": out[1].to_dict()}))
    tmp.replace(f)
    return out[0], out[1], False


def _run_point(a, method, params, train, held, seed):
    """(actions on the held-out chunks, extra metrics) of one point."""
    import numpy as np

    from ..gate import InnerLossGate
    from ..oracle import ACTIONS, budget_oracle, hindsight_oracle
    from ..policy import PolicyTrainer, PPOConfig
    extra = {}
    t0 = time.perf_counter()
    if method == "fixed":
        acts = [ACTIONS.index(Action(params["action"]))] * held.n
    elif method == "hindsight":
        acts = hindsight_oracle(held.losses)
    elif method == "gate":
        gate = InnerLossGate(params["target_rate"], Action(a.gate_action))
        gate.run(train.inner_before)          # warm-up of the threshold, training chunks
        extra["gate_after_warmup"] = gate.state()
        acts = [ACTIONS.index(x) for x in gate.run(held.inner_before)]
        extra["gate_final"] = gate.state()
    elif method == "ppo":
        tr = PolicyTrainer(train, params["budget"], PPOConfig(), seed=seed)
        hist = tr.train(a.ppo_iterations)
        extra["ppo_history"] = [{k: h[k] for k in ("iteration", "reward", "reward_vs_skip",
                                                   "cost", "lambda", "action_counts")}
                                for h in hist]
        extra["ppo_config"] = dict(PPOConfig().__dict__)
        acts = tr.act(held, seed=seed)
    elif method == "oracle":
        budget = int(math.floor(params["budget"] * held.n + 1e-6))
        acts = budget_oracle(held.losses, budget)
        extra["budget_units"] = budget
    else:
        raise ValueError(f"unknown method {method!r}")
    extra["method_seconds"] = time.perf_counter() - t0
    acts = np.asarray(acts, dtype=np.int64)
    return acts, extra


def run(a) -> int:
    import transformers

    from .._harness import append_record, new_run_id
    from ..config import get_scale
    from ..results import build_record, load_avg
    from ._common import evaluate

    out = Path(a.output)
    cache_dir = Path(a.cache_dir) if a.cache_dir else out.parent / "frontier_tables"
    done = done_points(out)
    failed = written = skipped = 0
    for data in a.data:
        for seed in a.seeds:
            pts = [(m, s, p) for m, s, p in _points(a)
                   if point_key(a.model_scale, data, seed, m, s, a.chunk_size, a.train_chunks,
                                a.eval_chunks) not in done]
            skipped += len(_points(a)) - len(pts)
            if not pts:
                print(f"{data} seed {seed}: all points done", flush=True)
                continue
            print(f"{data} seed {seed}: {len(pts)} points to do", flush=True)
            box: dict = {}
            base = {"kind": "ponder", "label": LABEL, "model_scale": a.model_scale,
                    "data": data, "data_split": "heldout", "seed": seed,
                    "chunk_size": a.chunk_size, "seq_len": a.chunk_size,
                    "train_chunks": a.train_chunks, "eval_chunks": a.eval_chunks,
                    "device": a.device, "dtype": "float32", "batch": 1, "threads": a.threads,
                    "weights": a.weights, "gate_action": a.gate_action,
                    "cost_units": {x.value: x.nominal_cost for x in Action},
                    "independence": "each chunk from fresh fast weights (seq_len = chunk_size)",
                    "model": get_scale(a.model_scale).to_dict(),
                    "transformers": transformers.__version__}
            load0 = load_avg()
            try:
                train, held, cached = _tables(a, data, seed, cache_dir, box)
                err = None
            except Exception as e:  # the (data, seed) fails; its points are error records
                err = f"{type(e).__name__}: {e}"
                traceback.print_exc()
            load1 = load_avg()
            for method, setting, params in pts:
                cfg = {**base, **params, "method": method, "setting": setting,
                       "action": params["action"] if method == "fixed" else method}
                key = point_key(a.model_scale, data, seed, method, setting, a.chunk_size,
                                a.train_chunks, a.eval_chunks)
                try:
                    if err:
                        raise RuntimeError(f"outcome tables failed: {err}")
                    acts, extra = _run_point(a, method, params, train, held, seed)
                    m = evaluate(held, acts)
                    m["chunk_losses"] = held.losses[range(held.n), acts].tolist()
                    m.update(extra, table_seconds={"train": train.seconds,
                                                   "heldout": held.seconds},
                             table_cached=cached, model_build_s=box.get("build_s"),
                             load_avg_1m=max([x for x in (load0, load1) if x is not None],
                                             default=None),
                             fixed_losses={x.value: held.fixed(x)[0] for x in Action})
                    rec = build_record(run_id=new_run_id(), config=cfg, metrics=m)
                    rec["point_key"] = key
                    validate_frontier_record(rec)
                    status = f"loss={m['loss']:.4f} cost={m['avg_cost']:.3f}" + (
                        "" if m["recovery"] is None else f" recovery={m['recovery']:.3f}")
                except Exception as e:
                    rec = build_record(run_id=new_run_id(), config=cfg, metrics={},
                                       status="error", message=f"{type(e).__name__}: {e}")
                    rec["point_key"] = key
                    status = f"ERROR {type(e).__name__}: {e}"
                    failed += 1
                append_record(out, rec)
                written += 1
                print(f"  {method} {setting}: {status}", flush=True)
    print(f"{written} records written to {out}, {skipped} already done, {failed} failed")
    return 1 if failed else 0


def summarize(path: Path) -> list:
    """Mean and sample sd over seeds per (scale, data, method, setting)."""
    import statistics as st
    groups: dict = {}
    for r in read_records(path):
        if r["status"] != "ok":
            continue
        c = r["config"]
        groups.setdefault((c["model_scale"], c["data"], c["method"], c["setting"]), []).append(r)
    rows = []
    for (scale, data, method, setting), rs in sorted(groups.items()):
        def ms(k):
            xs = [r["metrics"][k] for r in rs if r["metrics"][k] is not None]
            if not xs:
                return None, None
            return st.mean(xs), (st.stdev(xs) if len(xs) > 1 else 0.0)
        rows.append({"scale": scale, "data": data, "method": method, "setting": setting,
                     "seeds": len(rs), "loss": ms("loss"), "avg_cost": ms("avg_cost"),
                     "loss_minus_skip": ms_diff(rs), "recovery": ms("recovery")})
    return rows


def ms_diff(rs):
    import statistics as st
    xs = [r["metrics"]["loss"] - r["metrics"]["loss_skip"] for r in rs]
    return st.mean(xs), (st.stdev(xs) if len(xs) > 1 else 0.0)


def _fmt(pair, nd=4):
    m, s = pair
    return "n/a" if m is None else f"{m:.{nd}f} ± {s:.{nd}f}"


def print_summary(path: Path) -> None:
    print("| scale | data | method | setting | seeds | loss | loss - SKIP | cost/chunk | "
          "recovery |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in summarize(path):
        print(f"| {r['scale']} | {r['data']} | {r['method']} | {r['setting']} | {r['seeds']} | "
              f"{_fmt(r['loss'])} | {_fmt(r['loss_minus_skip'])} | {_fmt(r['avg_cost'], 2)} | "
              f"{_fmt(r['recovery'], 3)} |")


def main(argv=None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    if a.summary:
        if not Path(a.output).is_file():
            parser.error(f"--output {a.output}: no such file")
        print_summary(Path(a.output))
        return 0
    a.seq_len = 0
    _check(parser, a)
    import torch
    torch.set_num_threads(a.threads)
    rc = run(a)
    print_summary(Path(a.output))
    return rc


if __name__ == "__main__":
    sys.exit(main())
