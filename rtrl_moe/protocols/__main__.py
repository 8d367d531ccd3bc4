"""python -m rtrl_moe.protocols run|list|point (see rtrl_moe/protocols/__init__.py)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be integers separated by commas, got {text!r}")


def main(argv=None) -> int:
    from .models import ARCHS, default_arch
    from .registry import PIECES, PRESET
    ap = argparse.ArgumentParser(prog="python -m rtrl_moe.protocols")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the protocols preset (or --piece ...) into a results file")
    r.add_argument("--piece", nargs="+", choices=sorted(PIECES), default=None)
    r.add_argument("--seeds", type=_seeds, default=[0, 1, 2, 3, 4])
    r.add_argument("--out", default="results/protocols.jsonl")
    r.add_argument("--arch", choices=ARCHS, default=None,
                   help=f"the MoE the pieces build (default here: {default_arch()})")
    r.add_argument("--args", default=None, help="JSON object overriding the pieces' arguments")
    r.add_argument("--timeout", type=float, default=None, help="seconds per point")
    sub.add_parser("list", help="the preset's pieces, their scripts and what is reduced")
    pt = sub.add_parser("point", help="(internal) run one point in this process")
    pt.add_argument("--piece", required=True)
    pt.add_argument("--seed", type=int, required=True)
    pt.add_argument("--arch", choices=ARCHS, required=True)
    pt.add_argument("--args", default="{}")
    pt.add_argument("--result", required=True)
    a = ap.parse_args(argv)

    if a.cmd == "list":
        for name in PRESET:
            p = PIECES[name]
            print(f"{name:26s} {p.script} @ {p.commit[:7]}" + (f"  [reduced: {p.reduced}]" if p.reduced else ""))
        return 0
    if a.cmd == "point":
        import torch
        torch.set_num_threads(1)
        from .registry import piece
        metrics = piece(a.piece).fn(a.seed, a.arch, **json.loads(a.args))
        Path(a.result).write_text(json.dumps(metrics))
        return 0
    from .runner import run
    overrides = json.loads(a.args) if a.args else None
    written = run(a.piece or PRESET, a.seeds, a.out, a.arch or default_arch(), overrides, a.timeout)
    bad = [w for w in written if w["status"] != "ok"]
    print(f"{len(written)} point(s) run, {len(bad)} not ok; records in {a.out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
