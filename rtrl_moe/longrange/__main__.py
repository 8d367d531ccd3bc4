"""python -m rtrl_moe.longrange run|list|point|kstar|tune|equivalence (docs/LONGRANGE.md)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_OUT = "local/longrange.jsonl"
LEGEND = ("markers: [stored] an ok record of this point, for the same code, is in --out (run "
          "skips it); [k* pending] the memory-matched tbptt-k* of a model whose k* is not in "
          "--out yet (run measures it first, then runs tbptt-<k*>)")


class _Parser(argparse.ArgumentParser):
    def error(self, message):          # one line, exit 2
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


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


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _nonneg(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def _tbptt_label(sel: str) -> bool:
    """``tbptt-K`` or ``model/tbptt-K``: a memory-matched window may not be measured yet."""
    lab = sel.rpartition("/")[2]
    return lab.startswith("tbptt-") and lab[len("tbptt-"):].isdigit()


def select(points, only):
    if not only:
        return points
    valid = set()
    for p in points:
        valid |= {p.model, p.learner, p.family}
    bad = [s for s in only if s not in valid and not _tbptt_label(s)]
    if bad:
        raise ValueError(f"--only {', '.join(bad)} matches no point; choose from "
                         f"{', '.join(sorted(valid))}")
    want = set(only)
    return [p for p in points if {p.model, p.learner, p.family} & want]


def parser() -> argparse.ArgumentParser:
    from .protocol import MODELS, TIMEOUT_S, VERDICT_SEEDS
    ap = _Parser(prog="python -m rtrl_moe.longrange",
                 description="Delayed recall at delay D under one protocol (issue 30).")
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    for name, help_ in (("run", "run the preset's verdict points (or a part) into --out"),
                        ("list", "the preset's verdict points, in the order run takes them")):
        s = sub.add_parser(name, help=help_, description=help_ + ("; " + LEGEND
                                                                  if name == "list" else ""))
        s.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                       help="models to include (default: all)")
        s.add_argument("--only", nargs="+", default=None, metavar="SEL",
                       help="keep only these models, learners or model/learner labels "
                            "(e.g. lru-rtrl lru/tbptt-16)")
        s.add_argument("--seeds", type=_ints("seeds", 0), default=list(VERDICT_SEEDS),
                       help="verdict seeds, comma-separated (default: %(default)s)")
        s.add_argument("--delays", type=_ints("delays", 1), default=None,
                       help="delays D, comma-separated (default: each model's declared delays)")
        s.add_argument("--out", default=DEFAULT_OUT,
                       help="results file the records are appended to (and resumed from); "
                            "default %(default)s, outside results/")
        if name == "run":
            s.add_argument("--updates", type=_positive, default=None,
                           help="optimizer updates for every selected point (default: each "
                                "model's declared budget at D; a smoke test, not a verdict)")
            s.add_argument("--device", default="cpu",
                           help="torch device the points train on: cpu (default) or cuda")
            s.add_argument("--timeout", type=float, default=TIMEOUT_S,
                           help="seconds per point before its subprocess is stopped "
                                "(default %(default)s)")
            s.add_argument("--budget-s", type=float, default=None,
                           help="after this many seconds, store the remaining points as not run")
            s.add_argument("--rerun", action="store_true",
                           help="run the selected points again even where an ok record of the "
                                "same code is stored (the new record supersedes it)")
    pt = sub.add_parser("point", help="train and score one point in this process",
                        description="One point under the protocol; --json prints its record. "
                                    "(--point JSON --result FILE is the runner's internal form.)")
    pt.add_argument("--model", choices=list(MODELS), help="the model")
    pt.add_argument("--learner", help="learner label: lru-rtrl, tbptt-16, bptt, sparse-rtrl, ...")
    pt.add_argument("--delay", type=_positive, help="the delay D (steps between symbol and query "
                                                    "minus one)")
    pt.add_argument("--seed", type=_nonneg, default=0, help="the seed (default 0)")
    pt.add_argument("--updates", type=_positive, default=None,
                    help="optimizer updates (default: the model's budget at D)")
    pt.add_argument("--arm", choices=("episodic", "streaming"), default="episodic",
                    help="episodic (reset per episode, the main arm) or streaming")
    pt.add_argument("--device", default="cpu", help="torch device: cpu (default) or cuda")
    pt.add_argument("--json", action="store_true", help="print the point's record as JSON")
    pt.add_argument("--out", default=None, help="also append the record to this results file")
    pt.add_argument("--point", default=None, help="(runner) the point as JSON")
    pt.add_argument("--result", default=None, help="(runner) file the metrics are written to")
    ks = sub.add_parser("kstar", help="measure k* per model and constant-memory learner")
    ks.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                    help="models (default: all)")
    ks.add_argument("--out", default=DEFAULT_OUT, help="results file (default %(default)s)")
    tu = sub.add_parser("tune", help="the learning-rate tuning points (tuning seed, full BPTT)")
    tu.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                    help="models (default: all)")
    tu.add_argument("--out", default=DEFAULT_OUT, help="results file (default %(default)s)")
    tu.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per point")
    eq = sub.add_parser("equivalence", help="exact learners vs BPTT: per-update training losses "
                                            "under the episodic protocol (same seed, fixed D, "
                                            "no curriculum)")
    eq.add_argument("--model", choices=list(MODELS), default="moe", help="the model")
    eq.add_argument("--learners", nargs="+", default=["bptt", "sparse-rtrl", "tree-rtrl"],
                    help="learners to compare (the first is the reference)")
    eq.add_argument("--delay", type=_positive, default=64, help="the delay D")
    eq.add_argument("--updates", type=_positive, default=50, help="optimizer updates")
    eq.add_argument("--batch", type=_positive, default=1, help="aligned episodes an update")
    eq.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="dtype")
    eq.add_argument("--out", default=DEFAULT_OUT, help="results file (default %(default)s)")
    return ap


def _point_cmd(a, ap) -> int:
    from .protocol import Point
    if a.point is not None:
        if a.result is None:
            ap.error("point --point needs --result FILE")
        from .experiment import run_point
        metrics = run_point(Point(**json.loads(a.point)))
        Path(a.result).write_text(json.dumps(metrics))
        return 0
    missing = [f"--{n}" for n in ("model", "learner", "delay") if getattr(a, n) is None]
    if missing:
        ap.error(f"point needs {', '.join(missing)} (or --point JSON --result FILE)")
    learner = a.learner
    if learner == "tbptt-k*":
        from .protocol import MODELS
        from .runner import ensure_kstar
        cm = MODELS[a.model].constant_memory[0]
        ks = ensure_kstar([a.model], a.out or DEFAULT_OUT, log=lambda s: print(s,
                                                                                file=sys.stderr))
        learner = f"tbptt-{ks[(a.model, cm)]}"
    try:
        point = Point(a.model, learner, a.delay, a.seed, arm=a.arm, updates=a.updates,
                      device=a.device)
    except ValueError as e:
        ap.error(str(e))
    from rtrl_moe.records import append_record, ensure_appendable
    from rtrl_moe.records.store import ResultsError
    if a.out:
        try:
            ensure_appendable(a.out)
        except ResultsError as e:
            ap.error(f"--out {a.out}: {e}")
    from .experiment import run_point
    from .runner import record
    metrics = run_point(point)
    rec = record(point, "ok", metrics)
    if a.out:
        append_record(a.out, rec)
    if a.json:
        print(json.dumps(rec))
    else:
        m = metrics
        print(f"{point.key}: held-out {m['heldout_accuracy']:.3f} (chance {m['chance']:.3f}), "
              f"{m['tensor_bytes_peak']} tensor bytes, {m['ms_per_token']:.4f} ms/token")
    return 0


def _equivalence(a, runner) -> int:
    """Each learner in this process, one after the other; a record appended after each."""
    import time

    from rtrl_moe.records import append_record

    from . import equivalence
    from .protocol import Point
    for lab in a.learners:
        p = Point(a.model, lab, a.delay, 0, updates=a.updates, batch=a.batch, dtype=a.dtype,
                  role="equivalence")
        t0 = time.perf_counter()
        try:
            metrics, status, msg = equivalence.run(p), "ok", None
        except Exception as e:            # recorded, and the other learners go on
            metrics, status, msg = {}, "error", f"{type(e).__name__}: {e}"
        rec = runner.record(p, status, metrics, msg, wall_s=round(time.perf_counter() - t0, 3))
        rec["config"]["curriculum"] = None
        append_record(a.out, rec)
        print(f"{status:7s} {p.key} {time.perf_counter() - t0:.1f}s", flush=True)
    return 0


def main(argv=None) -> int:
    from rtrl_moe.records.store import ResultsError
    ap = parser()
    a = ap.parse_args(argv)
    try:
        return _dispatch(a, ap)
    except ResultsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; the records written so far are kept", file=sys.stderr)
        return 1


def _dispatch(a, ap) -> int:
    from .protocol import MODELS, TUNING_SEED, Point, preset
    if a.cmd == "point":
        return _point_cmd(a, ap)
    from rtrl_moe.records import ensure_appendable
    from rtrl_moe.records.store import ResultsError
    try:
        ensure_appendable(a.out)
    except ResultsError as e:         # a usage error: the flag names a place records cannot go
        ap.error(f"--out {a.out}: {e}")
    from . import runner
    if a.cmd == "kstar":
        runner.ensure_kstar(a.models, a.out)
        return 0
    if a.cmd == "tune":
        pts = [Point(m, "bptt", MODELS[m].tuning_delay, TUNING_SEED, lr=lr, role="tuning")
               for m in a.models for lr in MODELS[m].lr_candidates]
        written = runner.run(pts, a.out, a.timeout)
        return 1 if any(w["status"] != "ok" for w in written) else 0
    if a.cmd == "equivalence":
        return _equivalence(a, runner)
    if a.cmd == "run" and a.timeout <= 0:
        ap.error(f"--timeout must be positive, got {a.timeout}")
    ks = runner.stored_kstar(Path(a.out))
    points = select(preset(a.models, a.delays, a.seeds, ks), a.only)   # checks --only first
    if a.cmd == "run" and (a.only is None or any(s in MODELS or _tbptt_label(s) for s in a.only)):
        # only where a memory-matched tbptt-k* may be among the selected points
        ks = runner.ensure_kstar(sorted({p.model for p in points}), a.out)
        points = select(preset(a.models, a.delays, a.seeds, ks), a.only)
    if a.cmd == "list":
        done = runner.latest(Path(a.out))
        for p in points:
            mark = "  [stored]" if runner.settled(done.get(p.key), runner.fingerprint(p)) else ""
            print(f"{p.key}  updates={p.n_updates} lr={p.learning_rate:g}{mark}")
        pending = [f"{m}/{cm}" for m in a.models for cm in MODELS[m].constant_memory
                   if (m, cm) not in ks]
        for f in pending:
            print(f"{f}: tbptt-k*  [k* pending]")
        print(f"{len(points)} point(s)")
        print(LEGEND)
        return 0
    if a.device != "cpu" or a.updates is not None:
        import dataclasses
        points = [dataclasses.replace(p, device=a.device, updates=a.updates) for p in points]
    written = runner.run(points, a.out, a.timeout, a.budget_s, rerun=a.rerun)
    bad = [w for w in written if w["status"] not in ("ok", "skipped")]
    print(f"{len(written)} point(s) recorded, {len(bad)} failed; records in {a.out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
