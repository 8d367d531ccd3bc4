"""Run a list of points, each in a fresh subprocess, appending records as they finish.

:func:`run_sweep` skips points already stored in ``out`` for the same commit and machine
(``resume``, the default, under the rule of :func:`_reusable`) unless ``force``;
``retry_failed`` also re-runs stored points whose status is ``error`` or ``timeout``.  Progress
(``[i/N] status elapsed description``, and a bar with an ETA on a terminal) goes to
``progress`` (stderr by default; :mod:`.progress`, whose ETA weighs each point by its recorded
``wall_s`` in ``out`` and the ``reference`` files); stdout is never written. One sweep writes a file at a time
(a ``.lock`` file beside it).
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import IO, Iterable, Optional

from ..records import ResultsError, append_record, ensure_appendable, iter_records, stored_keys
from ..records.machine import git_info, machine_info, new_run_id
from .config import PointConfig
from .progress import Progress as _Progress
from .progress import recorded_seconds, weights_for
from .worker import DEFAULT_TIMEOUT_S, run_point_isolated

#: where the points run: ``local`` (one after another in subprocesses of this process) or
#: ``ray`` (Ray tasks, :mod:`rtrl_moe.bench.executors`)
EXECUTORS = ("local", "ray")


class SweepError(RuntimeError):
    """A sweep that must not start (its file is locked by another sweep, or resuming would
    reuse records that cannot tell which code they measured)."""


class Stopped(KeyboardInterrupt):
    """SIGTERM of the sweep, raised like Ctrl-C so that the running worker is stopped."""


def _reusable(records, commit: str, machine_id: str, dirty: bool) -> dict:
    """The resume rule: a stored point is skipped when it was measured on this commit and
    machine from a clean work tree, and the tree is clean now. A record measured with
    uncommitted changes is never reused: nothing says which code it measured."""
    clean = [r for r in records if r.get("dirty") is not True]
    found = stored_keys(clean, commit=commit, machine_id=machine_id)
    if found and dirty:
        raise SweepError(f"the work tree has uncommitted changes, and {len(found)} point(s) are "
                         f"stored for its commit {commit[:12]}: they cannot tell whether they "
                         "measured this code. Commit first, or pass --rerun-if-dirty to run "
                         "every point again (or --force)")
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


@contextlib.contextmanager
def _sigterm_stops():
    def stop(signum, frame):
        raise Stopped()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run_sweep(points: Iterable[PointConfig], out, *, force: bool = False,
              retry_failed: bool = False, timeout_s: Optional[float] = None,
              progress: Optional[IO[str]] = None, env: Optional[dict] = None,
              run_id: Optional[str] = None, rerun_if_dirty: bool = False,
              executor: str = "local", address: Optional[str] = None,
              max_parallel: Optional[int] = None, pair_by: str = "label-seed",
              reference: Iterable = ()) -> dict:
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
    with _lock(out), _sigterm_stops():
        stored = _stored(out, force, rerun_if_dirty, g, [mach["machine_id"]])
        return _run(points, out, stored, retry_failed, timeout_s, progress, env, run_id, g,
                    mach, reference)


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


def _plan(points, stored, retry_failed) -> list:
    """``(i, cfg, why_skipped or None)`` for each point in list order: a duplicate in the list
    or a point stored under the resume rule is skipped (shared by every executor)."""
    seen_keys: set = set()
    plan = []
    for i, cfg in enumerate(points, start=1):
        key = cfg.key()
        prev = stored.get(key)
        if key in seen_keys:
            why = "duplicate point in the list, skipped"
        elif prev is not None and not (retry_failed and prev in ("error", "timeout")):
            why = f"stored ({prev}), skipped"
        else:
            why = None
        seen_keys.add(key)
        plan.append((i, cfg, why))
    return plan


def _start_line(bar, run_id, n, out, g, mach) -> None:
    bar.line(f"sweep {run_id}: {n} points -> {out} (commit {g['commit'][:12]}"
             f"{' dirty' if g.get('dirty') else ''}, machine {mach['machine_id']})")


def _done_line(progress, run_id, summary, t_sweep) -> None:
    print(f"sweep {run_id} done: ran {summary['ran']}, skipped {summary['skipped']}, "
          f"statuses {summary['statuses']}, {time.perf_counter() - t_sweep:.0f}s",
          file=progress, flush=True)


def _count(summary, rec) -> None:
    summary["ran"] += 1
    summary["statuses"][rec["status"]] = summary["statuses"].get(rec["status"], 0) + 1


def _run(points, out, stored, retry_failed, timeout_s, progress, env, run_id, g, mach,
         reference=()) -> dict:
    summary = {"run_id": run_id, "out": str(out), "ran": 0, "skipped": 0, "statuses": {}}
    n = len(points)
    t_sweep = time.perf_counter()
    plan = _plan(points, stored, retry_failed)
    todo = [cfg for _, cfg, why in plan if why is None]
    recorded = recorded_seconds([*reference, out], {c.key() for c in todo})
    # skipped points weigh nothing: the ETA is the time of the points still to run; the seeds
    # of one config are one group (a pair's later seeds take what its first took here)
    weights = [w if why is None else 0.0
               for (_, _, why), w in zip(plan, weights_for(points, recorded))]
    bar = _Progress(progress, n, weights, known=[c.key() in recorded for c in points],
                    groups=[c.replace(seed=0).key() for c in points])
    _start_line(bar, run_id, n, out, g, mach)
    if todo:
        est = bar.estimate()
        bar.line(f"{len(todo)} to run" + (f", about {est} by the recorded wall times of "
                                          f"{sum(c.key() in recorded for c in todo)} of them"
                                          if est and recorded else ""))
    try:
        for i, cfg, why in plan:
            if why is None:
                _one(i, n, cfg, out, summary, timeout_s, bar, env, run_id, g, mach, t_sweep)
            else:
                bar.line(f"[{i}/{n}] {why}: {cfg.short()}")
                summary["skipped"] += 1
            bar.advance(skipped=why is not None)
    finally:
        bar.close()
    _done_line(progress, run_id, summary, t_sweep)
    return summary


def _one(i, n, cfg, out, summary, timeout_s, bar, env, run_id, g, mach, t_sweep) -> None:
    tmo = timeout_s if timeout_s is not None else (cfg.timeout_s or DEFAULT_TIMEOUT_S)
    bar.line(f"[{i}/{n}] running ({bar.eta()}, timeout {tmo:g}s) {cfg.label or '-'}: "
             f"{cfg.short()}")
    t0 = time.perf_counter()
    rec = run_point_isolated(cfg, timeout_s=tmo, run_id=run_id, env=env, git=g, machine=mach)
    append_record(out, rec)
    dt = time.perf_counter() - t0
    _count(summary, rec)
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
