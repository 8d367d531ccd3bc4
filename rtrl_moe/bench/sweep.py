"""Run a list of points, each in a fresh subprocess, appending records as they finish.

:func:`run_sweep` skips points already stored in ``out`` for the same commit and machine
(``resume``, the default, under the rule of :func:`_reusable`) unless ``force``;
``retry_failed`` also re-runs stored points whose status is ``error`` or ``timeout``.  Progress
(``[i/N] status elapsed description``, and a bar with an ETA on a terminal) goes to
``progress`` (stderr by default); stdout is never written. One sweep writes a file at a time
(a ``.lock`` file beside it).
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from pathlib import Path
from typing import IO, Iterable, Optional

from ..records import (
    ResultsError,
    append_record,
    ensure_appendable,
    iter_records,
    staleness,
    stored_keys,
)
from ..records.machine import git_info, machine_info, new_run_id
from . import sweep_plan as plan
from .config import PointConfig
from .sweep_plan import Stopped, SweepError  # noqa: F401  (this module's errors)
from .worker import DEFAULT_TIMEOUT_S, run_point_isolated

#: where the points run: ``local`` (one after another in subprocesses of this process) or
#: ``ray`` (Ray tasks, :mod:`rtrl_moe.bench.executors`)
EXECUTORS = ("local", "ray")


def _reusable(records, commit: str, machine_id: str, dirty: bool) -> dict:
    """The resume rule: a stored point is skipped when it was measured on this machine from a
    clean work tree, and either on this commit (the tree clean now) or, on any commit, with
    behaviour versions that are all today's (``rtrl_moe.records.staleness``: a refactor since
    keeps it). A record measured with uncommitted changes is never reused: nothing says which
    code it measured."""
    clean = [r for r in records if r.get("dirty") is not True]
    found = stored_keys(clean, commit=commit, machine_id=machine_id)
    if found and dirty:
        raise SweepError(f"the work tree has uncommitted changes, and {len(found)} point(s) are "
                         f"stored for its commit {commit[:12]}: they cannot tell whether they "
                         "measured this code. Commit first, or pass --rerun-if-dirty to run "
                         "every point again (or --force)")
    for r in clean:
        if r.get("point_key") and r.get("versions") and r.get("point_key") not in found \
                and r.get("machine", {}).get("machine_id") == machine_id \
                and staleness(r)[0] is False:
            found[r["point_key"]] = r["status"]
    return found


@contextlib.contextmanager
def _lock(out: Path):
    """One writer per results file: a second sweep on the same file fails at once."""
    lock = out.with_name(out.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise SweepError(f"another sweep (pid {other}) is writing {out}; wait for it or "
                             "write to another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
        os.unlink(lock)
    finally:
        os.close(fd)


def run_sweep(points: Iterable[PointConfig], out, *, force: bool = False,
              retry_failed: bool = False, timeout_s: Optional[float] = None,
              progress: Optional[IO[str]] = None, env: Optional[dict] = None,
              run_id: Optional[str] = None, rerun_if_dirty: bool = False,
              executor: str = "local", address: Optional[str] = None,
              max_parallel: Optional[int] = None, pair_by: str = "label-seed") -> dict:
    """Run ``points``; returns ``{"run_id", "out", "ran", "skipped", "statuses": {...}}``.

    ``timeout_s`` overrides every point's own ``timeout_s`` (default
    :data:`~rtrl_moe.bench.worker.DEFAULT_TIMEOUT_S`). Raises :class:`SweepError` before any
    work when the file is another sweep's or resuming would break the rule of
    :func:`_reusable`; Ctrl-C and SIGTERM stop the running worker and raise
    ``KeyboardInterrupt``, with every finished point stored.

    ``executor="ray"`` runs the points as Ray tasks (:mod:`rtrl_moe.bench.executors`: the
    cluster at ``address``, else a local instance; at most ``max_parallel`` tasks at once;
    ``pair_by`` keeps speed pairs on one node); this process still writes every record.
    """
    if executor not in EXECUTORS:
        raise SweepError(f"unknown executor {executor!r}; expected one of {', '.join(EXECUTORS)}")
    if executor == "local" and (address is not None or max_parallel is not None):
        raise SweepError("address and max_parallel need executor 'ray'")
    progress = progress if progress is not None else sys.stderr
    points = list(points)
    out = ensure_appendable(out)
    run_id = run_id or new_run_id()
    g = git_info()
    mach = machine_info()
    if executor == "ray":
        from .executors import ray_sweep
        with _lock(out):
            return ray_sweep(points, out, read_stored=lambda machine_ids: _stored(
                out, force, rerun_if_dirty, g, machine_ids), retry_failed=retry_failed,
                timeout_s=timeout_s, progress=progress, env=env, run_id=run_id, git=g,
                machine=mach, address=address, max_parallel=max_parallel, pair_by=pair_by)
    with _lock(out), plan.sigterm_stops():
        stored = _stored(out, force, rerun_if_dirty, g, [mach["machine_id"]])
        return _run(points, out, stored, retry_failed, timeout_s, progress, env, run_id, g,
                    mach)


def _stored(out, force, rerun_if_dirty, g, machine_ids) -> dict:
    """The points to skip: :func:`_reusable` for each machine that may run a point (this one;
    under Ray every node of the cluster)."""
    try:
        records = [] if force else [rec for _, rec in iter_records(out)]
    except ResultsError as e:
        raise ResultsError(e.path, e.line, e.reason + " (cannot resume from this file: fix "
                           "or move it, or write to another --out)") from None
    if rerun_if_dirty and g.get("dirty"):
        records = []
    found: dict = {}
    for mid in machine_ids:
        found.update(_reusable(records, g["commit"], mid, bool(g.get("dirty"))))
    return found


def _run(points, out, stored, retry_failed, timeout_s, progress, env, run_id, g, mach) -> dict:
    summary = {"run_id": run_id, "out": str(out), "ran": 0, "skipped": 0, "statuses": {}}
    n = len(points)
    t_sweep = time.perf_counter()
    bar = plan.Progress(progress, n)
    plan.start_line(bar, run_id, n, out, g, mach)
    try:
        for i, cfg, why in plan.plan(points, stored, retry_failed):
            if why is None:
                _one(i, n, cfg, out, summary, timeout_s, bar, env, run_id, g, mach, t_sweep)
            else:
                bar.line(f"[{i}/{n}] {why}: {cfg.short()}")
                summary["skipped"] += 1
            bar.advance()
    finally:
        bar.close()
    plan.done_line(progress, run_id, summary, t_sweep)
    return summary


def _one(i, n, cfg, out, summary, timeout_s, bar, env, run_id, g, mach, t_sweep) -> None:
    tmo = timeout_s if timeout_s is not None else (cfg.timeout_s or DEFAULT_TIMEOUT_S)
    bar.line(f"[{i}/{n}] running (timeout {tmo:g}s) {cfg.label or '-'}: {cfg.short()}")
    t0 = time.perf_counter()
    rec = run_point_isolated(cfg, timeout_s=tmo, run_id=run_id, env=env, git=g, machine=mach)
    append_record(out, rec)
    dt = time.perf_counter() - t0
    plan.count(summary, rec)
    msg = f" -- {rec['message'][:160]}" if rec.get("message") else ""
    bar.line(f"[{i}/{n}] {rec['status']:7s} {dt:7.1f}s (total {time.perf_counter() - t_sweep:.0f}s)"
             f" {cfg.short()}{msg}")


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
