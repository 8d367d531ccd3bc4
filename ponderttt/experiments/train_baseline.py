"""Run a fixed action on every chunk (or a cycle of actions) and report loss, cost, time, FLOPs.

    python -m ponderttt.experiments.train_baseline --model_scale 125m --action SKIP --num_chunks 10

Mirrors the PonderTTT quick start's command (same flags, torch instead of JAX). "train" is the
document's name: the backbone and the TTT layer's slow parameters are not trained here; only
the fast weights change, by the action's inner steps. Prints one line per chunk, the average
loss and the total nominal cost; writes ``<output_dir>/<scale>/<action>_<data>_seed<seed>.json``
(a cycle's actions joined by "+")
and appends one record to ``--record`` (JSON Lines, docs/RESULTS.md).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from ..actions import Action
from ..config import CONTEXT, SCALES

DEFAULT_OUTPUT = "local/ponder/baselines"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's code for bad usage)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {v}")
    return v


def _non_negative(text: str) -> int:
    v = int(text) if text.lstrip("-").isdigit() else None
    if v is None or v < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return v


def _actions(text: str) -> list:
    names = [x.strip().upper() for x in text.split(",")]
    valid = [a.value for a in Action]
    for n in names:
        if n not in valid:
            raise argparse.ArgumentTypeError(f"invalid choice: {n!r} (choose from "
                                             f"{', '.join(valid)}, or a comma-separated list)")
    return [Action(n) for n in names]


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m ponderttt.experiments.train_baseline",
                description="PonderTTT baseline: one fixed action on every chunk of a stream.")
    p.add_argument("--backbone", choices=["gpt2-random", "smollm2-135m"], default="gpt2-random",
                   help="gpt2-random: the seed's random-init GPT-2 at --model_scale with the TTT "
                        "layer (default); smollm2-135m: the pretrained SmolLM2-135M in the seed's "
                        "own mode (UPDATE_k = k Adam steps on all weights, carried; each chunk "
                        "scored before its update)")
    p.add_argument("--model_scale", choices=list(SCALES), default="125m",
                   help="GPT-2 shape: tiny (tests), 125m, 350m, 1b (default 125m)")
    p.add_argument("--action", type=_actions, default=[Action.SKIP],
                   help="per-chunk action: SKIP (no update) or UPDATE_k (k inner steps, then the "
                        "forward), k in 1, 2, 4; a comma-separated list is cycled over the chunks "
                        "(e.g. SKIP,UPDATE_1,UPDATE_2,UPDATE_4 times all four in one process); "
                        "default SKIP")
    p.add_argument("--num_chunks", type=_positive, default=10,
                   help="chunks to run (default 10)")
    p.add_argument("--chunk_size", type=_positive, default=512,
                   help=f"tokens per chunk, at most the context {CONTEXT} (default 512)")
    p.add_argument("--seq_len", type=_non_negative, default=CONTEXT,
                   help="tokens per sequence: fast weights reset at each sequence start; a "
                        f"multiple of --chunk_size, 0 = whole stream (default {CONTEXT})")
    p.add_argument("--use_real_data", action="store_true",
                   help="real code instead of random tokens: this Python's standard library, "
                        "byte-level (The Stack is gated and unreachable here)")
    p.add_argument("--split", choices=["heldout", "train"], default="heldout",
                   help="standard-library split for --use_real_data (default heldout)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the random init and of the synthetic tokens (default 0)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    p.add_argument("--weights", default=None,
                   help="local GPT-2 checkpoint: a save_pretrained directory or a state-dict "
                        "file (.safetensors/.pt/.bin); default random init")
    p.add_argument("--threads", type=_positive, default=1,
                   help="torch CPU threads (default 1, for steady timings)")
    p.add_argument("--warmup", type=_non_negative, default=1,
                   help="untimed passes over chunk 1 before the run; the first also counts "
                        "FLOPs with torch's counter (default 1; 0 = no profiler count)")
    p.add_argument("--output_dir", default=DEFAULT_OUTPUT,
                   help=f"results JSON goes to OUTPUT_DIR/<scale>/ (default {DEFAULT_OUTPUT})")
    p.add_argument("--record", default=None,
                   help="JSON Lines file to append the run's record to "
                        "(default OUTPUT_DIR/records.jsonl)")
    p.add_argument("--label", default=None,
                   help="free-text group label stored in the record's config (e.g. a preset)")
    return p


def _check(p: argparse.ArgumentParser, a: argparse.Namespace) -> None:
    """Cross-flag checks, before any model is built."""
    import torch
    if a.chunk_size > CONTEXT:
        p.error(f"--chunk_size {a.chunk_size} exceeds GPT-2's context {CONTEXT}")
    if a.seq_len and a.seq_len % a.chunk_size:
        p.error(f"--seq_len {a.seq_len} is not a multiple of --chunk_size {a.chunk_size}")
    try:
        dev = torch.device(a.device)
    except RuntimeError as e:
        p.error(f"--device {a.device!r}: {e}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        p.error(f"--device {a.device}: CUDA is not available on this machine")
    if a.weights and not Path(a.weights).exists():
        p.error(f"--weights {a.weights}: no such file or directory")
    if getattr(a, "backbone", "gpt2-random") == "smollm2-135m":   # frontier/train_policy share _check
        if a.weights:
            p.error("--weights is for gpt2-random; smollm2-135m loads its own checkpoint")
        if dev.type != "cpu":
            p.error("--backbone smollm2-135m runs on --device cpu here")


def main(argv=None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    _check(parser, a)
    if a.backbone == "smollm2-135m":
        from ._baseline_backbone import run
        return run(a)

    import psutil
    import torch
    from tqdm import tqdm

    from .. import build_model, make_tokens, profile_chunk, run_stream
    from .._harness import append_record, new_run_id
    from ..results import build_record, load_avg, max_rss, rss_now, stream_metrics

    torch.set_num_threads(a.threads)
    cycle = a.action
    acts = [cycle[i % len(cycle)] for i in range(a.num_chunks)]
    distinct = list(dict.fromkeys(cycle))
    name = ",".join(x.value for x in cycle)
    data = "stdlib" if a.use_real_data else "synthetic"
    run_id = new_run_id()
    out_dir = Path(a.output_dir)
    record_path = Path(a.record) if a.record else out_dir / "records.jsonl"
    config = {"backbone": "gpt2-random", "update": "ttt", "action": name, "actions_cycle": [x.value for x in cycle], "model_scale": a.model_scale, "data": data,
              "data_split": a.split if a.use_real_data else None,
              "tokenizer": "byte-level: GPT-2 single-byte ids 0..255" if a.use_real_data
              else "uniform random ids", "chunk_size": a.chunk_size, "num_chunks": a.num_chunks,
              "seq_len": a.seq_len, "seed": a.seed, "device": a.device, "dtype": "float32",
              "batch": 1, "threads": a.threads, "warmup": a.warmup, "weights": a.weights,
              "label": a.label}

    print("Loading GPT-2 model...", flush=True)
    t0 = time.perf_counter()
    model = build_model(a.model_scale, weights=a.weights, seed=a.seed).to(a.device)
    build_s = time.perf_counter() - t0
    import transformers
    config.update(model=model.scale.to_dict(), ttt=model.ttt.cfg.to_dict(),
                  attn_implementation=model.lm.config._attn_implementation,
                  transformers=transformers.__version__)

    n_tokens = a.num_chunks * a.chunk_size
    if a.use_real_data:
        print(f"Reading standard-library code ({a.num_chunks} chunks, {a.split} split)...",
              flush=True)
    else:
        print(f"Generating synthetic data ({a.num_chunks} chunks)...", flush=True)
    try:
        tokens = make_tokens(n_tokens, real=a.use_real_data, seed=a.seed, split=a.split)
    except ValueError as e:
        parser.error(str(e))

    # untimed: warm-up passes over chunk 1 (each action); the first one also counts FLOPs
    first = tokens[: a.chunk_size].unsqueeze(0).to(a.device)
    profiler_flops = {}
    for i in range(a.warmup):
        for act in distinct:
            f = profile_chunk(model, first, act)
            if i == 0:
                profiler_flops[act.value] = f
    rss_base = rss_now()
    load_start = load_avg()

    kind = "baseline" if cycle == [Action.SKIP] else "updates"
    print(f"Running {name} {kind}...", flush=True)
    bar = tqdm(total=a.num_chunks, unit="chunk", disable=not sys.stderr.isatty(), file=sys.stderr)

    def on_chunk(c, n):
        bar.update(1)
        tail = f"  inner={c.inner_loss_before:.4f}" if c.inner_losses else ""
        tqdm.write(f"Chunk {c.index + 1}/{n}: loss={c.loss:.3f}  ({c.seconds:.2f} s){tail}",
                   file=sys.stdout)

    try:
        res = run_stream(model, tokens, acts, chunk_size=a.chunk_size, seq_len=a.seq_len,
                         num_chunks=a.num_chunks, callback=on_chunk)
    except Exception as e:  # a failed run is a record too (status "error")
        bar.close()
        rec = build_record(run_id=run_id, config=config, metrics={}, status="error",
                           message=f"{type(e).__name__}: {e}")
        append_record(record_path, rec)
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    bar.close()
    load_end = load_avg()

    metrics = stream_metrics(res, model.scale, profiler_flops)
    peak = max_rss()
    metrics.update(
        rss_peak=max(0, peak - rss_base) if rss_base is not None else None,
        rss_baseline=rss_base, rss_maxrss=peak, rss_source="getrusage ru_maxrss - psutil rss",
        load_avg_1m=max(x for x in (load_start, load_end) if x is not None)
        if load_start is not None or load_end is not None else None,
        load_avg_1m_start=load_start, load_avg_1m_end=load_end, cpu_count=psutil.cpu_count(),
        threads=torch.get_num_threads(), n_params=sum(p.numel() for p in model.lm.parameters()),
        n_ttt_params=sum(p.numel() for p in model.ttt.parameters()), model_build_s=build_s)

    print(f"Average loss: {res.average_loss:.3f}")
    rule = sum(x.rule_cost for x in acts)
    if kind == "baseline":
        note = "(baseline)"
    elif len(distinct) == 1:
        note = f"({cycle[0].nominal_cost:g} per chunk; the 1+2k rule gives {rule:.1f})"
    else:
        note = f"(the 1+2k rule gives {rule:.1f})"
    print(f"Total cost: {res.total_cost:.1f} {note}")
    print(f"Time: {res.total_seconds:.1f} s over {a.num_chunks} chunks "
          f"({metrics['seconds_per_chunk_median']:.2f} s/chunk median, "
          f"{res.tokens_per_s:.0f} tokens/s, {a.threads} thread(s))")
    for act in distinct:
        ana = metrics["flops_analytic_breakdown"][act.value]["total"]
        prof = f", {profiler_flops[act.value]:.4g} profiler" if profiler_flops else ""
        sec = metrics["seconds_per_chunk_by_action"][act.value]
        print(f"{act.value}: {sec:.2f} s/chunk median, {ana:.4g} FLOPs/chunk analytic{prof}")

    wall = time.time() - psutil.Process().create_time()
    rec = build_record(run_id=run_id, config=config, metrics=metrics, wall_s=wall)
    out = out_dir / a.model_scale / f"{name.replace(',', '+')}_{data}_seed{a.seed}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rec, indent=1, allow_nan=False) + "\n")
    append_record(record_path, rec)
    print(f"Results: {out}")
    print(f"Record: {record_path}")
    return 0 if all(math.isfinite(x) for x in res.losses) else 1


if __name__ == "__main__":
    sys.exit(main())
