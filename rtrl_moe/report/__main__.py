"""Render the report: ``python -m rtrl_moe.report [--results results/] [--out reports/]``.

The same as ``python -m rtrl_moe.bench report`` (kept as an alias), without importing the bench:
the report reads only the records. A results folder that is missing or unreadable, a bad
record, or an output folder that cannot be written is one ``error:`` line and exit status 1.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit 2
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(2)


def main(argv=None) -> int:
    ap = _Parser(prog="python -m rtrl_moe.report", description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", default="results/", metavar="DIR",
                    help="folder of *.jsonl records, read recursively (default: results/)")
    ap.add_argument("--out", default="reports/", metavar="DIR",
                    help="folder to write index.html, REPORT.md, figures/ (default: reports/)")
    args = ap.parse_args(argv)
    from rtrl_moe.records import ResultsError

    from .render import build
    results = Path(args.results)
    if not results.exists():
        return _fail(f"--results {results}: no such folder")
    if not results.is_dir():
        return _fail(f"--results {results}: is a file; give the folder that holds the *.jsonl "
                     "files")
    try:
        build(results, args.out)
    except ResultsError as e:
        return _fail(str(e))
    except OSError as e:
        return _fail(f"--out {args.out}: cannot write the report ({e.strerror or e})")
    return 0


def _fail(message: str) -> int:
    sys.stderr.write(f"error: {message}\n")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
