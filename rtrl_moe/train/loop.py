"""Building a training run from the flags (through ``rtrl_moe.build``) and running its loop."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import build
from .checkpoint import load_checkpoint, save_checkpoint
from .errors import UsageError
from .log import MetricsLog, NoBar, cuda_peak_bytes, progress_line, rss_peak_bytes

try:  # a progress bar is a nicety: without tqdm the run still logs lines
    from tqdm import tqdm
except ImportError:  # pragma: no cover - depends on the environment
    tqdm = None


@dataclass
class Run:
    """Everything a training loop needs, resolved from the flags."""
    args: argparse.Namespace
    device: torch.device
    dtype: torch.dtype
    task: object
    task_kw: dict
    model: torch.nn.Module
    learner: object
    optimizer: torch.optim.Optimizer
    log_dir: Path
    checkpoint: Path
    start_step: int = 0


def _resolve_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda asked for, but no CUDA GPU is available")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def _model_config(args, task):
    raw = build.parse_assignments(args.config, "--config")
    for key in ("d_in", "d_out"):
        if key in raw:
            raise UsageError(f"--config {key} is set by the task ({args.task}: "
                             f"{key}={getattr(task, key)}); leave it out")
    cfg = build.model_config(args.model, raw, task)
    if cfg.chunk != 1:
        # The tasks emit one token (and one target) per step; chunking would drop targets.
        raise UsageError(f"--config chunk={cfg.chunk}: the tasks feed one token per step, "
                         "so train supports chunk=1 only")
    return cfg


def build_run(args) -> Run:
    if args.every is not None and args.clip is not None:
        raise UsageError("--clip applies to whole-sequence steps; it cannot be combined with "
                         "--every (learner.online steps the optimizer itself)")
    torch.set_num_threads(args.threads)
    device = _resolve_device(args.device)
    task_kw = build.parse_assignments(args.task_arg, "--task-arg")
    task = build.make_task(args.task, args.seq_len, args.batch, args.seed, task_kw)
    cfg = _model_config(args, task)
    model = build.make_model(args.model, cfg, args.seed, device, args.dtype)
    learner = build.make_learner(args.learner, model,
                                 build.parse_assignments(args.learner_arg, "--learner-arg"))
    if args.every is not None and not learner.streaming:
        raise UsageError(f"--every needs a streaming learner (rtrl*, tbptt); "
                         f"{args.learner} materialises the whole sequence")
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    log_dir = args.log_dir or Path("runs") / (
        f"{args.task}-{args.learner}-T{args.seq_len}-s{args.seed}")
    run = Run(args, device, build.torch_dtype(args.dtype), task, task_kw, model, learner,
              optimizer, log_dir, args.checkpoint or log_dir / "checkpoint.pt")
    if args.resume is not None:
        run.start_step = load_checkpoint(run, args.resume)
    _check_writable(run)
    return run


def _check_writable(run: Run) -> None:
    """Before the first step: a run whose log or checkpoint cannot be written would otherwise
    train to the end and then lose its result."""
    for what, folder in (("--log-dir", run.log_dir), ("--checkpoint", run.checkpoint.parent)):
        probe = folder / f".write-test-{os.getpid()}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise UsageError(f"{what} {folder}: cannot write there ({e.strerror or e})") \
                from None
    if run.checkpoint.is_dir():
        raise UsageError(f"--checkpoint {run.checkpoint}: is a directory")


def _sequence_updates(run: Run, step: int):
    """Train on sequence `step`; yield the learner's stats after each optimizer step."""
    learner, task = run.learner, run.task
    if run.args.every is not None:
        yield from learner.online(task.stream(index=step), run.optimizer, every=run.args.every)
        return
    if learner.streaming:
        grads = learner.gradient(task.stream(index=step))   # never materialises the sequence
    else:
        grads = learner.gradient(*task.batch(index=step))
    for name, p in run.model.named_parameters():
        p.grad = grads[name].to(device=p.device, dtype=p.dtype)
    if run.args.clip is not None:
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.args.clip)
    run.optimizer.step()
    yield learner.stats


def train(run: Run) -> int:
    args, steps = run.args, run.args.steps
    if run.start_step >= steps:
        print(f"nothing to do: the checkpoint is at step {run.start_step} >= --steps {steps}")
        return 0
    run.log_dir.mkdir(parents=True, exist_ok=True)
    (run.log_dir / "args.json").write_text(json.dumps(
        {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}, indent=1))
    log = MetricsLog(run.log_dir, keep_steps=run.start_step if args.resume else None)
    print_every = args.print_every if args.print_every is not None else max(1, steps // 20)
    if run.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(run.device)
    if tqdm is not None:  # disable=None: no bar when stderr is not a terminal (CI, logs)
        bar = tqdm(total=steps, initial=run.start_step, desc=f"{args.task}/{args.learner}",
                   unit="seq", disable=None, dynamic_ncols=True)
        write = bar.write
    else:
        bar, write = NoBar(), print
    write(f"task {args.task} (d_in {run.task.d_in}, d_out {run.task.d_out}, chance accuracy "
          f"{run.task.chance_accuracy:.3f}), model {args.model} {run.model.cfg}, "
          f"learner {args.learner}, device {run.device}, {args.dtype}")
    started = time.perf_counter()
    step = run.start_step
    try:
        for step in range(run.start_step, steps):
            # Rows are written one update late so the sequence's last row can carry the eval.
            row = None
            for update, stats in enumerate(_sequence_updates(run, step)):
                if row is not None:
                    log.write(row)
                tokens_done = min((update + 1) * (args.every or args.seq_len), args.seq_len)
                row = {"step": step + 1, "update": update + 1,
                       "tokens": step * args.seq_len + tokens_done,
                       "loss": stats.get("loss"), "accuracy": stats.get("accuracy"),
                       "n_targets": stats.get("n_targets"),
                       "state_bytes": run.learner.state_bytes(),
                       "rss_peak_bytes": rss_peak_bytes(),
                       "cuda_max_allocated_bytes": cuda_peak_bytes(run.device),
                       "elapsed_s": round(time.perf_counter() - started, 4)}
            done = step + 1
            if args.eval_every and (done % args.eval_every == 0 or done == steps):
                ev = build.evaluate(run.model, run.task, run.device, run.dtype)
                row["eval_loss"], row["eval_accuracy"] = ev["loss"], ev["accuracy"]
            log.write(row)
            bar.update(1)
            bar.set_postfix(loss=f"{row['loss']:.4f}", acc=f"{row['accuracy']:.3f}")
            if print_every and (done % print_every == 0 or done == steps):
                write(progress_line(row, steps))
            if args.checkpoint_every and done % args.checkpoint_every == 0 and done < steps:
                save_checkpoint(run, done)
    except KeyboardInterrupt:
        # Keep what finished: the checkpoint is at the last completed step, so --resume redoes
        # only the interrupted sequence.
        bar.close()
        save_checkpoint(run, step)
        log.close()
        print(f"interrupted; checkpoint at step {step} in {run.checkpoint}", file=sys.stderr)
        return 130
    bar.close()
    save_checkpoint(run, steps)
    log.close()
    write(f"done: {steps} steps, metrics in {run.log_dir / 'metrics.csv'}, "
          f"checkpoint {run.checkpoint}")
    return 0
