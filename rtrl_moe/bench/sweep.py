"""Run a list of points, each in a fresh subprocess, appending records as they finish.

:func:`run_sweep` skips points already stored in ``out`` for the same commit and machine
(``resume``, the default) unless ``force``; ``retry_failed`` also re-runs stored points whose
status is ``error`` or ``timeout``.  Progress (``[i/N] status elapsed description``) goes to
``progress`` (stderr by default); stdout is never written.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import IO, Iterable, Optional

from ..records import ResultsError, append_record, iter_records, stored_keys
from ..records.machine import git_info, machine_info, new_run_id
from .config import PointConfig
from .worker import DEFAULT_TIMEOUT_S, run_point_isolated


def run_sweep(points: Iterable[PointConfig], out, *, force: bool = False,
              retry_failed: bool = False, timeout_s: Optional[float] = None,
              progress: Optional[IO[str]] = None, env: Optional[dict] = None,
              run_id: Optional[str] = None) -> dict:
    """Run ``points``; returns ``{"run_id", "out", "ran", "skipped", "statuses": {...}}``.

    ``timeout_s`` overrides every point's own ``timeout_s`` (default
    :data:`~rtrl_moe.bench.worker.DEFAULT_TIMEOUT_S`).
    """
    progress = progress if progress is not None else sys.stderr
    points = list(points)
    out = Path(out)
    run_id = run_id or new_run_id()
    g = git_info()
    mach = machine_info()
    try:
        stored = {} if force or not out.exists() else stored_keys(
            (rec for _, rec in iter_records(out)), commit=g["commit"],
            machine_id=mach["machine_id"])
    except ResultsError as e:
        raise ResultsError(e.path, e.line, e.reason + " (cannot resume from this file: fix or "
                           "move it, or write to another --out)") from None
    seen_keys: set = set()
    summary = {"run_id": run_id, "out": str(out), "ran": 0, "skipped": 0, "statuses": {}}
    n = len(points)
    t_sweep = time.perf_counter()
    print(f"sweep {run_id}: {n} points -> {out} (commit {g['commit'][:12]}"
          f"{' dirty' if g.get('dirty') else ''}, machine {mach['machine_id']})",
          file=progress, flush=True)
    for i, cfg in enumerate(points, start=1):
        key = cfg.key()
        if key in seen_keys:
            print(f"[{i}/{n}] duplicate point in the list, skipped: {cfg.short()}",
                  file=progress, flush=True)
            summary["skipped"] += 1
            continue
        seen_keys.add(key)
        prev = stored.get(key)
        if prev is not None and not (retry_failed and prev in ("error", "timeout")):
            summary["skipped"] += 1
            print(f"[{i}/{n}] stored ({prev}), skipped: {cfg.short()}", file=progress, flush=True)
            continue
        tmo = timeout_s if timeout_s is not None else (cfg.timeout_s or DEFAULT_TIMEOUT_S)
        print(f"[{i}/{n}] running (timeout {tmo:g}s) {cfg.label or '-'}: {cfg.short()}",
              file=progress, flush=True)
        t0 = time.perf_counter()
        rec = run_point_isolated(cfg, timeout_s=tmo, run_id=run_id, env=env,
                                 git=g, machine=mach)
        append_record(out, rec)
        dt = time.perf_counter() - t0
        summary["ran"] += 1
        summary["statuses"][rec["status"]] = summary["statuses"].get(rec["status"], 0) + 1
        msg = f" -- {rec['message'][:160]}" if rec.get("message") else ""
        print(f"[{i}/{n}] {rec['status']:7s} {dt:7.1f}s (total {time.perf_counter() - t_sweep:.0f}s)"
              f" {cfg.short()}{msg}", file=progress, flush=True)
    print(f"sweep {run_id} done: ran {summary['ran']}, skipped {summary['skipped']}, "
          f"statuses {summary['statuses']}, {time.perf_counter() - t_sweep:.0f}s",
          file=progress, flush=True)
    return summary


def load_points_file(path) -> list[PointConfig]:
    """A JSON list of PointConfig dicts (or JSON Lines of them)."""
    import json
    text = Path(path).read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(data, dict):
        data = [data]
    return [PointConfig.from_dict(d) for d in data]
