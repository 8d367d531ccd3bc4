"""The flags of ``python -m rtrl_moe train``; every bad one ends as one ``error:`` line, exit 2,
and a failure outside the run's control (a disk that fills) as one line, exit 1
(rtrl_moe/argtypes.py states the convention)."""
from __future__ import annotations

import argparse
from pathlib import Path

from .. import argtypes
from ..build import SpecError
from ..tasks import TASKS
from .errors import UsageError
from .loop import build_run, train

__all__ = ["UsageError", "build_parser", "main"]


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
    p.add_argument("--task", required=True, choices=TASKS,
                   help="the task (rtrl_moe/tasks.py says what each one is)")
    p.add_argument("--learner", required=True, help=", ".join(_learner_names()))
    p.add_argument("--seq-len", type=argtypes.integer(1), required=True, help="tokens per sequence")
    p.add_argument("--steps", type=argtypes.integer(1), required=True,
                   help="training sequences (optimizer steps unless --every)")
    p.add_argument("--batch", type=argtypes.integer(1), default=8, help="rows per batch (8)")
    p.add_argument("--lr", type=argtypes.positive_float, default=2e-3, help="Adam learning rate (2e-3)")
    p.add_argument("--seed", type=argtypes.integer(0), default=0,
                   help="seed of the weights and the data (default: 0)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto takes a CUDA GPU when there is one (default: auto)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="(default: float32)")
    p.add_argument("--model", choices=("moe", "rnn"), default="moe",
                   help="moe (RecurrentMoE) or rnn (RecurrentRNN) (default: moe)")
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
    p.add_argument("--threads", type=argtypes.integer(1), default=1,
                   help="torch intra-op threads (default: 1; the models are small, and on a "
                        "shared machine more threads contend: 2.2x slower steps seen under load)")
    p.add_argument("--print-every", type=argtypes.integer(0), default=None, metavar="N",
                   help="print a line every N steps (default: about 20 lines per run; 0: never)")
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        run = build_run(args)
    except SpecError as e:
        return argtypes.usage_error(str(e))
    try:
        return train(run)
    except OSError as e:   # the log or checkpoint could be written at the start, not now
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        return argtypes.failure(f"{argtypes.os_reason(e)}{where}; the last checkpoint "
                                f"({run.checkpoint}) holds what finished")
