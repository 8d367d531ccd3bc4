"""`python -m rtrl_moe train`: train a model on a task with any learner, log, checkpoint, resume.

One training step = one fresh sequence of ``--seq-len`` tokens for each of ``--batch`` rows
(batch ``index=step`` of the task, so a resumed run sees exactly the data an uninterrupted one
would), its gradient from the learner, and one Adam step. With ``--every K`` the learner runs
truly online instead: an Adam step every K tokens inside each sequence (``learner.online``).

Bad flags and impossible configurations end with one ``error: ...`` line on stderr and exit
status 2; the library's own ValueErrors are turned into that line too.
"""

from __future__ import annotations

import argparse
import ast
import csv
import dataclasses
import json
import math
import os
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from . import argtypes
from .tasks import IGNORE, TASKS, make_task, task_options

try:  # a progress bar is a nicety: without tqdm the run still logs lines
    from tqdm import tqdm
except ImportError:  # pragma: no cover - depends on the environment
    tqdm = None

CHECKPOINT_FORMAT = 1
CSV_FIELDS = ("step", "update", "tokens", "loss", "accuracy", "n_targets", "eval_loss",
              "eval_accuracy", "state_bytes", "rss_peak_bytes", "cuda_max_allocated_bytes",
              "elapsed_s")


class UsageError(Exception):
    """A bad flag or an impossible configuration: reported as one line, exit status 2."""


# -- command line ---------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print usage too; we promise one line
        raise UsageError(message)


def _learner_names() -> tuple[str, ...]:
    import rtrl_moe as rm  # late: the package imports nothing from this module
    return rm.LEARNERS


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m rtrl_moe train", allow_abbrev=False,
                description="Train a recurrent MoE (or RNN) on a synthetic task with one learner.",
                epilog="Task definitions, accuracy and chance levels: the docstring of "
                       "rtrl_moe/tasks.py.")
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--learner", required=True, help=", ".join(_learner_names()))
    p.add_argument("--seq-len", type=argtypes.integer(1), required=True, help="tokens per sequence")
    p.add_argument("--steps", type=argtypes.integer(1), required=True,
                   help="training sequences (optimizer steps unless --every)")
    p.add_argument("--batch", type=argtypes.integer(1), default=8, help="rows per batch (8)")
    p.add_argument("--lr", type=argtypes.positive_float, default=2e-3, help="Adam learning rate (2e-3)")
    p.add_argument("--seed", type=argtypes.integer(0), default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--model", choices=("moe", "rnn"), default="moe")
    p.add_argument("--config", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help="model config fields, e.g. n_experts=8 topk=2 (MoEConfig / RNNConfig)")
    p.add_argument("--learner-arg", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help="learner keywords, e.g. k=64 (tbptt window) or n=16 (tree buffer)")
    p.add_argument("--task-arg", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help="task options, e.g. len_max_a=16, n_keys=8, lag=32")
    p.add_argument("--every", type=argtypes.integer(1), default=None, metavar="K",
                   help="truly online: an optimizer step every K tokens (streaming learners)")
    p.add_argument("--clip", type=argtypes.positive_float, default=None,
                   help="clip the gradient's global L2 norm to this value (off by default)")
    p.add_argument("--log-dir", type=Path, default=None,
                   help="where metrics.csv goes (default runs/TASK-LEARNER-T<seq-len>-s<seed>)")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="checkpoint file to write (default LOG_DIR/checkpoint.pt)")
    p.add_argument("--checkpoint-every", type=argtypes.integer(0), default=0, metavar="N",
                   help="also checkpoint every N steps (0: only at the end)")
    p.add_argument("--resume", type=Path, default=None, metavar="PATH",
                   help="continue from this checkpoint up to --steps in total")
    p.add_argument("--eval-every", type=argtypes.integer(0), default=0, metavar="N",
                   help="every N steps, evaluate on a fixed held-out batch (0: never)")
    p.add_argument("--print-every", type=argtypes.integer(0), default=None, metavar="N",
                   help="print a line every N steps (default: about 20 lines per run; 0: never)")
    return p


def parse_assignments(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag} expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _coerce(text: str, like, what: str):
    """Turn text into the type of the default value `like` (int, float, bool or str)."""
    try:
        if isinstance(like, bool):
            if text.lower() in ("1", "true", "yes"):
                return True
            if text.lower() in ("0", "false", "no"):
                return False
            raise ValueError
        if isinstance(like, int):
            return int(text)
        if isinstance(like, float):
            return float(text)
    except ValueError:
        raise UsageError(f"{what}={text}: expected {type(like).__name__}") from None
    return text


def _literal(text: str):
    """Learner keywords have no declared types: take Python literals, else the plain string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


# -- building the run ---------------------------------------------------------------------------

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


def _model_classes(kind: str):
    import rtrl_moe as rm
    return (rm.MoEConfig, rm.RecurrentMoE) if kind == "moe" else (rm.RNNConfig, rm.RecurrentRNN)


def _resolve_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda asked for, but no CUDA GPU is available")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def _build_task(args):
    defaults = task_options(args.task)
    raw = parse_assignments(args.task_arg, "--task-arg")
    unknown = sorted(set(raw) - set(defaults))
    if unknown:
        raise UsageError(f"unknown --task-arg {', '.join(unknown)} for task {args.task}; "
                         f"valid: {', '.join(defaults)}")
    kw = {k: _coerce(v, defaults[k], f"--task-arg {k}") for k, v in raw.items()}
    try:
        task = make_task(args.task, args.seq_len, args.batch, seed=args.seed, **kw)
    except ValueError as e:
        raise UsageError(str(e)) from None
    return task, kw


def _build_config(args, task):
    config_cls, _ = _model_classes(args.model)
    defaults = {f.name: f.default for f in dataclasses.fields(config_cls)}
    raw = parse_assignments(args.config, "--config")
    for key in ("d_in", "d_out"):
        if key in raw:
            raise UsageError(f"--config {key} is set by the task ({args.task}: "
                             f"{key}={getattr(task, key)}); leave it out")
    unknown = sorted(set(raw) - set(defaults))
    if unknown:
        valid = [k for k in defaults if k not in ("d_in", "d_out")]
        raise UsageError(f"unknown --config key {', '.join(unknown)} for --model {args.model}; "
                         f"valid: {', '.join(valid)}")
    overrides = {k: _coerce(v, defaults[k], f"--config {k}") for k, v in raw.items()}
    try:
        cfg = config_cls(d_in=task.d_in, d_out=task.d_out, **overrides)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if cfg.chunk != 1:
        # The tasks emit one token (and one target) per step; chunking would drop targets.
        raise UsageError(f"--config chunk={cfg.chunk}: the tasks feed one token per step, "
                         "so train supports chunk=1 only")
    return cfg


def _build_learner(args, model):
    import rtrl_moe as rm
    if args.learner not in rm.LEARNERS:
        raise UsageError(f"unknown learner {args.learner!r}; valid: {', '.join(rm.LEARNERS)}")
    kw = {k: _literal(v) for k, v in parse_assignments(args.learner_arg, "--learner-arg").items()}
    try:
        learner = rm.make_learner(args.learner, model, **kw)
    except (ValueError, TypeError) as e:
        raise UsageError(f"--learner {args.learner}: {e}") from None
    if args.every is not None and not getattr(learner, "streaming", False):
        raise UsageError(f"--every needs a streaming learner (rtrl*, tbptt); "
                         f"{args.learner} materialises the whole sequence")
    return learner, kw


def build_run(args) -> Run:
    if args.every is not None and args.clip is not None:
        raise UsageError("--clip applies to whole-sequence steps; it cannot be combined with "
                         "--every (learner.online steps the optimizer itself)")
    device = _resolve_device(args.device)
    dtype = getattr(torch, args.dtype)
    task, task_kw = _build_task(args)
    cfg = _build_config(args, task)
    _, model_cls = _model_classes(args.model)
    torch.manual_seed(args.seed)  # the initial weights depend on --seed only
    model = model_cls(cfg).to(device=device, dtype=dtype)
    learner, _ = _build_learner(args, model)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    log_dir = args.log_dir or Path("runs") / (
        f"{args.task}-{args.learner}-T{args.seq_len}-s{args.seed}")
    run = Run(args, device, dtype, task, task_kw, model, learner, optimizer, log_dir,
              args.checkpoint or log_dir / "checkpoint.pt")
    if args.resume is not None:
        run.start_step = load_checkpoint(run, args.resume)
    return run


# -- checkpoints ------------------------------------------------------------------------------

def save_checkpoint(run: Run, step: int) -> None:
    """Write model, optimizer, step and config; atomic, so a crash never leaves half a file."""
    cfg = run.model.cfg
    payload = {
        "format": CHECKPOINT_FORMAT, "step": step, "model_kind": run.args.model,
        "config": dataclasses.asdict(cfg), "task": run.args.task, "task_options": run.task_kw,
        "learner": run.args.learner, "seq_len": run.args.seq_len, "batch": run.args.batch,
        "seed": run.args.seed, "dtype": run.args.dtype, "lr": run.args.lr,
        "model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
    }
    run.checkpoint.parent.mkdir(parents=True, exist_ok=True)
    tmp = run.checkpoint.with_name(run.checkpoint.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, run.checkpoint)


def load_checkpoint(run: Run, path: Path) -> int:
    """Restore model and optimizer from `path`; returns the number of steps already done."""
    if not path.is_file():
        raise UsageError(f"--resume {path}: no such file")
    try:
        ckpt = torch.load(path, map_location=run.device, weights_only=True)
    except Exception as e:  # a truncated or foreign file: say which, not a traceback
        raise UsageError(f"--resume {path}: not a readable checkpoint ({e.__class__.__name__})") \
            from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise UsageError(f"--resume {path}: not a checkpoint of format {CHECKPOINT_FORMAT}")
    mine = {"model_kind": run.args.model, "config": dataclasses.asdict(run.model.cfg)}
    for key, value in mine.items():
        if ckpt[key] != value:
            raise UsageError(f"--resume {path}: checkpoint {key} {ckpt[key]} differs from the "
                             f"flags' {value}")
    run.model.load_state_dict(ckpt["model"])
    run.optimizer.load_state_dict(ckpt["optimizer"])
    for group in run.optimizer.param_groups:  # --lr on the command line wins over the saved one
        group["lr"] = run.args.lr
    return int(ckpt["step"])


# -- measuring ----------------------------------------------------------------------------------

def rss_peak_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def cuda_peak_bytes(device: torch.device) -> int | None:
    return torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None


@torch.no_grad()
def evaluate(model, task, device, dtype, index: int = -1) -> tuple[float, float]:
    """Mean loss and accuracy over targets of one held-out batch, forward only, O(1) memory."""
    h = model.init_state(task.batch_size)
    loss_sum, correct, n = 0.0, 0, 0
    for x_t, y_t in task.stream(index):
        logits, h, _ = model.step(x_t.to(device=device, dtype=dtype), h)
        y_t = y_t.to(device)
        mask = y_t != IGNORE
        if mask.any():
            loss_sum += float(F.cross_entropy(logits, y_t, ignore_index=IGNORE, reduction="sum"))
            correct += int((logits.argmax(-1) == y_t)[mask].sum())
            n += int(mask.sum())
    return (loss_sum / n, correct / n) if n else (math.nan, math.nan)


class MetricsLog:
    """metrics.csv (appended to on resume) and, when it imports, TensorBoard."""

    def __init__(self, log_dir: Path):
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / "metrics.csv"
        new = not path.exists() or path.stat().st_size == 0
        self._file = open(path, "a", newline="")
        self._csv = csv.DictWriter(self._file, fieldnames=CSV_FIELDS)
        if new:
            self._csv.writeheader()
        self._tb = None
        try:
            from torch.utils.tensorboard import SummaryWriter
            self._tb = SummaryWriter(str(log_dir))
        except Exception:  # tensorboard not installed: the CSV is the record
            pass

    def write(self, row: dict) -> None:
        self._csv.writerow({k: ("" if row.get(k) is None else row[k]) for k in CSV_FIELDS})
        self._file.flush()
        if self._tb is not None:
            x = row["tokens"]
            for key in ("loss", "accuracy", "eval_loss", "eval_accuracy", "state_bytes"):
                if row.get(key) is not None:
                    self._tb.add_scalar(key, row[key], x)

    def close(self) -> None:
        self._file.close()
        if self._tb is not None:
            self._tb.close()


class _NoBar:
    def __init__(self, **_):
        pass

    def update(self, n=1):
        pass

    def set_postfix(self, **_):
        pass

    def close(self):
        pass


# -- the loop -----------------------------------------------------------------------------------

def _sequence_updates(run: Run, step: int):
    """Train on sequence `step`; yield the learner's stats after each optimizer step."""
    learner, task = run.learner, run.task
    if run.args.every is not None:
        yield from learner.online(task.stream(index=step), run.optimizer, every=run.args.every)
        return
    if getattr(learner, "streaming", False):
        grads = learner.gradient(task.stream(index=step))   # never materialises the sequence
    else:
        grads = learner.gradient(*task.batch(index=step))
    for name, p in run.model.named_parameters():
        p.grad = grads[name].to(device=p.device, dtype=p.dtype)
    if run.args.clip is not None:
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.args.clip)
    run.optimizer.step()
    yield learner.stats


def _progress_line(row: dict, steps: int) -> str:
    line = (f"step {row['step']}/{steps} loss {row['loss']:.4f} acc {row['accuracy']:.3f} "
            f"state {row['state_bytes']} B rss_peak {row['rss_peak_bytes'] / 2**20:.1f} MiB")
    if row["cuda_max_allocated_bytes"] is not None:
        line += f" cuda_peak {row['cuda_max_allocated_bytes'] / 2**20:.1f} MiB"
    if row.get("eval_loss") is not None:
        line += f" eval_loss {row['eval_loss']:.4f} eval_acc {row['eval_accuracy']:.3f}"
    return line


def train(run: Run) -> int:
    args, steps = run.args, run.args.steps
    if run.start_step >= steps:
        print(f"nothing to do: the checkpoint is at step {run.start_step} >= --steps {steps}")
        return 0
    run.log_dir.mkdir(parents=True, exist_ok=True)
    (run.log_dir / "args.json").write_text(json.dumps(
        {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}, indent=1))
    log = MetricsLog(run.log_dir)
    print_every = args.print_every if args.print_every is not None else max(1, steps // 20)
    if run.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(run.device)
    if tqdm is not None:  # disable=None: no bar when stderr is not a terminal (CI, logs)
        bar = tqdm(total=steps, initial=run.start_step, desc=f"{args.task}/{args.learner}",
                   unit="seq", disable=None, dynamic_ncols=True)
        write = bar.write
    else:
        bar, write = _NoBar(), print
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
                row["eval_loss"], row["eval_accuracy"] = evaluate(run.model, run.task,
                                                                  run.device, run.dtype)
            log.write(row)
            bar.update(1)
            bar.set_postfix(loss=f"{row['loss']:.4f}", acc=f"{row['accuracy']:.3f}")
            if print_every and (done % print_every == 0 or done == steps):
                write(_progress_line(row, steps))
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


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        run = build_run(args)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return train(run)


if __name__ == "__main__":
    sys.exit(main())
