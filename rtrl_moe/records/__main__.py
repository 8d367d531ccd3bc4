"""``python -m rtrl_moe.records stale [PATH ...] [--json]``: the stale records of each file.

Text: per file, one line per stale record (``file:line``, its label or point, and each unit
whose behaviour version changed, ``learner.sparse-rtrl 1 -> 2``), then the records whose
staleness cannot be told (no versions, no code fingerprint). ``--json``: ``{file:
number_stale}`` (a contract: checks outside this repository read it; records whose staleness
cannot be told are not counted as stale). Exit 0 whatever is stale; bad input (no such path, a
line that is not a record) is one line on stderr and exit 2.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from .schema import ResultsError
from .store import iter_records, result_files
from .versions import staleness

DEFAULT_PATHS = ("results",)


class _Parser(argparse.ArgumentParser):
    def error(self, message):          # one line, exit 2 (argparse prints the usage too)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m rtrl_moe.records",
                description="Results records: which are stale (their behaviour versions changed).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    s = sub.add_parser("stale", help="list the stale records of each results file")
    s.add_argument("paths", nargs="*", metavar="PATH",
                   help="results files or folders (*.jsonl, recursively); default: results/")
    s.add_argument("--json", action="store_true", help="print {file: number_stale}")
    return p


def _what(rec: dict) -> str:
    cfg = rec.get("config", {})
    name = cfg.get("label") or cfg.get("protocol") or rec.get("point_key") or ""
    bits = [str(cfg[k]) for k in ("learner", "seq_len", "task") if cfg.get(k) is not None]
    return " ".join([name] + bits).strip()


def scan(paths) -> dict:
    """``{file: {"stale": [(line, record, why)], "unknown": [...]}}`` over ``paths``."""
    out: dict = {}
    for path in paths:
        for f in result_files(path):
            entry = out.setdefault(str(f), {"stale": [], "unknown": [], "records": 0})
            for line, rec in iter_records(f):
                entry["records"] += 1
                stale, why = staleness(rec)
                if stale is None:
                    entry["unknown"].append((line, rec, why))
                elif stale:
                    entry["stale"].append((line, rec, why))
    return out


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if argv is None and hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # `... | head` ends quietly
    paths = args.paths or [p for p in DEFAULT_PATHS if Path(p).exists()] or list(DEFAULT_PATHS)
    try:
        found = scan(paths)
    except ResultsError as e:
        print(f"records stale: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({f: len(e["stale"]) for f, e in found.items()}, sort_keys=True))
        return 0
    for f, e in found.items():
        print(f"{f}: {len(e['stale'])} stale, {len(e['unknown'])} unknown, "
              f"of {e['records']} records")
        for line, rec, why in e["stale"]:
            print(f"  {f}:{line} {_what(rec)}: {why}")
        for line, rec, why in e["unknown"]:
            print(f"  {f}:{line} {_what(rec)}: unknown ({why})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
