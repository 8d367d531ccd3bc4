"""`python -m rtrl_moe COMMAND ...`: a small dispatcher. The benchmark harness is separate:
`python -m rtrl_moe.bench`."""

from __future__ import annotations

import sys

HELP = """usage: python -m rtrl_moe COMMAND [ARGS]

commands:
  train    train a model on a task with one learner (python -m rtrl_moe train --help)

Other entry points: python -m rtrl_moe.bench (measurements), python -m rtrl_moe.report (the
report), python -m rtrl_moe.protocols (the documents' own experiments), python -m
rtrl_moe.longrange (long-range tasks); each has --help."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(HELP)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "train":
        from .train import main as train_main
        return train_main(rest)
    from . import argtypes
    return argtypes.usage_error(f"unknown command {command!r}; commands: train "
                                "(see python -m rtrl_moe --help)")


if __name__ == "__main__":
    from .argtypes import run_main
    sys.exit(run_main(main))
