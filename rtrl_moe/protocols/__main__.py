"""python -m rtrl_moe.protocols run|list|point (see rtrl_moe/protocols/__init__.py).

Bad input is one ``error:`` line, exit 2 for what was typed and 1 for a failure outside the
command (rtrl_moe/argtypes.py states the convention); ``run`` writes under ``local/`` unless
``--out`` names another file, so the committed ``results/`` changes only on purpose.
"""
from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

from .. import argtypes

#: where ``run`` appends by default: git-ignored, like every command's default output
DEFAULT_OUT = "local/results/protocols.jsonl"


def build_parser() -> argtypes.Parser:
    from .models import ARCHS, default_arch
    from .registry import PIECES
    names = sorted(PIECES)
    ap = argtypes.Parser(prog="python -m rtrl_moe.protocols",
                         description="Re-run each documented experiment as its own script ran "
                                     "it (docs/PROTOCOLS.md), one fresh subprocess per point.")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="{run,list,point}")
    r = sub.add_parser("run", help="run the protocols preset (or --piece ...) into a results file",
                       description="Run every (piece, seed) point not already stored with the "
                                   "same code; a failing point is a record, never the end of "
                                   "the run.")
    r.add_argument("--piece", nargs="+", choices=names, default=None, metavar="NAME",
                   help="run only these pieces (default: the preset, `list` shows it); one of "
                        + ", ".join(names))
    r.add_argument("--seeds", type=argtypes.nonneg_int_csv, default=[0, 1, 2, 3, 4],
                   metavar="S1,S2,...", help="comma-separated seeds (default: 0,1,2,3,4)")
    r.add_argument("--out", default=DEFAULT_OUT, metavar="FILE.jsonl",
                   help=f"JSON Lines file to append to (default: {DEFAULT_OUT}, git-ignored; "
                        "results/protocols.jsonl is the committed one)")
    r.add_argument("--arch", choices=ARCHS, default=None,
                   help=f"the MoE the pieces build (default here: {default_arch()})")
    r.add_argument("--args", type=argtypes.json_object, default=None, metavar="JSON",
                   help="JSON object overriding the pieces' arguments, e.g. '{\"steps\": 10}'; "
                        "every key must be an argument of every piece run")
    r.add_argument("--timeout", type=argtypes.positive_float, default=None, metavar="S",
                   help="seconds per point (default: each piece's own, 1800 for most)")
    sub.add_parser("list", help="the preset's pieces, their scripts and what is reduced",
                   description="One line per piece of the preset: name, upstream script @ "
                               "commit, and what it runs smaller than the script, if anything.")
    pt = sub.add_parser("point", help="(internal) run one point in this process",
                        description="What `run` starts in a fresh subprocess for each point.")
    pt.add_argument("--piece", required=True, choices=names, metavar="NAME", help="the piece")
    pt.add_argument("--seed", type=argtypes.integer(0), required=True, help="the seed")
    pt.add_argument("--arch", choices=ARCHS, required=True, help="the MoE the piece builds")
    pt.add_argument("--args", type=argtypes.json_object, default={}, metavar="JSON",
                    help="the piece's arguments as a JSON object (default: {})")
    pt.add_argument("--result", required=True, metavar="FILE.json",
                    help="where the point's metrics are written")
    return ap


def _check_args(pieces, overrides: dict) -> str | None:
    """An override key that a piece does not take would fail every one of its points: say so
    before any work."""
    from .registry import piece
    for key in overrides:
        if key in ("seed", "arch"):
            return f"argument --args: {key!r} is set by --seeds / --arch"
        refuse = [n for n in pieces if key not in inspect.signature(piece(n).fn).parameters]
        if refuse:
            return (f"argument --args: key {key!r} is not an argument of piece(s) "
                    f"{', '.join(refuse)}; pick pieces with --piece")
    return None


def _point(a) -> int:
    """One point in this process; its failure is one line naming where it happened (the parent
    stores that line in the point's record)."""
    import torch
    torch.set_num_threads(1)
    from .registry import piece
    try:
        metrics = piece(a.piece).fn(a.seed, a.arch, **a.args)
    except Exception as e:  # the point's own failure: one line, the innermost frame named
        tb = e.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}" if tb else ""
        return argtypes.failure(f"piece {a.piece} seed {a.seed} failed{where}: "
                                f"{e.__class__.__name__}: {e}")
    Path(a.result).write_text(json.dumps(metrics))
    return 0


def main(argv=None) -> int:
    from .models import default_arch
    from .registry import PIECES, PRESET
    a = build_parser().parse_args(argv)

    if a.cmd == "list":
        for name in PRESET:
            p = PIECES[name]
            print(f"{name:26s} {p.script} @ {p.commit[:7]}"
                  + (f"  [reduced: {p.reduced}]" if p.reduced else ""))
        return 0
    if a.cmd == "point":
        return _point(a)
    from rtrl_moe.records import ResultsError, ensure_appendable

    from .runner import run
    pieces = a.piece or list(PRESET)
    bad = _check_args(pieces, a.args or {})
    if bad:
        return argtypes.usage_error(bad)
    try:
        ensure_appendable(a.out)
    except ResultsError as e:
        return argtypes.usage_error(f"argument --out: {e}")
    try:
        written = run(pieces, a.seeds, a.out, a.arch or default_arch(), a.args, a.timeout)
    except ResultsError as e:   # the file's contents (a malformed line), not what was typed
        return argtypes.failure(f"{e} (fix or move the file, or write to another --out)")
    bad = [w for w in written if w["status"] != "ok"]
    print(f"{len(written)} point(s) run, {len(bad)} not ok; records in {a.out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(argtypes.run_main(main))
