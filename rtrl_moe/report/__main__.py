"""Render the report: ``python -m rtrl_moe.report [--results results/] [--out reports/]``.

The same as ``python -m rtrl_moe.bench report`` (kept as an alias), without importing the bench:
the report reads only the records.
"""
from __future__ import annotations

import argparse

from . import build


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rtrl_moe.report", description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", default="results/", help="folder of *.jsonl records (default: results/)")
    ap.add_argument("--out", default="reports/", help="folder to write index.html, REPORT.md, figures/ "
                    "(default: reports/)")
    args = ap.parse_args(argv)
    build(args.results, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
