"""Train the adaptive per-chunk policy by PID-Lagrangian PPO (document 004's "Second Experiment").

    python -m ponderttt.experiments.train_policy --model_scale 125m --num_iterations 10 \\
        --output_dir outputs/policy [--budget 2.0] [--use_real_data] [--seed 0]

Steps: build the model (random init from --seed, or --weights); compute the outcome table of the
--num_chunks training chunks and the --eval_chunks held-out chunks (one backbone pass per chunk,
all four actions; ponderttt/oracle.py); run --num_iterations PPO iterations, each collecting
rollouts with the current policy over the training table (a lookup: chunks are independent,
each from fresh fast weights) and updating the policy and the PID-driven multiplier; then
evaluate the policy on the held-out chunks against SKIP and the budget oracle at the policy's
cost. Writes ``OUTPUT_DIR/<scale>/results.json`` (config, per-iteration history, evaluation;
JSON, where the document's JAX code wrote msgpack) and appends a record to
``OUTPUT_DIR/records.jsonl``. Plot with ``python scripts/visualize_results.py --results_file
OUTPUT_DIR/<scale>/results.json --output_dir figures``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..config import CONTEXT, SCALES
from .train_baseline import _check, _Parser, _positive

DEFAULT_OUTPUT = "local/ponder/policy"


def _budget(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 1.0 <= v <= 12.0:
        raise argparse.ArgumentTypeError(
            f"must be between 1 (all SKIP) and 12 (all UPDATE_4) units per chunk, got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m ponderttt.experiments.train_policy",
                description="PonderTTT adaptive policy: PID-Lagrangian PPO over per-chunk actions "
                            "under an average-cost budget.")
    p.add_argument("--model_scale", choices=list(SCALES), default="125m",
                   help="GPT-2 shape: tiny (tests), 125m, 350m, 1b (default 125m)")
    p.add_argument("--num_iterations", type=_positive, default=10,
                   help="PPO iterations (rollouts + update + multiplier step; default 10)")
    p.add_argument("--budget", type=_budget, default=2.0,
                   help="average nominal cost per chunk allowed (units: SKIP 1, UPDATE_1 3, "
                        "UPDATE_2 5, UPDATE_4 12; default 2.0)")
    p.add_argument("--num_chunks", type=_positive, default=32,
                   help="training chunks (default 32)")
    p.add_argument("--eval_chunks", type=_positive, default=16,
                   help="held-out chunks the trained policy is evaluated on (default 16)")
    p.add_argument("--chunk_size", type=_positive, default=512,
                   help=f"tokens per chunk, at most the context {CONTEXT} (default 512)")
    p.add_argument("--episode_len", type=_positive, default=16,
                   help="chunks per PPO episode (default 16)")
    p.add_argument("--episodes_per_iter", type=_positive, default=16,
                   help="episodes collected per iteration (default 16)")
    p.add_argument("--use_real_data", action="store_true",
                   help="stdlib code (train split for training, heldout for evaluation) "
                        "instead of random tokens")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the model init, the data, the policy and its sampling (default 0)")
    p.add_argument("--device", default="cpu", help="torch device for the model (default cpu)")
    p.add_argument("--weights", default=None, help="local GPT-2 checkpoint (default random init)")
    p.add_argument("--threads", type=_positive, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--output_dir", default=DEFAULT_OUTPUT,
                   help=f"results go to OUTPUT_DIR/<scale>/results.json (default {DEFAULT_OUTPUT})")
    p.add_argument("--label", default=None, help="free-text label stored in the record")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    a.seq_len = 0  # not a flag here: every chunk starts from fresh fast weights
    _check(parser, a)

    import torch

    from .. import build_model
    from .._harness import append_record, new_run_id
    from ..policy import PolicyTrainer, PPOConfig
    from ..results import build_record
    from ._common import data_tokens, evaluate, progress_table

    torch.set_num_threads(a.threads)
    t_start = time.perf_counter()
    data = "stdlib" if a.use_real_data else "synthetic"
    try:
        train_tok = data_tokens(a.num_chunks, a.chunk_size, real=a.use_real_data, seed=a.seed,
                                part="train")
        eval_tok = data_tokens(a.eval_chunks, a.chunk_size, real=a.use_real_data, seed=a.seed,
                               part="heldout")
    except ValueError as e:
        parser.error(str(e))
    print("Loading GPT-2 model...", flush=True)
    model = build_model(a.model_scale, weights=a.weights, seed=a.seed).to(a.device)
    print(f"Computing chunk outcomes ({a.num_chunks} training + {a.eval_chunks} held-out chunks, "
          f"{data}, all four actions)...", flush=True)
    train = progress_table(model, train_tok, a.chunk_size, "train chunks")
    held = progress_table(model, eval_tok, a.chunk_size, "held-out chunks")
    table_s = time.perf_counter() - t_start

    cfg = PPOConfig(episode_len=a.episode_len, episodes_per_iter=a.episodes_per_iter)
    trainer = PolicyTrainer(train, a.budget, cfg, seed=a.seed)
    print(f"Training policy: PID-Lagrangian PPO, budget {a.budget:g} units/chunk, "
          f"{a.num_iterations} iterations...", flush=True)

    def show(h):
        counts = " ".join(f"{k}={v}" for k, v in h["action_counts"].items())
        print(f"Iteration {h['iteration']}/{a.num_iterations}: reward={h['reward']:.4f} "
              f"(vs SKIP {h['reward_vs_skip']:+.4f}) cost={h['cost']:.3f} "
              f"lambda={h['lambda']:.3f}  {counts}", flush=True)
    t1 = time.perf_counter()
    history = trainer.train(a.num_iterations, show)
    train_s = time.perf_counter() - t1
    ev = evaluate(held, trainer.act(held, seed=a.seed))
    rec_txt = "n/a" if ev["recovery"] is None else f"{ev['recovery']:.3f}"
    print(f"Held-out: loss={ev['loss']:.4f} cost={ev['avg_cost']:.3f}/chunk; "
          f"SKIP {ev['loss_skip']:.4f}; oracle at this cost {ev['oracle_loss_at_cost']:.4f}; "
          f"recovery {rec_txt}")

    import transformers
    config = {"action": "PPO", "method": "ppo", "model_scale": a.model_scale, "data": data,
              "budget": a.budget, "num_iterations": a.num_iterations,
              "num_chunks": a.num_chunks, "eval_chunks": a.eval_chunks,
              "chunk_size": a.chunk_size, "seq_len": a.chunk_size, "seed": a.seed,
              "device": a.device, "dtype": "float32", "batch": 1, "threads": a.threads,
              "weights": a.weights, "label": a.label, "ppo": cfg.__dict__,
              "model": model.scale.to_dict(), "transformers": transformers.__version__}
    metrics = {"history": history, "eval": ev, "table_seconds": {"train": train.seconds,
               "heldout": held.seconds}, "time_tables_s": table_s, "time_train_s": train_s,
               "time_total_s": time.perf_counter() - t_start}
    rec = build_record(run_id=new_run_id(), config=config, metrics=metrics)
    out = Path(a.output_dir) / a.model_scale / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rec, indent=1, allow_nan=False) + "\n")
    append_record(Path(a.output_dir) / "records.jsonl", rec)
    print(f"Results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
