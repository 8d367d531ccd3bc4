"""python -m rtrl_moe.longrange run|list|point (docs/LONGRANGE.md)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _ints(what: str, minimum: int):
    def parse(text: str) -> list[int]:
        try:
            vals = [int(s) for s in text.split(",") if s.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{what} must be integers separated by commas, got {text!r}") from None
        if not vals or any(v < minimum for v in vals):
            raise argparse.ArgumentTypeError(f"{what} must be integers >= {minimum}, got {text!r}")
        return vals
    return parse


def selectors(points) -> set[str]:
    """What ``--only`` accepts: a model, a learner, a learner label or model/label."""
    out: set[str] = set()
    for p in points:
        out |= {p.model, p.learner, p.label, p.family}
    return out


def select(points, only):
    if not only:
        return points
    valid = selectors(points)
    bad = [s for s in only if s not in valid]
    if bad:
        raise SystemExit(f"error: --only {', '.join(bad)} matches no point; choose from "
                         f"{', '.join(sorted(valid))}")
    want = set(only)
    return [p for p in points if {p.model, p.learner, p.label, p.family} & want]


def main(argv=None) -> int:
    from .registry import DELAYS, SEEDS, TIMEOUT_S, Point, preset
    ap = argparse.ArgumentParser(prog="python -m rtrl_moe.longrange")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name, help_ in (("run", "run the longrange preset (or a part) into a results file"),
                        ("list", "the preset's points, in the order they run")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("--only", nargs="+", default=None, metavar="SEL",
                       help="models, learners or model/learner labels (e.g. lru rnn/tbptt-16)")
        s.add_argument("--seeds", type=_ints("seeds", 0), default=list(SEEDS))
        s.add_argument("--delays", type=_ints("delays", 0), default=list(DELAYS))
        if name == "run":
            s.add_argument("--out", default="results/longrange.jsonl")
            s.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per point")
            s.add_argument("--waiting", choices=("skip", "record", "run"), default="skip",
                           help="learners being rewritten, while the final flag is absent: "
                                "leave for later (skip), store as not run (record), or run")
            s.add_argument("--budget-s", type=float, default=None,
                           help="after this many seconds, store the rest as not run")
            s.add_argument("--rerun", action="store_true",
                           help="run the selected points again even where stored records "
                                "settle them (the new records supersede the old)")
    pt = sub.add_parser("point", help="(internal) run one point in this process")
    pt.add_argument("--point", required=True, help="the point as JSON")
    pt.add_argument("--result", required=True)
    a = ap.parse_args(argv)

    if a.cmd == "point":
        from .experiment import run_point
        metrics = run_point(Point(**json.loads(a.point)))
        Path(a.result).write_text(json.dumps(metrics))
        return 0
    if a.cmd == "run" and a.timeout <= 0:
        ap.error(f"--timeout must be positive, got {a.timeout}")
    points = select(preset(a.delays, a.seeds), a.only)
    if a.cmd == "list":
        for p in points:
            print(f"{p.key}  every={p.every} mode={p.mode}" + ("  [waits]" if p.waits else ""))
        print(f"{len(points)} point(s)")
        return 0
    from .runner import run
    written = run(points, a.out, a.timeout, a.waiting, a.budget_s, rerun=a.rerun)
    bad = [w for w in written if w["status"] not in ("ok", "skipped")]
    print(f"{len(written)} point(s) recorded, {len(bad)} failed; records in {a.out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
