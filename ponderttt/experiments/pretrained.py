"""PonderTTT on a pretrained backbone, judged against the bare backbone (issue 32).

    python -m ponderttt.experiments.pretrained                         # -> local/ponder/pretrained/
    python -m ponderttt.experiments.pretrained --out_dir results/ponder
    python -m ponderttt.experiments.pretrained --backbone gpt2-random --scale tiny ...   # smoke
    python -m ponderttt.experiments.pretrained --out_dir results/ponder --summary

Three experiments, one records file each (JSON Lines through ``rtrl_moe.records``):

* ``ttt_training.jsonl`` (``--stage ttt``): per seed, the TTT layer (delta contribution: SKIP
  is the bare backbone exactly) built from the seed, its slow weights trained on
  ``--train_chunks`` stdlib-train chunks with early stopping on ``--val_chunks`` further ones
  (slow_training.py; cached hidden states; the layer is checkpointed, so a run resumes). One
  record per (split, action): the loss on the train chunks (data ``stdlib-train``), on the
  validation chunks (``stdlib-val``).
* ``ttt_frontier.jsonl`` (``--stage ttt``): per seed and evaluation data set (stdlib held-out,
  Go, synthetic ids; window ``seed`` of ``--eval_chunks`` chunks): bare, SKIP, UPDATE_1/2/4,
  the oracle (unconstrained, and the budget oracle at each budget), the reconstruction-loss
  gate and PPO at each budget, all selected from one outcome table per chunk (each chunk from
  the learned W0, b0).
* ``full_frontier.jsonl`` (``--stage full``): the seed's own mode (k Adam steps on all the
  backbone's weights, carried, each chunk scored before its update) on window ``seed`` of
  ``--full_chunks`` chunks of each data set: the four fixed actions interleaved chunk by chunk
  in one process (the cost claims' time ratios), then the gate and PPO at each
  ``--full_budgets`` on their own carried streams (full_policies.py).

Recovery, one definition for every record (``metrics.recovery``):
``(loss_bare - loss) / (loss_bare - loss_oracle(B))``, B the method's declared budget in the
document's units (1/3/5/12 a chunk; a fixed action's own cost, the gate's and PPO's budget),
loss_oracle(B) the exact budget oracle on the same chunks; 0 when the oracle has no headroom
at B. A policy that never updates has loss = bare and scores 0; it never drops out. Only the
TTT mode has an oracle; the full mode's records have ``recovery: null`` (its state carries:
no exact oracle) and are compared with the fixed actions at equal cost instead.

Every record: ``config.backbone``, ``config.update`` (``ttt``/``full``), ``config.data``,
``config.seed``, ``config.action`` (bare, SKIP, UPDATE_1/2/4, oracle, gate, ppo) and
``metrics.loss`` (nats a token on the scored chunks); ``point_key`` for resume (a point already
in the file as ``ok`` is skipped; one that fails is an ``error`` record and the rest go on,
exit status 1).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from .train_baseline import _Parser, _positive

EVAL_DATA = ("stdlib-heldout", "go", "synthetic")
STAGES = ("ttt", "full")
ACTION_NAMES = ("SKIP", "UPDATE_1", "UPDATE_2", "UPDATE_4")
CONTRACT_ACTIONS = ("bare",) + ACTION_NAMES + ("oracle", "gate", "ppo")
FILES = {"training": "ttt_training.jsonl", "ttt": "ttt_frontier.jsonl", "full": "full_frontier.jsonl"}
DEFAULT_OUT = "local/ponder/pretrained"
UNITS = {"SKIP": 1, "UPDATE_1": 3, "UPDATE_2": 5, "UPDATE_4": 12}


#: behaviour version (rtrl_moe.records.versions): bump when issue 32's protocol: splits, methods, recovery, records changes
VERSIONS = {"ponder.pretrained": 1}


def _budget(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 1.0 <= v <= 12.0:
        raise argparse.ArgumentTypeError(f"a budget is 1..12 units a chunk, got {v:g}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m ponderttt.experiments.pretrained",
                description="PonderTTT on a pretrained backbone against the bare backbone: the "
                            "TTT layer's training and frontier, and the seed's full-weight mode.")
    a = p.add_argument
    a("--backbone", choices=["smollm2-135m", "gpt2-random"], default="smollm2-135m",
      help="smollm2-135m (the measurement, default) or gpt2-random (pipeline check)")
    a("--scale", default="tiny", help="gpt2-random's GPT-2 scale (default tiny)")
    a("--stage", nargs="+", choices=STAGES, default=list(STAGES),
      help="ttt: train the layer and its frontier; full: the full-weight mode (default both)")
    a("--data", nargs="+", choices=EVAL_DATA, default=list(EVAL_DATA),
      help="evaluation data sets (default all three)")
    a("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds (default 0 1 2)")
    a("--chunk_size", type=_positive, default=128, help="tokens a chunk (default 128)")
    a("--train_chunks", type=_positive, default=256, help="slow-weight training chunks (256)")
    a("--val_chunks", type=_positive, default=32, help="validation chunks (32)")
    a("--policy_chunks", type=_positive, default=32,
      help="stdlib-train chunks the gate warms up on and PPO trains on (32)")
    a("--eval_chunks", type=_positive, default=16, help="TTT-mode chunks per data set and seed (16)")
    a("--max_steps", type=_positive, default=600, help="slow-weight steps at most (600)")
    a("--eval_every", type=_positive, default=50, help="steps between validations (50)")
    a("--patience", type=_positive, default=3, help="validations without gain before stopping (3)")
    a("--outer_lr", type=float, default=1e-3, help="Adam's rate for the slow weights (1e-3)")
    a("--budgets", type=_budget, nargs="+", default=[1.5, 2.0, 2.5],
      help="TTT-mode budgets, units a chunk, for the gate, PPO and the oracle (1.5 2 2.5)")
    a("--full_budgets", type=_budget, nargs="+", default=[1.5, 2.0],
      help="full-mode budgets for the gate and PPO (1.5 2)")
    a("--gate_action", choices=ACTION_NAMES[1:], default="UPDATE_1",
      help="what the gate does when it fires (UPDATE_1)")
    a("--ppo_iterations", type=_positive, default=50, help="PPO iterations (50)")
    a("--full_chunks", type=_positive, default=6, help="full-mode chunks per data set and seed (6)")
    a("--full_policy_data", nargs="+", choices=EVAL_DATA, default=None,
      help="data sets the full mode's gate and PPO run on (default: every --data)")
    a("--full_policy_chunks", type=_positive, default=8,
      help="rows of the full mode's PPO surrogate table (8)")
    a("--out_dir", default=DEFAULT_OUT, help=f"where the three records files go ({DEFAULT_OUT})")
    a("--cache_dir", default=None, help="hidden states, layers, model (default local/ponder_cache)")
    a("--threads", type=_positive, default=1, help="torch CPU threads (1)")
    a("--summary", action="store_true", help="print the records' summary table and exit")
    return p


def point_key(c: dict) -> str:
    return (f"ponder32|{c['backbone']}|{c['update']}|{c['data']}|seed{c['seed']}|{c['action']}|"
            f"{c['setting']}|c{c['chunk_size']}|n{c['n_chunks']}")


def check_contract(rec: dict) -> dict:
    """The fields outside checks read (issue 32's contract); ValueError when one is off."""
    c, m = rec["config"], rec["metrics"]
    for k in ("backbone", "update", "data", "seed", "action"):
        if k not in c:
            raise ValueError(f"config.{k} missing")
    if c["update"] not in STAGES or c["action"] not in CONTRACT_ACTIONS:
        raise ValueError(f"config.update {c['update']!r} / config.action {c['action']!r}")
    if rec["status"] == "ok" and not (isinstance(m.get("loss"), (int, float)) and math.isfinite(m["loss"])):
        raise ValueError("metrics.loss must be a finite number")
    return rec


def done_keys(path: Path) -> set:
    from rtrl_moe.records import read_records
    if not path.exists():
        return set()
    return {r.get("point_key") for r in read_records(path) if r["status"] == "ok"}


def write(path: Path, cfg: dict, metrics: dict, status: str = "ok", message=None) -> dict:
    from rtrl_moe.records import append_record, make_record

    from ..versions import units_of_config
    rec = make_record(config=cfg, status=status, metrics=metrics, message=message,
                      point_key=point_key(cfg), units=units_of_config(cfg))
    check_contract(rec)
    append_record(path, rec)
    return rec


def recovery(bare: float, loss: float, oracle: float, eps: float = 1e-9) -> float:
    """The one recovery of issue 32: (bare - loss) / (bare - oracle); 0 without headroom."""
    head = bare - oracle
    return 0.0 if not head > eps else (bare - loss) / head


# -- TTT mode -----------------------------------------------------------------------------------

def _flops(bb, layer, ids, h) -> dict:
    """torch-counted FLOPs of one chunk per action: backbone forward + layer + LM head."""
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


def _table(layer, bb, ids, h, name):
    import torch

    from ..oracle import OutcomeTable
    from ..ttt_minibatch import chunk_loss, outcome_rows
    t = time.perf_counter()
    L, R, S = outcome_rows(layer, bb.head, h, ids)
    with torch.no_grad():
        bare = [float(chunk_loss(bb.head, h[i:i + 1], torch.zeros_like(h[i:i + 1]), ids[i:i + 1]))
                for i in range(h.shape[0])]
    secs = {"ttt": S[:, 0].tolist(), "head": S[:, 1].tolist(), "wall": time.perf_counter() - t}
    return OutcomeTable(L, R, ids.shape[1], secs, {"data": name, "bare": bare})


def _ttt_seed(a, bb, seed, base, out, log) -> int:
    import numpy as np
    import torch

    from ..actions import Action
    from ..gate import InnerLossGate
    from ..hidden_cache import hidden_states
    from ..oracle import ACTIONS, COSTS, budget_oracle, hindsight_oracle
    from ..policy import PolicyTrainer, PPOConfig
    from ..slow_training import SlowTrainConfig, mean_loss, train_early_stopping
    from ..ttt_minibatch import MiniBatchTTT, MiniBatchTTTConfig, chunk_loss
    ntr, nval, npol = a.train_chunks, a.val_chunks, a.policy_chunks
    ids_all, h_all, _ = hidden_states(bb, "stdlib-train", ntr + nval + npol, a.chunk_size, a.cache_dir, log)
    tr, va, po = slice(0, ntr), slice(ntr, ntr + nval), slice(ntr + nval, ntr + nval + npol)
    torch.manual_seed(seed)
    lcfg = MiniBatchTTTConfig(bb.d_model, bb.n_heads)
    layer = MiniBatchTTT(lcfg)
    scfg = SlowTrainConfig(a.max_steps, a.eval_every, a.patience, a.outer_lr, seed=seed)
    tag = bb.name + (f"-{bb.info['scale']}" if "scale" in bb.info else "")
    ckpt = Path(a.cache_dir) / "ttt_layers32" / f"{tag}_c{a.chunk_size}_tr{ntr}_va{nval}_seed{seed}.pt"
    hist = train_early_stopping(layer, bb.head, h_all[tr], ids_all[tr], h_all[va], ids_all[va],
                                scfg, ckpt, log)
    layer.eval()
    common = {**base, "update": "ttt", "seed": seed, "layer": lcfg.to_dict(),
              "slow_training": scfg.to_dict(), "train_chunks": ntr, "val_chunks": nval,
              "policy_chunks": npol}
    # train / validation losses of the kept layer (first 32 train chunks: the whole set is long)
    ntr_eval = min(32, ntr)
    fpath = Path(a.out_dir) / FILES["training"]
    done = done_keys(fpath)
    for split, sl in (("stdlib-train", slice(0, ntr_eval)), ("stdlib-val", va)):
        losses = mean_loss(layer, bb.head, h_all[sl], ids_all[sl], steps=(0, 1, 2, 4))
        with torch.no_grad():
            bare = float(np.mean([float(chunk_loss(
                bb.head, h_all[sl][i:i + 1], torch.zeros_like(h_all[sl][i:i + 1]), ids_all[sl][i:i + 1]))
                for i in range(h_all[sl].shape[0])]))
        n = h_all[sl].shape[0]
        for act, loss in [("bare", bare)] + [(nm, losses[k]) for nm, k in zip(ACTION_NAMES, (0, 1, 2, 4))]:
            cfg = {**common, "data": split, "action": act, "setting": act, "method": "fixed",
                   "chunk_size": a.chunk_size, "n_chunks": n}
            if point_key(cfg) in done:
                continue
            write(fpath, cfg, {"loss": loss, "loss_bare": bare, "best_step": hist["best_step"],
                               "best_val": hist["best_val"], "steps_run": hist["steps_run"],
                               "stopped_early": hist["stopped_early"], "val_history": hist["val"],
                               "train_loss_history": [x[1] for x in hist["train"]],
                               "train_seconds": hist["seconds"]})
        log(f"  ttt seed {seed} {split}: bare {bare:.4f} " +
            " ".join(f"{nm}={losses[k]:.4f}" for nm, k in zip(ACTION_NAMES, (0, 1, 2, 4))))
    # outcome tables
    pol = _table(layer, bb, ids_all[po], h_all[po], "stdlib-train")
    flops = _flops(bb, layer, ids_all[:1], h_all[:1])
    with torch.no_grad():   # the backbone's time per chunk, for the time ratios
        t = time.perf_counter()
        for i in range(2):
            bb.hidden(ids_all[i:i + 1])
        bb_s = (time.perf_counter() - t) / 2
    path = Path(a.out_dir) / FILES["ttt"]
    done = done_keys(path)
    failed = 0
    gate_cost = UNITS[a.gate_action]
    for d in a.data:
        n = (seed + 1) * a.eval_chunks
        ids, h, _ = hidden_states(bb, d, n, a.chunk_size, a.cache_dir, log)
        sl = slice(seed * a.eval_chunks, n)
        held = _table(layer, bb, ids[sl], h[sl], d)
        bare_chunks = held.meta["bare"]
        bare = float(np.mean(bare_chunks))
        secs = np.array(held.seconds["ttt"]) + np.array(held.seconds["head"])
        per_chunk_s = {nm: bb_s + secs[i] / held.n for i, nm in enumerate(ACTION_NAMES)}
        pts = [("bare", "bare", None), *[(nm, nm, UNITS[nm]) for nm in ACTION_NAMES],
               ("oracle", "unconstrained", None)]
        pts += [("oracle", f"budget={b:g}", b) for b in a.budgets]
        pts += [("gate", f"budget={b:g}", b) for b in a.budgets if b <= gate_cost]
        pts += [("ppo", f"budget={b:g}", b) for b in a.budgets]
        for act, setting, B in pts:
            cfg = {**common, "data": d, "action": act, "setting": setting, "budget": B,
                   "method": act if act in ("bare", "oracle", "gate", "ppo") else "fixed",
                   "chunk_size": a.chunk_size, "n_chunks": held.n,
                   "gate_action": a.gate_action if act == "gate" else None,
                   "ppo_iterations": a.ppo_iterations if act == "ppo" else None}
            if point_key(cfg) in done:
                continue
            try:
                extra = {}
                if act == "bare":
                    acts = None
                elif act in ACTION_NAMES:
                    acts = np.full(held.n, ACTION_NAMES.index(act))
                elif act == "oracle":
                    acts = (hindsight_oracle(held.losses) if B is None else
                            budget_oracle(held.losses, int(math.floor(B * held.n + 1e-6))))
                elif act == "gate":
                    g = InnerLossGate((B - 1) / (gate_cost - 1), Action(a.gate_action))
                    g.run(pol.inner_before)          # warm-up on the policy chunks
                    acts = np.array([ACTIONS.index(x) for x in g.run(held.inner_before)])
                    extra.update(target_rate=g.target_rate, gate_final=g.state())
                else:
                    trn = PolicyTrainer(pol, B, PPOConfig(), seed=seed)
                    t0 = time.perf_counter()
                    ph = trn.train(a.ppo_iterations)
                    acts = np.asarray(trn.act(held, seed=seed))
                    free = np.asarray(trn.act(held, seed=seed, keep_budget=False))
                    extra.update(ppo_seconds=time.perf_counter() - t0,
                                 unguarded_avg_cost=float(COSTS[free].mean()),
                                 ppo_history=[{k: x[k] for k in ("iteration", "reward_vs_skip", "cost", "lambda")}
                                              for x in ph])
                if acts is None:
                    cl, cost, fl, ts = bare_chunks, 1.0, 1.0, 1.0
                    counts = {}
                else:
                    acts = np.asarray(acts, dtype=np.int64)
                    cl = held.losses[np.arange(held.n), acts].tolist()
                    cost = float(COSTS[acts].mean())
                    fl = float(np.mean([flops[ACTION_NAMES[i]] for i in acts]) / flops["SKIP"])
                    ts = float(np.mean([per_chunk_s[ACTION_NAMES[i]] for i in acts]) / per_chunk_s["SKIP"])
                    counts = {nm: int((acts == i).sum()) for i, nm in enumerate(ACTION_NAMES)}
                loss = float(np.mean(cl))
                ob = UNITS.get(act, B)
                o_loss = (float(held.losses[np.arange(held.n), budget_oracle(
                    held.losses, int(math.floor(ob * held.n + 1e-6)))].mean()) if ob else None)
                m = {"loss": loss, "loss_bare": bare, "loss_skip": held.fixed("SKIP")[0],
                     "avg_cost": cost, "flops_ratio": fl, "time_ratio": ts,
                     "time_ratio_kind": "backbone forward (timed here) + the action's layer and head",
                     "budget": ob, "oracle_loss_at_budget": o_loss,
                     "recovery": None if (ob is None or act in ("bare", "oracle")) else recovery(bare, loss, o_loss),
                     "n_chunks": held.n, "chunk_losses": cl, "action_counts": counts,
                     "chunk_actions": [] if acts is None else [ACTION_NAMES[i] for i in acts],
                     "fixed_losses": {nm: held.fixed(nm)[0] for nm in ACTION_NAMES},
                     "flops_per_chunk": flops, "recon_before": held.inner_before.tolist(),
                     "skip_equals_bare": bool(np.array_equal(held.losses[:, 0], np.asarray(bare_chunks))),
                     **extra}
                write(path, cfg, m)
                rv = m["recovery"]
                log(f"  ttt {d} seed {seed} {act} {setting}: loss={loss:.4f} (bare {bare:.4f}) "
                    f"cost={cost:.2f}" + ("" if rv is None else f" rec={rv:.2f}"))
            except Exception as e:   # noqa: BLE001 - one failing point never loses the others
                write(path, cfg, {}, "error", f"{type(e).__name__}: {e}")
                log(f"  ttt {d} seed {seed} {act} {setting}: ERROR {type(e).__name__}: {e}")
                failed += 1
    return failed


# -- full-weight mode ---------------------------------------------------------------------------

def _full_seed(a, bb, seed, base, out, log, shared) -> int:
    import numpy as np

    from ..actions import Action
    from ..corpora import token_chunks
    from ..dynamic_eval import ACTIONS as DE_ACTIONS
    from ..dynamic_eval import LR, chunk_flops, run_interleaved
    from ..full_policies import gate_chooser, ppo_chooser, run_policy_stream, surrogate_table
    from ..gate import InnerLossGate
    from ..oracle import ACTIONS, COSTS
    from ..policy import PolicyTrainer, PPOConfig
    path = Path(a.out_dir) / FILES["full"]
    done = done_keys(path)
    common = {**base, "update": "full", "seed": seed, "lr": LR, "optimizer": "Adam",
              "carried": True, "scored": "before the chunk's own update"}
    gate_cost = UNITS[a.gate_action]
    failed = 0
    if "flops" not in shared:
        ids0 = token_chunks("stdlib-train", bb.tokenize, 1, a.chunk_size, bb.vocab_size)
        shared["flops"] = {n: chunk_flops(bb.lm, ids0, k) for n, k in DE_ACTIONS.items()}
    flops = shared["flops"]
    for d in a.data:
        def cfg_of(act, setting, B):
            return {**common, "data": d, "action": act, "setting": setting, "budget": B,
                    "method": act if act in ("bare", "gate", "ppo") else "fixed",
                    "chunk_size": a.chunk_size, "n_chunks": a.full_chunks,
                    "gate_action": a.gate_action if act == "gate" else None,
                    "ppo_iterations": a.ppo_iterations if act == "ppo" else None}
        fixed = [("bare", "bare", None)] + [(n, n, UNITS[n]) for n in ACTION_NAMES]
        pols = ([("gate", f"budget={b:g}", b) for b in a.full_budgets if b <= gate_cost]
                + [("ppo", f"budget={b:g}", b) for b in a.full_budgets])
        if a.full_policy_data is not None and d not in a.full_policy_data:
            pols = []
        todo = [p for p in fixed + pols if point_key(cfg_of(*p)) not in done]
        if not todo:
            log(f"full {d} seed {seed}: done")
            continue
        n = (seed + 1) * a.full_chunks
        ids = token_chunks(d, bb.tokenize, n, a.chunk_size, bb.vocab_size)[seed * a.full_chunks:n]
        res = None
        if any(p in todo for p in fixed):
            t0 = time.perf_counter()
            res = run_interleaved(bb.lm, ids, log=log)
            wall = time.perf_counter() - t0
        skip_loss = None if res is None else float(np.mean(res["SKIP"]["chunk_losses"]))
        for p in todo:
            act, setting, B = p
            cfg = cfg_of(*p)
            try:
                if p in fixed:
                    r = res["SKIP" if act == "bare" else act]
                    name = "SKIP" if act == "bare" else act
                    m = {"loss": float(np.mean(r["chunk_losses"])), "loss_bare": skip_loss,
                         "avg_cost": float(UNITS[name]), "flops_ratio": flops[name] / flops["SKIP"],
                         "flops_per_chunk": flops[name],
                         "time_ratio": sum(r["chunk_seconds"]) / sum(res["SKIP"]["chunk_seconds"]),
                         "time_ratio_kind": "interleaved: the four actions alternate chunk by chunk in one process",
                         "chunk_losses": r["chunk_losses"], "chunk_seconds": r["chunk_seconds"],
                         "step_losses": r["step_losses"], "interleaved_wall_s": wall,
                         "n_chunks": len(r["chunk_losses"]), "recovery": None,
                         "chunk_actions": [name] * len(r["chunk_losses"]),
                         "note": "bare: in this mode there is no layer; bare is the unchanged backbone (the SKIP stream)"
                         if act == "bare" else None}
                else:
                    if "table" not in shared:
                        pc = token_chunks("stdlib-train", bb.tokenize,
                                          a.full_policy_chunks + 1 + a.train_chunks, a.chunk_size,
                                          bb.vocab_size)[a.train_chunks:]
                        shared["table"] = surrogate_table(bb.lm, pc, log=log)
                    tab = shared["table"]
                    extra = {}
                    if act == "gate":
                        g = InnerLossGate((B - 1) / (gate_cost - 1), Action(a.gate_action))
                        g.run(tab.inner_before)
                        fac = gate_chooser(g)
                        extra["target_rate"] = g.target_rate
                    else:
                        trn = PolicyTrainer(tab, B, PPOConfig(), seed=seed)
                        trn.train(a.ppo_iterations)
                        fac = ppo_chooser(trn, seed)
                        extra["surrogate_table"] = tab.to_dict()
                    t0 = time.perf_counter()
                    r = run_policy_stream(bb.lm, ids, fac)
                    acts = np.asarray(r["chunk_actions"])
                    m = {"loss": float(np.mean(r["chunk_losses"])), "loss_bare": skip_loss,
                         "avg_cost": float(COSTS[acts].mean()),
                         "flops_ratio": float(np.mean([flops[ACTIONS[i].value] for i in acts]) / flops["SKIP"]),
                         "chunk_losses": r["chunk_losses"], "chunk_seconds": r["chunk_seconds"],
                         "chunk_actions": [ACTIONS[i].value for i in acts],
                         "action_counts": {x.value: int((acts == i).sum()) for i, x in enumerate(ACTIONS)},
                         "n_chunks": len(acts), "recovery": None, "stream_wall_s": time.perf_counter() - t0,
                         **extra}
                    if skip_loss is None:
                        m["loss_bare"] = None
                write(path, cfg, m)
                log(f"  full {d} seed {seed} {act} {setting}: loss={m['loss']:.4f} "
                    f"cost={m['avg_cost']:.2f} flops x{m['flops_ratio']:.2f}")
            except Exception as e:   # noqa: BLE001 - one failing point never loses the others
                write(path, cfg, {}, "error", f"{type(e).__name__}: {e}")
                log(f"  full {d} seed {seed} {act} {setting}: ERROR {type(e).__name__}: {e}")
                failed += 1
    return failed


# -- summary ------------------------------------------------------------------------------------

def summarize(out_dir: Path) -> list:
    import statistics as st

    from rtrl_moe.records import read_records
    groups: dict = {}
    for f in FILES.values():
        p = out_dir / f
        if not p.exists():
            continue
        for r in read_records(p):
            if r["status"] == "ok":
                c = r["config"]
                groups.setdefault((c["update"], c["data"], c["action"], c["setting"]), []).append(r["metrics"])
    rows = []
    for key, ms in sorted(groups.items()):
        def agg(k):
            xs = [m.get(k) for m in ms if isinstance(m.get(k), (int, float))]
            return (st.mean(xs), st.stdev(xs) if len(xs) > 1 else 0.0) if xs else (None, None)
        rows.append({"key": key, "seeds": len(ms), "loss": agg("loss"), "avg_cost": agg("avg_cost"),
                     "flops_ratio": agg("flops_ratio"), "recovery": agg("recovery")})
    return rows


def print_summary(out_dir: Path) -> None:
    f = lambda p, nd=4: "n/a" if p[0] is None else f"{p[0]:.{nd}f} ± {p[1]:.{nd}f}"  # noqa: E731
    print("| update | data | action | setting | seeds | loss | cost (units) | FLOPs x | recovery |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in summarize(out_dir):
        print("| " + " | ".join(str(x) for x in r["key"]) + f" | {r['seeds']} | {f(r['loss'])} | "
              f"{f(r['avg_cost'], 2)} | {f(r['flops_ratio'], 2)} | {f(r['recovery'], 2)} |")


def main(argv=None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    out = Path(a.out_dir)
    if out.exists() and not out.is_dir():
        parser.error(f"--out_dir {out} is not a directory")
    try:
        if a.summary:
            print_summary(out)
            return 0
    except Exception as e:   # noqa: BLE001 - a bad records file: one line, not a traceback
        print(f"{parser.prog}: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    try:
        import torch
        import transformers

        from ..backbone import DEFAULT_CACHE, load_backbone
        torch.set_num_threads(a.threads)
        a.cache_dir = a.cache_dir or str(DEFAULT_CACHE)
        out.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        bb = load_backbone(a.backbone, cache_dir=a.cache_dir, scale=a.scale, seed=0)
    except Exception as e:   # noqa: BLE001 - outside the command's control: one line, exit 1
        print(f"{parser.prog}: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    log = lambda s: print(s, flush=True)  # noqa: E731
    from ..results import load_avg
    load = load_avg()
    base = {"kind": "ponder", "label": "issue32", "backbone": a.backbone, "model_scale": bb.name,
            "role": "measurement" if a.backbone == "smollm2-135m" else "pipeline-check",
            "backbone_info": bb.info, "backbone_params": bb.n_params(),
            "cost_units": UNITS, "threads": a.threads, "device": "cpu", "dtype": "float32",
            "transformers": transformers.__version__, "load_s": time.perf_counter() - t0,
            "load_avg_1m_start": load}
    failed, shared = 0, {}
    for seed in a.seeds:
        for stage, fn in (("ttt", _ttt_seed), ("full", None)):
            if stage not in a.stage or fn is None:
                continue
            try:
                failed += fn(a, bb, seed, base, out, log)
            except Exception as e:   # noqa: BLE001 - the next seed still runs
                print(f"ttt seed {seed}: {type(e).__name__}: {e}", file=sys.stderr)
                failed += 1
    if "full" in a.stage:
        for seed in a.seeds:
            try:
                failed += _full_seed(a, bb, seed, base, out, log, shared)
            except Exception as e:   # noqa: BLE001
                print(f"full seed {seed}: {type(e).__name__}: {e}", file=sys.stderr)
                failed += 1
    print_summary(out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
