"""The one regression check (CI and ``nox -s regress``): measure a few small fixed points on
two commits and compare them, with the tolerances stated once, below.

    python -m rtrl_moe.bench.regress collect --points .ci/points.json --checkout head=DIR
                                             --checkout base=DIR2 --out-dir OUT [--python PY]
    python -m rtrl_moe.bench.regress compare BASE.json HEAD.json [--alerts FILE]
                                             [--time-factor 1.5]

``collect`` runs ``PY -m rtrl_moe.bench ARGS --json`` for every point of the points file in
every checkout (with that checkout first on ``PYTHONPATH``, so the parent commit's code is the
one imported), interleaved point by point and alternating which checkout goes first, so that
a change in the machine's load hits both alike; it stores ``OUT/NAME.json`` =
``{"points": {id: record}, "rtrl_moe_file": ...}`` for each checkout NAME.

``compare`` checks the deterministic figures and fails (exit 1) on any increase beyond the
tolerances below; it only *alerts* on step time (printed and appended to ``--alerts``),
since CI machines are shared and noisy.

Tolerances (head is compared with base, per point and metric):
  * tensor bytes and sensitivity FLOPs (exact accounting): fail when
    head > base * (1 + 0.005), i.e. any growth above half a percent;
  * gradient error against BPTT (rel_err, max_abs_err, 1 - cosine): fail when
    head > base * (1 + 0.01) + 1e-12; the absolute floor keeps float64 round-off of the exact
    learners (~1e-15) from failing the run;
  * status: a point that was ``ok`` on base and is not on head fails;
  * time_step_median_ns: alert when head / base > --time-factor (default 1.5: on a shared
    2-core VM, 200 ms points of two commits with identical code differed by up to x1.35).
Exit codes: 0 no regression, 1 regression, 2 usage/input error.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

BYTES_METRICS = (
    "tensor_bytes_peak",
    "tensor_bytes_params",
    "tensor_bytes_grads",
    "tensor_bytes_optimizer",
    "tensor_bytes_learner_state",
    "tensor_bytes_saved_peak",
)
FLOPS_METRICS = ("sensitivity_flops_per_step",)
ERROR_METRICS = ("rel_err", "max_abs_err", "one_minus_cosine")
TIME_METRIC = "time_step_median_ns"

BYTES_REL_TOL = 0.005
ERROR_REL_TOL = 0.01
ERROR_ABS_TOL = 1e-12
DEFAULT_TIME_FACTOR = 1.5


# --------------------------------------------------------------------------------- collect
def parse_record(stdout: str) -> dict:
    """The JSON record a ``--json`` run printed: the whole output, or its last JSON line."""
    text = stdout.strip()
    if not text:
        raise ValueError("no output")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        obj = None
        for line in reversed(text.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    obj = json.loads(line)
                    break
                except json.JSONDecodeError:
                    continue
        if obj is None:
            raise ValueError("no JSON object in output")
    if isinstance(obj, list):  # a command that prints a list of records: one point each
        if len(obj) != 1:
            raise ValueError(f"expected one record, got {len(obj)}")
        obj = obj[0]
    if not isinstance(obj, dict):
        raise ValueError("JSON output is not an object")
    return obj


def _checkout_env(cwd: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(cwd) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH")
                                    else "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _run_point(python: str, cwd: Path, env: dict, args: list, timeout: float) -> dict:
    cmd = [python, "-m", "rtrl_moe.bench", *args, "--json"]
    try:
        run = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                             timeout=timeout, stdin=subprocess.DEVNULL)
        rc, stdout, stderr = run.returncode, run.stdout, run.stderr
    except subprocess.TimeoutExpired:
        rc, stdout, stderr = None, "", f"timed out after {timeout:.0f} s"
    try:
        return parse_record(stdout)
    except ValueError as exc:
        return {"status": "error",
                "message": f"exit {rc}: {exc}; stderr tail: {stderr.strip()[-800:]}",
                "metrics": {}}


def collect(points_file: Path, checkouts: dict, out_dir: Path, python: str,
            timeout: float) -> int:
    spec = json.loads(points_file.read_text())
    envs, imported = {}, {}
    for name, cwd in checkouts.items():
        env = _checkout_env(cwd)
        probe = subprocess.run([python, "-c", "import rtrl_moe; print(rtrl_moe.__file__)"],
                               cwd=cwd, env=env, capture_output=True, text=True)
        if probe.returncode != 0:
            print(f"collect: cannot import rtrl_moe from {cwd}:\n{probe.stderr}",
                  file=sys.stderr)
            return 2
        path = probe.stdout.strip()
        if not Path(path).resolve().is_relative_to(cwd.resolve()):
            print(f"collect: {name}: rtrl_moe imported from {path}, not from {cwd}",
                  file=sys.stderr)
            return 2
        envs[name], imported[name] = env, path
    records: dict = {name: {} for name in checkouts}
    names = list(checkouts)
    for i, point in enumerate(spec["points"]):
        pid, args = point["id"], [str(a) for a in point["args"]]
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            t0 = time.monotonic()
            rec = _run_point(python, checkouts[name], envs[name], args, timeout)
            took = time.monotonic() - t0
            print(f"  {name:<5} {pid:<40} {rec.get('status', '?'):<8} {took:6.1f} s",
                  flush=True)
            records[name][pid] = rec
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        (out_dir / f"{name}.json").write_text(
            json.dumps({"rtrl_moe_file": imported[name], "points": records[name]}, indent=1))
    return 0


def _checkout_arg(text: str) -> tuple:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=DIR, got {text!r}")
    return name, Path(path)


# --------------------------------------------------------------------------------- compare
def _metrics(rec: dict) -> dict:
    m = dict(rec.get("metrics") or {})
    if isinstance(m.get("cosine"), (int, float)):
        m["one_minus_cosine"] = max(0.0, 1.0 - float(m["cosine"]))
    return m


def _num(x) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return None if math.isnan(x) else float(x)


def compare_records(base: dict, head: dict, time_factor: float = DEFAULT_TIME_FACTOR):
    """Compare two ``{id: record}`` maps. Returns (rows, failures, alerts, notes).

    rows: (point, metric, base, head, ratio, verdict) for the table.
    """
    rows, failures, alerts, notes = [], [], [], []
    for pid in sorted(set(base) | set(head)):
        if pid not in base:
            notes.append(f"{pid}: new point (not measured on base)")
            continue
        if pid not in head:
            failures.append(f"{pid}: measured on base but missing on head")
            continue
        b, h = base[pid], head[pid]
        bs, hs = b.get("status"), h.get("status")
        if bs != "ok":
            notes.append(f"{pid}: base status {bs} ({b.get('message', '')}); not compared")
            continue
        if hs != "ok":
            failures.append(f"{pid}: ok on base, {hs} on head: {h.get('message', '')}")
            continue
        bm, hm = _metrics(b), _metrics(h)
        for metric in BYTES_METRICS + FLOPS_METRICS + ERROR_METRICS + (TIME_METRIC,):
            bv, hv = _num(bm.get(metric)), _num(hm.get(metric))
            if bv is None and hv is None:
                continue
            if bv is None or hv is None:
                notes.append(f"{pid}: {metric} only on {'head' if bv is None else 'base'}")
                continue
            ratio = hv / bv if bv else (1.0 if hv == 0 else math.inf)
            if metric in ERROR_METRICS:
                bad = hv > bv * (1 + ERROR_REL_TOL) + ERROR_ABS_TOL
            elif metric == TIME_METRIC:
                bad = ratio > time_factor
            else:
                bad = hv > bv * (1 + BYTES_REL_TOL)
            verdict = "ok"
            if bad and metric == TIME_METRIC:
                verdict = "ALERT"
                alerts.append(f"{pid}: step time {bv / 1e6:.2f} ms -> {hv / 1e6:.2f} ms "
                              f"(x{ratio:.2f} > x{time_factor:.2f})")
            elif bad:
                verdict = "FAIL"
                failures.append(f"{pid}: {metric} {bv:.6g} -> {hv:.6g} (x{ratio:.4f})")
            elif hv < bv:
                verdict = "better"
            rows.append((pid, metric, bv, hv, ratio, verdict))
    return rows, failures, alerts, notes


def _fmt(v: float) -> str:
    return f"{v:.4g}" if (abs(v) < 1e-3 or abs(v) >= 1e7) and v != 0 else f"{v:,.6g}"


def print_table(rows) -> None:
    head = ("point", "metric", "base", "head", "ratio", "")
    out = [head] + [(p, m, _fmt(b), _fmt(h), f"{r:.4f}", v) for p, m, b, h, r, v in rows]
    widths = [max(len(str(r[i])) for r in out) for i in range(len(head))]
    for i, r in enumerate(out):
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def load_points(path: Path) -> dict:
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not isinstance(data.get("points"), dict):
        raise ValueError(f"{path}: expected an object with a 'points' mapping")
    return data["points"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect", help="measure the points of a points file")
    c.add_argument("--points", type=Path, required=True)
    c.add_argument("--checkout", type=_checkout_arg, action="append", required=True,
                   metavar="NAME=DIR", help="a checkout to measure (repeatable)")
    c.add_argument("--out-dir", type=Path, required=True, help="writes NAME.json per checkout")
    c.add_argument("--python", default=sys.executable)
    c.add_argument("--timeout", type=float, default=300.0, help="seconds per point")
    k = sub.add_parser("compare", help="compare base and head measurements")
    k.add_argument("base", type=Path)
    k.add_argument("head", type=Path)
    k.add_argument("--alerts", type=Path, default=None, help="append timing alerts here")
    k.add_argument("--time-factor", type=float, default=DEFAULT_TIME_FACTOR)
    args = ap.parse_args(argv)

    if args.cmd == "collect":
        checkouts = dict(args.checkout)
        if len(checkouts) != len(args.checkout):
            print("collect: checkout names must be unique", file=sys.stderr)
            return 2
        return collect(args.points, checkouts, args.out_dir, args.python, args.timeout)

    try:
        base, head = load_points(args.base), load_points(args.head)
    except (OSError, ValueError) as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return 2
    rows, failures, alerts, notes = compare_records(base, head, args.time_factor)
    print_table(rows)
    for n in notes:
        print(f"note: {n}")
    if alerts:
        print(f"\nTIMING ALERT (not failing the run; shared machines are noisy, "
              f"factor {args.time_factor}):")
        for a in alerts:
            print(f"  {a}")
        if args.alerts:
            args.alerts.parent.mkdir(parents=True, exist_ok=True)
            with open(args.alerts, "a") as fh:
                fh.writelines(f"timing: {a}\n" for a in alerts)
    if failures:
        print("\nREGRESSION in deterministic figures (bytes, FLOPs, gradient error):")
        for f in failures:
            print(f"  {f}")
        return 1
    print(f"\nno regression in deterministic figures ({len(rows)} comparisons)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
