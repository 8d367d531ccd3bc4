"""PonderTTT on a pretrained backbone (issue 24): the frontier in the TTT-Linear mode, and the
seed's own UPDATE_k (dynamic evaluation of all weights) as fixed actions.

    python -m ponderttt.experiments.pretrained --output results/ponder/pretrained.jsonl
    python -m ponderttt.experiments.pretrained --backbone gpt2-random --scale tiny ...  # smoke
    python -m ponderttt.experiments.pretrained --output ... --summary

``--update ttt`` (per seed): the TTT-Linear layer (ttt_minibatch.py) is built from the seed and
its slow weights trained on cached hidden states of ``--train_chunks`` stdlib-train chunks (the
backbone frozen); then outcome tables (every action's loss per chunk, each chunk from fresh fast
weights, tokens scored causally: mini-batch j through the fast weights of mini-batches < j) on
``--policy_chunks`` further stdlib-train chunks (the gate's warm-up, PPO's training) and on
``--eval_chunks`` chunks of each evaluation data set (window ``seed`` of the cached set). Methods
select one outcome per chunk: the fixed actions, the hindsight oracle, the reconstruction-loss
gate at each rate, PID-Lagrangian PPO at each budget (the realised cost kept within the budget,
policy.py), the budget oracle. ``recovery`` = (loss_SKIP - loss) / (loss_SKIP - loss_oracle),
the oracle being the DP optimum at the method's own realised nominal cost.

``--update full``: the four actions interleaved chunk by chunk on ``--full_chunks`` consecutive
chunks of each data set (dynamic_eval.py: k Adam steps, lr 3e-4, on all weights, carried;
each chunk scored before its update), with torch-counted FLOPs of one chunk per action.

One record per point (JSON Lines, schema 1, ``config.kind "ponder"``, label ``pretrained``),
``point_key`` for resume; a point that fails is an ``error`` record. The random-init GPT-2
backbone's records say ``config.role = "pipeline-check"``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
import traceback
from pathlib import Path

LABEL = "pretrained"
EVAL_DATA = ("stdlib-heldout", "go", "synthetic")
UPDATES = ("ttt", "full")
METHODS = ("fixed", "hindsight", "gate", "ppo", "oracle")
ACTION_NAMES = ("SKIP", "UPDATE_1", "UPDATE_2", "UPDATE_4")


def build_parser() -> argparse.ArgumentParser:
    from .train_baseline import _Parser, _positive
    p = _Parser(prog="python -m ponderttt.experiments.pretrained",
                description="PonderTTT on a pretrained backbone: TTT-Linear frontier and the "
                            "seed's full-weight UPDATE_k.")
    p.add_argument("--backbone", choices=["smollm2-135m", "gpt2-random"], default="smollm2-135m")
    p.add_argument("--scale", default="tiny", help="gpt2-random's scale (default tiny)")
    p.add_argument("--update", nargs="+", choices=UPDATES, default=list(UPDATES))
    p.add_argument("--data", nargs="+", choices=EVAL_DATA, default=list(EVAL_DATA))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--chunk_size", type=_positive, default=256)
    p.add_argument("--train_chunks", type=_positive, default=48, help="outer-training chunks")
    p.add_argument("--policy_chunks", type=_positive, default=32, help="gate/PPO training chunks")
    p.add_argument("--eval_chunks", type=_positive, default=32)
    p.add_argument("--outer_steps", type=_positive, default=120)
    p.add_argument("--outer_lr", type=float, default=1e-3)
    p.add_argument("--gate_rates", type=float, nargs="+", default=[0.25, 0.5])
    p.add_argument("--gate_action", choices=ACTION_NAMES[1:], default="UPDATE_1")
    p.add_argument("--budgets", type=float, nargs="+", default=[1.5, 2.0, 3.0])
    p.add_argument("--ppo_iterations", type=_positive, default=50)
    p.add_argument("--full_chunks", type=_positive, default=6)
    p.add_argument("--output", default="results/ponder/pretrained.jsonl")
    p.add_argument("--cache_dir", default=None, help="default local/ponder_cache")
    p.add_argument("--threads", type=_positive, default=1)
    p.add_argument("--summary", action="store_true")
    return p


def point_key(c: dict) -> str:
    return (f"ponder-pretrained|{c['backbone']}|{c['update']}|{c['data']}|seed{c['seed']}|"
            f"{c['method']}|{c['setting']}|c{c['chunk_size']}|n{c['eval_chunks']}")


def validate(rec: dict) -> dict:
    from .._harness import validate_record
    if validate_record is not None:
        validate_record(rec, None, None)
    c, m = rec["config"], rec["metrics"]
    if c.get("label") != LABEL or c.get("update") not in UPDATES:
        raise ValueError("not a pretrained-backbone record")
    if rec.get("point_key") != point_key(c):
        raise ValueError("point_key does not match the config")
    if rec["status"] == "ok":
        for k in ("loss", "avg_cost", "loss_skip"):
            if not (isinstance(m.get(k), (int, float)) and math.isfinite(m[k])):
                raise ValueError(f"metrics.{k} must be finite")
        if len(m["chunk_losses"]) != m["n_chunks"]:
            raise ValueError("chunk_losses do not match n_chunks")
    return rec


def read(path: Path) -> list:
    out = []
    if path.exists():
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip():
                try:
                    out.append(validate(json.loads(line)))
                except (ValueError, KeyError, TypeError) as e:
                    print(f"{path}:{i}: ignored (will be redone): {e}", file=sys.stderr)
    return out


# -- TTT-Linear mode ---------------------------------------------------------------------------

def _ttt_tables(a, bb, seed, cache, log):
    """(policy table, {data: eval table}, info) of one seed; the trained layer is cached."""
    import numpy as np
    import torch

    from ..hidden_cache import hidden_states
    from ..oracle import OutcomeTable
    from ..ttt_minibatch import MiniBatchTTT, MiniBatchTTTConfig, outcome_rows, train_slow_weights
    ntr = a.train_chunks + a.policy_chunks
    ids_tr, h_tr, inf_tr = hidden_states(bb, "stdlib-train", ntr, a.chunk_size, cache, log)
    torch.manual_seed(seed)
    layer = MiniBatchTTT(MiniBatchTTTConfig(bb.d_model, bb.n_heads))
    tag = f"{bb.name}{'-' + bb.info['scale'] if 'scale' in bb.info else ''}"
    lf = Path(cache) / "ttt_layers" / f"{tag}_c{a.chunk_size}_tr{a.train_chunks}_s{a.outer_steps}_seed{seed}.pt"
    t0 = time.perf_counter()
    if lf.is_file():
        blob = torch.load(lf, weights_only=False)
        layer.load_state_dict(blob["state"])
        hist = blob["hist"]
    else:
        hist = train_slow_weights(layer, bb.head, h_tr[:a.train_chunks], ids_tr[:a.train_chunks],
                                  a.outer_steps, lr=a.outer_lr, seed=seed, log=log)
        lf.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"state": layer.state_dict(), "hist": hist}, lf.with_suffix(".tmp"))
        lf.with_suffix(".tmp").replace(lf)
    outer_s = time.perf_counter() - t0
    layer.eval()

    def table(ids, h, name):
        t = time.perf_counter()
        L, R, S = outcome_rows(layer, bb.head, h, ids)
        secs = {"ttt": S[:, 0].tolist(), "head": S[:, 1].tolist(), "wall": time.perf_counter() - t}
        return OutcomeTable(L, R, a.chunk_size, secs, {"data": name})
    pol = table(ids_tr[a.train_chunks:], h_tr[a.train_chunks:], "stdlib-train")
    evals, hinfo = {}, {"stdlib-train": inf_tr}
    for d in a.data:
        n = (seed + 1) * a.eval_chunks
        ids, h, inf = hidden_states(bb, d, n, a.chunk_size, cache, log)
        hinfo[d] = inf
        sl = slice(seed * a.eval_chunks, n)
        evals[d] = table(ids[sl], h[sl], d)
    flops = _ttt_flops(bb, layer, ids_tr[:1], h_tr[:1])
    info = {"outer_history": hist, "outer_seconds": outer_s, "layer_cached": lf.is_file(),
            "hidden": hinfo, "flops_per_chunk": flops,
            "outer_loss_first_last": [float(np.mean([x[1] for x in hist[:10]])),
                                      float(np.mean([x[1] for x in hist[-10:]]))]}
    return pol, evals, info


def _ttt_flops(bb, layer, ids, h) -> dict:
    """torch-counted FLOPs of one chunk per action: backbone forward + TTT + LM head."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from ..ttt_minibatch import ACTION_STEPS, chunk_loss
    with FlopCounterMode(display=False) as fc:
        bb.hidden(ids)
    back = int(fc.get_total_flops())
    out = {}
    for name, k in zip(ACTION_NAMES, ACTION_STEPS):
        with FlopCounterMode(display=False) as fc, torch.no_grad():
            res, _ = layer(h, k)
            chunk_loss(bb.head, h, res, ids)
        out[name] = back + int(fc.get_total_flops())
    return {"backbone": back, **out}


def _ttt_points(a):
    from ..actions import Action
    pts = [("fixed", n, {"action": n}) for n in ACTION_NAMES]
    pts.append(("hindsight", "unconstrained", {}))
    pts += [("gate", f"rate={r:g}", {"target_rate": r}) for r in a.gate_rates]
    pts += [("ppo", f"budget={b:g}", {"budget": b}) for b in a.budgets]
    cost = Action(a.gate_action).nominal_cost
    bs = sorted(set(a.budgets) | {round(1 + r * (cost - 1), 6) for r in a.gate_rates})
    pts += [("oracle", f"budget={b:g}", {"budget": b}) for b in bs]
    return pts


def _ttt_point(a, method, params, pol, held, seed):
    import numpy as np

    from ..actions import Action
    from ..gate import InnerLossGate
    from ..oracle import ACTIONS, COSTS, budget_oracle, hindsight_oracle
    from ..policy import PolicyTrainer, PPOConfig
    extra = {}
    if method == "fixed":
        acts = [ACTIONS.index(Action(params["action"]))] * held.n
    elif method == "hindsight":
        acts = hindsight_oracle(held.losses)
    elif method == "gate":
        gate = InnerLossGate(params["target_rate"], Action(a.gate_action))
        gate.run(pol.inner_before)
        acts = [ACTIONS.index(x) for x in gate.run(held.inner_before)]
        extra["gate_final"] = gate.state()
    elif method == "ppo":
        tr = PolicyTrainer(pol, params["budget"], PPOConfig(), seed=seed)
        hist = tr.train(a.ppo_iterations)
        extra["ppo_history"] = [{k: h[k] for k in ("iteration", "reward_vs_skip", "cost", "lambda")}
                                for h in hist]
        acts = tr.act(held, seed=seed)
        free = tr.act(held, seed=seed, keep_budget=False)
        extra["unguarded_avg_cost"] = float(COSTS[np.asarray(free)].mean())
        extra["budget_tolerance"] = 0.0
    else:
        acts = budget_oracle(held.losses, int(math.floor(params["budget"] * held.n + 1e-6)))
    return np.asarray(acts, dtype=np.int64), extra


def run_ttt(a, bb, base, done, out, log) -> int:
    from .._harness import append_record, new_run_id
    from ..results import build_record
    from ._common import evaluate
    failed = 0
    for seed in a.seeds:
        pts = [(d, m, s, p) for d in a.data for m, s, p in _ttt_points(a)
               if point_key({**base, "update": "ttt", "data": d, "seed": seed, "method": m,
                             "setting": s}) not in done]
        if not pts:
            log(f"ttt seed {seed}: all points done")
            continue
        try:
            pol, evals, info = _ttt_tables(a, bb, seed, a.cache_dir, log)
            err = None
        except Exception as e:
            traceback.print_exc()
            err = f"{type(e).__name__}: {e}"
        for d, method, setting, params in pts:
            cfg = {**base, **params, "update": "ttt", "data": d, "seed": seed, "method": method,
                   "setting": setting, "action": params.get("action", method)}
            try:
                if err:
                    raise RuntimeError(f"tables failed: {err}")
                held = evals[d]
                acts, extra = _ttt_point(a, method, params, pol, held, seed)
                m = evaluate(held, acts)
                m["chunk_losses"] = held.losses[range(held.n), acts].tolist()
                m["fixed_losses"] = {n: held.fixed(n)[0] for n in ACTION_NAMES}
                m["flops_per_chunk"] = info["flops_per_chunk"]
                m["avg_flops_ratio"] = sum(info["flops_per_chunk"][ACTION_NAMES[i]] for i in acts) / (
                    len(acts) * info["flops_per_chunk"]["SKIP"])
                m["table_seconds"] = held.seconds
                m["outer_loss_first_last"] = info["outer_loss_first_last"]
                m["outer_seconds"] = info["outer_seconds"]
                m["recon_before"] = held.inner_before.tolist()
                m.update(extra)
                rec = build_record(run_id=new_run_id(), config=cfg, metrics=m)
                status = f"loss={m['loss']:.4f} cost={m['avg_cost']:.2f}" + (
                    "" if m["recovery"] is None else f" rec={m['recovery']:.2f}")
            except Exception as e:
                rec = build_record(run_id=new_run_id(), config=cfg, metrics={}, status="error",
                                   message=f"{type(e).__name__}: {e}")
                status, failed = f"ERROR {e}", failed + 1
            rec["point_key"] = point_key(cfg)
            validate(rec)
            append_record(out, rec)
            log(f"  ttt {d} seed {seed} {method} {setting}: {status}")
    return failed


def run_bare(a, bb, base, done, out, log) -> int:
    """The bare backbone's loss on each seed's evaluation window (no TTT layer): what the
    TTT-Linear mode's SKIP (the trained layer read through W0, b0) is to be compared with.
    From the cached hidden states and the LM head only."""
    import torch

    from .._harness import append_record, new_run_id
    from ..hidden_cache import hidden_states
    from ..results import build_record
    from ..ttt_minibatch import chunk_loss
    skips = {}
    for r in read(out):
        c = r["config"]
        if r["status"] == "ok" and c["update"] == "ttt" and c["setting"] == "SKIP":
            skips[(c["data"], c["seed"])] = r["metrics"]["loss"]
    for seed in a.seeds:
        for d in a.data:
            cfg = {**base, "update": "ttt", "data": d, "seed": seed, "method": "bare",
                   "setting": "backbone", "action": "bare"}
            if point_key(cfg) in done:
                continue
            n = (seed + 1) * a.eval_chunks
            ids, h, _ = hidden_states(bb, d, n, a.chunk_size, a.cache_dir, log)
            with torch.no_grad():
                ls = [float(chunk_loss(bb.head, h[i:i + 1], torch.zeros_like(h[i:i + 1]), ids[i:i + 1]))
                      for i in range(seed * a.eval_chunks, n)]
            loss = sum(ls) / len(ls)
            m = {"loss": loss, "avg_cost": 1.0, "n_chunks": len(ls), "chunk_losses": ls,
                 "loss_skip": skips.get((d, seed), loss), "recovery": None,
                 "loss_skip_is_ttt_skip": (d, seed) in skips}
            rec = build_record(run_id=new_run_id(), config=cfg, metrics=m)
            rec["point_key"] = point_key(cfg)
            validate(rec)
            append_record(out, rec)
            log(f"  bare {d} seed {seed}: loss={loss:.4f} (TTT SKIP {m['loss_skip']:.4f})")
    return 0


# -- full-weight mode --------------------------------------------------------------------------

def run_full(a, bb, base, done, out, log) -> int:
    from .._harness import append_record, new_run_id
    from ..corpora import token_chunks
    from ..dynamic_eval import ACTIONS, LR, chunk_flops, run_interleaved
    from ..results import build_record
    failed = 0
    for d in a.data:
        cfgs = {n: {**base, "update": "full", "data": d, "seed": 0, "method": "fixed",
                    "setting": n, "action": n, "eval_chunks": a.full_chunks, "lr": LR,
                    "optimizer": "Adam", "carried": True, "scored": "before the chunk's update"}
                for n in ACTIONS}
        todo = [n for n, c in cfgs.items() if point_key(c) not in done]
        if not todo:
            log(f"full {d}: done")
            continue
        try:
            ids = token_chunks(d, bb.tokenize, a.full_chunks, a.chunk_size, bb.vocab_size)
            flops = {n: chunk_flops(bb.lm, ids[:1], k) for n, k in ACTIONS.items()}
            t0 = time.perf_counter()
            res = run_interleaved(bb.lm, ids, log=log)
            wall, err = time.perf_counter() - t0, None
        except Exception as e:
            traceback.print_exc()
            err = f"{type(e).__name__}: {e}"
        for n in ACTIONS:
            cfg = cfgs[n]
            if n not in todo:
                continue
            if err:
                rec = build_record(run_id=new_run_id(), config=cfg, metrics={}, status="error",
                                   message=err)
                failed += 1
            else:
                r, skip = res[n], res["SKIP"]
                secs = sorted(r["chunk_seconds"])
                m = {"loss": sum(r["chunk_losses"]) / len(r["chunk_losses"]),
                     "loss_skip": sum(skip["chunk_losses"]) / len(skip["chunk_losses"]),
                     "n_chunks": len(r["chunk_losses"]), "chunk_losses": r["chunk_losses"],
                     "chunk_seconds": r["chunk_seconds"], "step_losses": r["step_losses"],
                     "median_seconds": secs[len(secs) // 2],
                     "time_ratio": (sum(r["chunk_seconds"]) / sum(skip["chunk_seconds"])),
                     "flops_per_chunk": flops[n], "flops_ratio": flops[n] / flops["SKIP"],
                     "avg_cost": float({"SKIP": 1, "UPDATE_1": 3, "UPDATE_2": 5, "UPDATE_4": 12}[n]),
                     "interleaved_wall_s": wall}
                rec = build_record(run_id=new_run_id(), config=cfg, metrics=m)
                log(f"  full {d} {n}: loss={m['loss']:.4f} (SKIP {m['loss_skip']:.4f}) "
                    f"flops x{m['flops_ratio']:.2f} time x{m['time_ratio']:.2f}")
            rec["point_key"] = point_key(cfg)
            validate(rec)
            append_record(out, rec)
    return failed


def summarize(path: Path) -> list:
    import statistics as st
    groups: dict = {}
    for r in read(path):
        if r["status"] == "ok":
            c = r["config"]
            groups.setdefault((c["backbone"], c["update"], c["data"], c["method"], c["setting"]),
                              []).append(r)
    rows = []
    for key, rs in sorted(groups.items()):
        def ms(k):
            xs = [r["metrics"].get(k) for r in rs if r["metrics"].get(k) is not None]
            return (st.mean(xs), st.stdev(xs) if len(xs) > 1 else 0.0) if xs else (None, None)
        rows.append({"key": key, "seeds": len(rs), "loss": ms("loss"), "loss_skip": ms("loss_skip"),
                     "avg_cost": ms("avg_cost"), "recovery": ms("recovery")})
    return rows


def print_summary(path: Path) -> None:
    f = lambda p, nd=4: "n/a" if p[0] is None else f"{p[0]:.{nd}f} ± {p[1]:.{nd}f}"  # noqa: E731
    print("| backbone | update | data | method | setting | seeds | loss | SKIP | cost | recovery |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in summarize(path):
        print("| " + " | ".join(r["key"]) + f" | {r['seeds']} | {f(r['loss'])} | {f(r['loss_skip'])} "
              f"| {f(r['avg_cost'], 2)} | {f(r['recovery'], 2)} |")


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    out = Path(a.output)
    if a.summary:
        print_summary(out)
        return 0
    import torch
    import transformers

    from ..backbone import DEFAULT_CACHE, load_backbone
    torch.set_num_threads(a.threads)
    a.cache_dir = a.cache_dir or str(DEFAULT_CACHE)
    log = lambda s: print(s, flush=True)  # noqa: E731
    t0 = time.perf_counter()
    bb = load_backbone(a.backbone, cache_dir=a.cache_dir, scale=a.scale, seed=0)
    base = {"kind": "ponder", "label": LABEL, "backbone": a.backbone,
            "role": "measurement" if a.backbone == "smollm2-135m" else "pipeline-check",
            "backbone_info": bb.info, "backbone_params": bb.n_params(),
            "chunk_size": a.chunk_size, "eval_chunks": a.eval_chunks,
            "train_chunks": a.train_chunks, "policy_chunks": a.policy_chunks,
            "outer_steps": a.outer_steps, "outer_lr": a.outer_lr, "mini_batch": 16,
            "gate_action": a.gate_action, "ppo_iterations": a.ppo_iterations,
            "cost_units": {"SKIP": 1, "UPDATE_1": 3, "UPDATE_2": 5, "UPDATE_4": 12},
            "threads": a.threads, "device": "cpu", "dtype": "float32",
            "transformers": transformers.__version__, "model_scale": bb.name,
            "load_s": time.perf_counter() - t0}
    done = {r["point_key"] for r in read(out) if r["status"] == "ok"}
    failed = 0
    if "ttt" in a.update:
        failed += run_ttt(a, bb, base, done, out, log)
    if "ttt" in a.update:
        failed += run_bare(a, bb, base, done, out, log)
    if "full" in a.update:
        failed += run_full(a, bb, base, done, out, log)
    print_summary(out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
