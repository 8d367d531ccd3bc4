"""Command line of the bench (argparse only; the work lives in the other modules).

    python -m rtrl_moe.bench agree  --learners rtrl,sparse-rtrl,tree-rtrl --lengths 1,16,256
                                    [--dtype float64[,float32]] [--batch 1]
                                    [--config KEY=VALUE ...] --json
    python -m rtrl_moe.bench point  --learner NAME --task NAME --seq-len T [--batch B]
                                    [--device D] [--dtype D] [--budget-mb M] [--repeats R]
                                    [--config KEY=VALUE ...] --json
    python -m rtrl_moe.bench sweep  --preset quick|compiled|long|full|gpu|train|...
                                    [--out local/results/PRESET.jsonl]
                                    [--resume|--force] [--executor local|ray]
                                    [--address HOST:PORT] [--max-parallel N]
                                    [--pair-by label-seed|label|point]
    python -m rtrl_moe.bench report [--results local/results/] [--out local/reports/]
                                    (= python -m rtrl_moe.report)

``--json`` prints one JSON value on stdout and nothing else (``point``: the record, or a list
of records with ``--seeds`` naming several; ``agree``: a list of records, each with
top-level ``learner``, ``length``, ``dtype``, ``rel_err``, ``max_abs_err`` and ``cosine``).
Progress and logging go to stderr.  A point's own failure (oom, crash, timeout) is a record
with that status and exit code 0 (``--strict``: exit 1 when any status is not ok).  Bad flags or
values (an ``--out`` that cannot be written included): one ``error: ...`` line on stderr, exit 2;
a failure outside the command (a malformed results file, a file another sweep holds): one line,
exit 1 (rtrl_moe/argtypes.py states the convention for every command).

Nothing is written into the committed ``results/`` or ``reports/`` unless ``--out`` /
``--results`` say so: ``sweep`` appends to ``local/results/PRESET.jsonl`` and ``report`` reads
``local/results/`` and writes ``local/reports/`` by default (git-ignored, as ``nox -s report``).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional

from .. import argtypes
from ..build import SpecError, parse_assignments
from .config import DTYPES, KINDS, MODEL_TYPES, PointConfig
from .presets import PRESETS

#: git-ignored default outputs (as nox's): the committed results/ and reports/ only on purpose
LOCAL_RESULTS = "local/results"
LOCAL_REPORTS = "local/reports/"
#: the committed records, read (never written) for the recorded wall times behind the ETA
COMMITTED_RESULTS = Path(__file__).resolve().parents[2] / "results"


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=MODEL_TYPES, default="moe",
                   help="model type: moe (RecurrentMoE) or rnn (RecurrentRNN) (default: moe)")
    p.add_argument("--config", action="extend", nargs="+", default=[], metavar="KEY=VALUE",
                   help="model config field, e.g. d_model=8 n_experts=8 (MoEConfig / RNNConfig "
                        "fields; the value is checked against the field's type); repeatable")
    p.add_argument("--learner-arg", action="extend", nargs="+", default=[],
                   metavar="[LEARNER:]KEY=VALUE",
                   help="learner keyword, e.g. k=64 (tbptt window, ckpt-bptt segment) or n=16 "
                        "(tree-rtrl buffer); tbptt:k=64 applies to one learner only")
    p.add_argument("--task-arg", action="extend", nargs="+", default=[], metavar="KEY=VALUE",
                   help="task option, e.g. len_max_a=8 (anbn), n_keys=8 (haystack)")
    p.add_argument("--task", default="anbn",
                   help="task: anbn, haystack or stream (default: anbn)")
    p.add_argument("--batch", type=argtypes.integer(1), default=1,
                   help="sequences per step (default: 1)")
    p.add_argument("--device", default="cpu",
                   help="cpu or cuda[:N] (default: cpu); a CUDA point on a machine without "
                        "CUDA is stored as skipped")
    p.add_argument("--threads", type=argtypes.integer(1), default=1,
                   help="torch intra-op threads in the worker (default: 1; on a shared small "
                        "machine more threads contend and slow small models down)")
    p.add_argument("--timeout-s", type=argtypes.positive_float, default=None,
                   help="seconds a point may take before its worker is killed (default: 600)")
    p.add_argument("--in-process", action="store_true",
                   help="run here instead of a fresh subprocess (a crash takes the CLI down)")
    p.add_argument("--out", default=None, metavar="FILE.jsonl",
                   help="also append the record(s) to this JSONL file (checked before any work)")
    p.add_argument("--json", action="store_true",
                   help="print JSON on stdout and nothing else (progress goes to stderr)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a status is not ok")


def build_parser() -> argparse.ArgumentParser:
    ap = argtypes.Parser(prog="python -m rtrl_moe.bench",
                         description="Measure rtrl_moe learners (memory, time, work, "
                                     "agreement); docs/RESULTS.md says what each record field "
                                     "means.")
    sub = ap.add_subparsers(dest="cmd", metavar="{agree,point,sweep,report}")
    sub.required = True

    a = sub.add_parser("agree", help="gradient agreement with bptt",
                       description="Gradient of each learner against BPTT's, same parameters, "
                                   "sequence and routing: rel. L2 error, max abs error, cosine.")
    a.add_argument("--learners", type=argtypes.csv, required=True, metavar="L1,L2,...",
                   help="comma-separated learner names, e.g. rtrl,sparse-rtrl,tree-rtrl")
    a.add_argument("--lengths", type=argtypes.int_csv, required=True, metavar="T1,T2,...",
                   help="comma-separated sequence lengths (positive integers), e.g. 1,16,256")
    a.add_argument("--dtype", type=argtypes.csv, default=["float64"], metavar="D1,D2",
                   help="comma-separated dtypes: float64 and/or float32 (default: float64)")
    a.add_argument("--seed", type=argtypes.integer(0), default=0,
                   help="seed of the model's weights and the data (default: 0)")
    _add_model_args(a)

    p = sub.add_parser("point", help="one measurement point",
                       description="One point (learner, model, task, T, batch, dtype, device, "
                                   "seed) in a fresh subprocess; prints or appends its record.")
    p.add_argument("--learner", required=True, help="learner name (rtrl_moe.LEARNERS)")
    p.add_argument("--seq-len", type=argtypes.integer(1), required=True, metavar="T",
                   help="tokens per sequence")
    p.add_argument("--kind", choices=KINDS, default="measure",
                   help="measure (memory and time of a step), agree (gradient vs bptt) or "
                        "train (task quality after --steps) (default: measure)")
    p.add_argument("--dtype", choices=DTYPES, default="float32",
                   help="float32 or float64 (default: float32)")
    p.add_argument("--budget-mb", type=argtypes.positive_float, default=None, metavar="MB",
                   help="memory budget in MiB above the baseline: CUDA memory fraction, or an "
                        "address-space limit on the CPU; running past it is status oom "
                        "(default: none)")
    p.add_argument("--repeats", type=argtypes.integer(0), default=5,
                   help="timed steps, median and IQR reported; 0 = memory only (default: 5)")
    p.add_argument("--warmup", type=argtypes.integer(1), default=1,
                   help="untimed steps before timing; the first is the memory pass "
                        "(default: 1)")
    p.add_argument("--seed", type=argtypes.integer(0), default=None,
                   help="seed of the weights and the data (default: 0)")
    p.add_argument("--seeds", type=argtypes.nonneg_int_csv, default=None, metavar="S1,S2,...",
                   help="comma-separated seeds, one point each (instead of --seed)")
    p.add_argument("--steps", type=argtypes.integer(1), default=None,
                   help="training steps (kind train only)")
    p.add_argument("--lr", type=argtypes.positive_float, default=None,
                   help="Adam learning rate (default: 1e-3)")
    p.add_argument("--eval-every", type=argtypes.integer(1), default=None, metavar="N",
                   help="loss-curve spacing in steps (kind train; default: steps/20)")
    p.add_argument("--track-steps", type=argtypes.integer(1), default=None, metavar="N",
                   help="for torch.func learners, track live tensors over the first N steps "
                        "only (the learner state is still sampled every step) (default: all)")
    p.add_argument("--no-matmul", action="store_true",
                   help="skip the plain matmul of the update's shape (matmul_fraction)")
    p.add_argument("--label", default=None,
                   help="free-text group name stored with the record (not its identity)")
    _add_model_args(p)

    s = sub.add_parser("sweep", help="run a preset or a points file",
                       description="Run every point in a fresh subprocess, appending records "
                                   "as they finish; resumes past stored points.")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", choices=tuple(PRESETS),
                     help="a point list from rtrl_moe/bench/presets.py")
    src.add_argument("--points", metavar="FILE.json",
                     help="JSON file: a list of PointConfig dicts (or JSON Lines of them)")
    s.add_argument("--out", default=None, metavar="FILE.jsonl",
                   help=f"JSONL file to append to (default {LOCAL_RESULTS}/<preset>.jsonl, or "
                        f"{LOCAL_RESULTS}/points.jsonl with --points, git-ignored; "
                        "results/<preset>.jsonl is the committed one)")
    mode = s.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true",
                      help="skip points stored for this commit and machine from a clean tree "
                           "(the default)")
    mode.add_argument("--force", action="store_true", help="run every point again")
    s.add_argument("--rerun-if-dirty", action="store_true",
                   help="with uncommitted changes, run every point again instead of refusing "
                        "to resume (stored records cannot tell which code they measured)")
    s.add_argument("--retry-failed", action="store_true",
                   help="also re-run stored points with status error or timeout")
    s.add_argument("--timeout-s", type=argtypes.positive_float, default=None,
                   help="seconds per point, overriding every point's own timeout")
    s.add_argument("--label", action="extend", nargs="+", default=None,
                   help="run only points with these labels (e.g. speed-slots)")
    s.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local: one point after another in subprocesses of this process (the "
                        "default); ray: each point (or pair group, --pair-by) as a Ray task, "
                        "records still written here (needs: pip install -e '.[ray]')")
    s.add_argument("--address", default=None, metavar="HOST:PORT",
                   help="Ray cluster to run on, e.g. HEAD:6379 (--executor ray; default: start "
                        "a local instance with this machine's cores)")
    s.add_argument("--max-parallel", type=argtypes.integer(1), default=None, metavar="N",
                   help="at most N Ray tasks at once (--executor ray; default: as many as the "
                        "cluster's CPUs and GPUs allow)")
    s.add_argument("--pair-by", choices=("label-seed", "label", "point"), default=None,
                   help="timed points run in one Ray task, so on one node, per label and seed "
                        "(label-seed, the default), per label, or each alone (point) "
                        "(--executor ray)")
    s.add_argument("--dry-run", action="store_true", help="list the points, run nothing")
    s.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")

    r = sub.add_parser("report", help="build the report (same as python -m rtrl_moe.report)",
                       description="Render the verification report from a results folder.")
    r.add_argument("--results", default=LOCAL_RESULTS + "/", metavar="DIR",
                   help=f"folder of *.jsonl records, read recursively (default: {LOCAL_RESULTS}/;"
                        " results/ holds the committed ones)")
    r.add_argument("--out", default=LOCAL_REPORTS, metavar="DIR",
                   help=f"folder for REPORT.md, index.html and figures/ (default: "
                        f"{LOCAL_REPORTS}; reports/ holds the committed ones)")
    return ap


def _fail(msg: str) -> int:
    return argtypes.usage_error(msg)


def _learner_args(items) -> dict:
    """``k=64`` applies to every learner; ``tbptt:k=64`` only to tbptt.

    Returns ``{learner or "*": {key: value}}``."""
    out: dict = {}
    for item in items or ():
        head, eq, _ = item.partition("=")
        name = "*"
        if eq and ":" in head:
            name, item = item.split(":", 1)
        out.setdefault(name.strip(), {}).update(parse_assignments([item], "--learner-arg"))
    return out


def _kwargs_for(spec: dict, learner: str) -> dict:
    return {**spec.get("*", {}), **spec.get(learner, {})}


def _common(args) -> dict:
    return {"model_type": args.model,
            "model": parse_assignments(args.config, "--config"),
            "learner_kwargs": _learner_args(args.learner_arg),
            "task_kwargs": parse_assignments(args.task_arg, "--task-arg"),
            "task": args.task, "batch": args.batch, "device": args.device,
            "threads": args.threads}


def _check(cfgs) -> None:
    from .spec import check
    for c in cfgs:
        check(c)


def _run(cfgs, args) -> tuple[list[dict], list[str]]:
    """Run the points; returns the records and the write failures (a record that could not be
    appended is still returned, so it is printed rather than lost)."""
    from ..records import ResultsError, append_record
    from ..records.machine import new_run_id
    from .point import run_point
    from .worker import DEFAULT_TIMEOUT_S, run_point_isolated
    run_id = new_run_id()
    recs, lost = [], []
    for i, c in enumerate(cfgs, start=1):
        print(f"[{i}/{len(cfgs)}] {c.short()}", file=sys.stderr, flush=True)
        if args.in_process:
            rec = run_point(c, run_id=run_id)
        else:
            rec = run_point_isolated(c, timeout_s=args.timeout_s or DEFAULT_TIMEOUT_S,
                                     run_id=run_id)
        print(f"[{i}/{len(cfgs)}] {rec['status']}"
              + (f": {rec['message']}" if rec.get("message") else ""), file=sys.stderr,
              flush=True)
        if args.out:
            try:
                append_record(args.out, rec)
            except (OSError, ResultsError) as e:
                lost.append(f"could not append the record of point {i} to {args.out}: {e}")
        recs.append(rec)
    return recs, lost


def _summary_line(rec: dict) -> str:
    c, m = rec["config"], rec["metrics"]
    head = f"{c['kind']} {c['learner']} T={c['seq_len']} {c['dtype']} {rec['status']}"
    keys = {"measure": ("tensor_bytes_peak", "rss_peak", "time_step_median_ns",
                        "time_per_token_ns", "matmul_fraction"),
            "agree": ("rel_err", "max_abs_err", "cosine"),
            "train": ("final_loss", "final_accuracy", "time_total_s")}[c["kind"]]
    return head + "".join(f" {k}={m.get(k)!r}" for k in keys if k in m)


def main(argv: Optional[list[str]] = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted (the points that finished are stored)\n")
        return 130


def _report(results: str, out: str) -> int:
    try:
        from rtrl_moe.report import main as report_main
    except ImportError as e:
        return argtypes.failure(f"rtrl_moe.report is not available ({e}); install the "
                                "report extra: pip install -e '.[report]'")
    return report_main(["--results", results, "--out", out])


def _dispatch(args) -> int:
    if args.cmd == "report":
        return _report(args.results, args.out)

    if args.cmd == "sweep":
        from ..records import ResultsError, ensure_appendable
        from .presets import get_preset
        from .sweep import SweepError, load_points_file, run_sweep
        if args.executor == "local":
            given = [f for f, v in (("--address", args.address),
                                    ("--max-parallel", args.max_parallel),
                                    ("--pair-by", args.pair_by)) if v is not None]
            if given:
                return _fail(f"argument {given[0]}: only with --executor ray")
        else:
            from .executors import RayUnavailable, import_ray
            try:
                import_ray()
            except RayUnavailable as e:
                return _fail(str(e))
        try:
            if args.preset:
                points = get_preset(args.preset)
                out = args.out or f"{LOCAL_RESULTS}/{args.preset}.jsonl"
                reference = sorted(COMMITTED_RESULTS.glob("*.jsonl"))
            else:
                points = load_points_file(args.points)
                out = args.out or f"{LOCAL_RESULTS}/points.jsonl"
                reference = sorted(COMMITTED_RESULTS.glob("*.jsonl"))
        except OSError as e:
            return _fail(f"argument --points: {args.points}: {argtypes.os_reason(e)}")
        except (ValueError, TypeError, KeyError) as e:
            return _fail(f"argument --points: {args.points}: not a list of points ({e})")
        if args.label:
            have = {p.label for p in points}
            unknown = [x for x in args.label if x not in have]
            if unknown:
                return _fail(f"argument --label: no point has label {unknown[0]!r}; labels here: "
                             + ", ".join(sorted(str(x) for x in have)))
            points = [p for p in points if p.label in set(args.label)]
        if args.dry_run:
            for i, p in enumerate(points, 1):
                print(f"[{i}/{len(points)}] {p.label or '-'}: {p.short()}", file=sys.stderr)
            from .progress import fmt_duration, recorded_seconds, weights_for
            rec = recorded_seconds(reference, {p.key() for p in points})
            if rec:
                known = sum(p.key() in rec for p in points)
                print(f"{len(points)} points, about {fmt_duration(sum(weights_for(points, rec)))}"
                      f" by the recorded wall times of {known} of them (the rest at their "
                      "median)", file=sys.stderr)
            if args.json:
                print(json.dumps([p.to_dict() for p in points]))
            return 0
        try:
            ensure_appendable(out)
        except ResultsError as e:
            return _fail(f"argument --out: {e}")
        try:
            ray_kw = dict(reference=reference) if args.executor == "local" else dict(
                address=args.address, max_parallel=args.max_parallel,
                pair_by=args.pair_by or "label-seed")
            summary = run_sweep(points, out, force=args.force, retry_failed=args.retry_failed,
                                timeout_s=args.timeout_s, rerun_if_dirty=args.rerun_if_dirty,
                                executor=args.executor, **ray_kw)
        except (ResultsError, SweepError) as e:   # the file's contents or another sweep's lock
            return argtypes.failure(str(e))
        if args.json:
            print(json.dumps(summary))
        return 0

    # agree / point
    try:
        common = _common(args)
        if args.cmd == "agree":
            bad = [d for d in args.dtype if d not in DTYPES]
            if bad:
                return _fail(f"argument --dtype: unknown dtype {bad[0]!r}; expected "
                             f"{', '.join(DTYPES)}")
            spec = common.pop("learner_kwargs")
            cfgs = [PointConfig(kind="agree", learner=lr, seq_len=T, dtype=dt, seed=args.seed,
                                learner_kwargs=_kwargs_for(spec, lr), **common)
                    for dt in args.dtype for lr in args.learners for T in args.lengths]
        else:
            common["learner_kwargs"] = _kwargs_for(common["learner_kwargs"], args.learner)
            seeds = args.seeds if args.seeds is not None else [args.seed or 0]
            if args.seeds is not None and args.seed is not None:
                return _fail("give --seed or --seeds, not both")
            cfgs = [PointConfig(kind=args.kind, learner=args.learner, seq_len=args.seq_len,
                                dtype=args.dtype, budget_mb=args.budget_mb,
                                repeats=args.repeats, warmup=args.warmup, seed=s,
                                steps=args.steps, lr=args.lr, eval_every=args.eval_every,
                                track_steps=args.track_steps, matmul=not args.no_matmul,
                                label=args.label, **common)
                    for s in seeds]
        _check(cfgs)
        if args.out:
            from ..records import ResultsError, ensure_appendable
            try:
                ensure_appendable(args.out)
            except ResultsError as e:
                return _fail(f"argument --out: {e}")
    except SpecError as e:
        return _fail(str(e))
    except ImportError as e:
        return argtypes.failure(f"cannot import the library: {e}")

    recs, lost = _run(cfgs, args)
    if args.cmd == "agree":
        for r in recs:
            c, m = r["config"], r["metrics"]
            r.update({"learner": c["learner"], "length": c["seq_len"], "dtype": c["dtype"],
                      "rel_err": m.get("rel_err"), "max_abs_err": m.get("max_abs_err"),
                      "cosine": m.get("cosine")})
    if args.json or lost:
        # a record that could not be written is printed whole, so the measurement survives
        from ..records import sanitize
        payload = recs if (args.cmd == "agree" or len(recs) > 1) else recs[0]
        sys.stdout.write(json.dumps(sanitize(payload)) + "\n")
    else:
        for r in recs:
            print(_summary_line(r))
    for msg in lost:
        sys.stderr.write(f"error: {msg}\n")
    if lost:
        return 1
    if args.strict and any(r["status"] != "ok" for r in recs):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(argtypes.run_main(main))
