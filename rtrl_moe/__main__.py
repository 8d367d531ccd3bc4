"""`python -m rtrl_moe COMMAND ...`: a small dispatcher. The benchmark harness is separate:
`python -m rtrl_moe.bench`."""

from __future__ import annotations

import sys

HELP = """usage: python -m rtrl_moe COMMAND [ARGS]

commands:
  train    train a model on a task with one learner (python -m rtrl_moe train --help)

The benchmark harness has its own entry point: python -m rtrl_moe.bench --help"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(HELP)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "train":
        from .train import main as train_main
        return train_main(rest)
    print(f"error: unknown command {command!r}; commands: train "
          "(see python -m rtrl_moe --help)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
