"""Checkpoints: written atomically, and checked against the flags before a resume."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch

from .errors import UsageError

CHECKPOINT_FORMAT = 1


def save_checkpoint(run, step: int) -> None:
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


def load_checkpoint(run, path: Path) -> int:
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
