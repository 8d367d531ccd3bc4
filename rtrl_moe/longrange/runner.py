"""Run `longrange` points, each in its own fresh subprocess, into ``results/longrange.jsonl``.

One record per point (``rtrl_moe.records.make_record``, the conventions' format, with the
machine, the commit and the fingerprints of the files the point used): ``ok`` with the
child's metrics; ``skipped`` for a point not run (``metrics.not_run`` says why: ``budget``,
over the per-point time cap, measured by its own calibration or estimated from the first point
of its learner; ``waiting``, the lead's final learner code was not there; ``session``, the
run's total time budget was spent), its message "not run: ..."; ``error`` (the child raised or
died), ``oom`` (a MemoryError, or killed by SIGKILL, the kernel's OOM killer's signal) and
``timeout``. A failed point never stops the others. A point already stored as ``ok`` or as
over budget for the same code fingerprint is skipped, so a stopped run resumes where it was.
"""
from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rtrl_moe.records import append_record, code_fingerprints, ensure_appendable, make_record
from rtrl_moe.records.store import read_records

from .registry import LEARNERS_FINAL, POINT_CAP_S, TIMEOUT_S, Point, model_files

OWN_FILES = ("longrange/tasks.py", "longrange/registry.py", "longrange/experiment.py")
RESUMABLE = ("budget",)          # not_run reasons that a rerun would only repeat


def library_files(point: Point) -> list[str]:
    """The model file, every module of the learner's class hierarchy and the learner modules
    they import (as ``rtrl_moe.bench.spec.code_of``), and this package's own files."""
    from rtrl_moe import learner_class
    from rtrl_moe.records.provenance import PACKAGE
    files = list(model_files(point.model))

    def add(module) -> None:
        f = getattr(module, "__file__", None)
        if f and Path(f).resolve().is_relative_to(PACKAGE):
            rel = str(Path(f).resolve().relative_to(PACKAGE))
            if rel not in files:
                files.append(rel)

    for cls in inspect.getmro(learner_class(point.learner)):
        if cls is object:
            continue
        module = sys.modules[cls.__module__]
        add(module)
        for value in vars(module).values():
            owner = value if inspect.ismodule(value) else \
                sys.modules.get(getattr(value, "__module__", None) or "")
            if owner is not None and owner.__name__.startswith("rtrl_moe.learners"):
                add(owner)
    if point.learner == "lru-rtrl" and "lru.py" not in files:
        files.append("lru.py")
    return files + [f for f in OWN_FILES if f not in files]


def fingerprint(point: Point) -> dict:
    return code_fingerprints(library_files=library_files(point))


def latest(out: Path) -> dict:
    """``{point_key: record}``, the last record of each longrange point in ``out``."""
    if not out.is_file():
        return {}
    done = {}
    for r in read_records(out):
        if r.get("config", {}).get("kind") == "longrange":
            done[r.get("point_key")] = r
    return done


def settled(rec: dict | None, code: dict) -> bool:
    """A stored record that a rerun of the same code would only repeat."""
    if rec is None or (rec.get("code") or {}).get("library") != code["library"]:
        return False
    return rec["status"] == "ok" or (rec["status"] == "skipped"
                                     and rec["metrics"].get("not_run") in RESUMABLE)


def run_child(point: Point, timeout_s: float) -> tuple:
    """``(status, metrics, message, wall_s)`` of one point run in a fresh interpreter."""
    with tempfile.TemporaryDirectory(prefix="longrange-") as tmp:
        result = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "rtrl_moe.longrange", "point", "--point",
               json.dumps(point.to_dict()), "--result", str(result)]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
        except subprocess.TimeoutExpired:
            return "timeout", {}, f"ran past {timeout_s:.0f} s", time.perf_counter() - t0
        wall = time.perf_counter() - t0
        if proc.returncode == 0 and result.is_file():
            metrics = json.loads(result.read_text())
            if metrics.get("not_run"):
                return "skipped", metrics, metrics.pop("not_run_message"), wall
            return "ok", metrics, None, wall
        err = (proc.stderr or "").strip()
        tail = " | ".join(err.splitlines()[-5:])
        if proc.returncode == -9 or "MemoryError" in err or "out of memory" in err.lower():
            how = ("killed by SIGKILL (the kernel's OOM killer's signal)" if proc.returncode == -9
                   else "out of memory")
            return "oom", {}, f"{how}: {tail}", wall
        how = (f"killed by signal {-proc.returncode}" if proc.returncode < 0
               else f"exit status {proc.returncode}")
        return "error", {}, f"{how}: {tail}", wall


def _write(out, point, status, metrics, message, code, **extra) -> dict:
    rec = make_record(config=point.config(), status=status, metrics=metrics, message=message,
                      point_key=point.key, code=code, **extra)
    append_record(out, rec)
    return rec


def run(points, out, timeout_s: float = TIMEOUT_S, waiting: str = "skip",
        budget_s: float | None = None, final_flag: str = LEARNERS_FINAL, child=run_child,
        log=print, rerun: bool = False) -> list[dict]:
    """Run every point not already settled in ``out``; append a record per point.

    ``waiting``: what to do with a learner the lead is rewriting while ``final_flag`` does not
    exist: ``skip`` (leave it for a later run), ``record`` (store it as not run), ``run``.
    ``budget_s``: once this much wall time is spent, the remaining points are stored as not
    run (``session``) instead of started. ``rerun``: run the points again even where a record
    settles them (and measure each learner's cost afresh): the new record supersedes the old,
    which stays in the file."""
    if waiting not in ("skip", "record", "run"):
        raise ValueError(f"waiting must be skip, record or run, got {waiting!r}")
    out = ensure_appendable(out)
    done = {} if rerun else latest(out)
    over: dict = {}                    # family -> (estimate s, key) measured over the cap
    for r in done.values():
        m = r.get("metrics") or {}
        if m.get("not_run") == "budget" and not m.get("estimated_from"):
            fam = r["config"]["model_type"] + "/" + r["config"]["learner_label"]
            over[fam] = (m.get("est_train_s"), r["point_key"], (r.get("code") or {}).get("library"))
    written: list[dict] = []
    t_start = time.perf_counter()
    for point in points:
        code = fingerprint(point)
        if settled(done.get(point.key), code):
            log(f"skip    {point.key} (stored, same code)")
            continue
        if point.waits and waiting != "run" and not Path(final_flag).exists():
            if waiting == "skip":
                log(f"wait    {point.key} ({final_flag} does not exist yet)")
                continue
            written.append(_write(out, point, "skipped", {"not_run": "waiting"},
                                  f"not run: the lead's final learner code ({final_flag}) did "
                                  f"not exist when the preset ran", code))
            log(f"skipped {point.key} (waiting)")
            continue
        fam = over.get(point.family)
        if fam is not None and fam[2] == code["library"]:
            est, src, _ = fam
            written.append(_write(out, point, "skipped",
                                  {"not_run": "budget", "est_train_s": est,
                                   "estimated_from": src},
                                  f"not run: over the preset's time budget, est. {est:.0f} s "
                                  f"(cap {POINT_CAP_S:.0f} s per point; estimated from {src})",
                                  code))
            log(f"skipped {point.key} (over budget, from {src})")
            continue
        if budget_s is not None and time.perf_counter() - t_start > budget_s:
            written.append(_write(out, point, "skipped", {"not_run": "session"},
                                  f"not run: the run's total time budget ({budget_s:.0f} s) "
                                  f"was spent", code))
            log(f"skipped {point.key} (session budget)")
            continue
        status, metrics, message, wall = child(point, timeout_s)
        rec = _write(out, point, status, metrics, message, code, wall_s=round(wall, 3),
                     timeout_s=timeout_s)
        written.append(rec)
        if metrics.get("not_run") == "budget":
            over[point.family] = (metrics.get("est_train_s"), point.key, code["library"])
        acc = metrics.get("heldout_accuracy")
        log(f"{status:7s} {point.key} {wall:.1f}s"
            + (f" acc={acc:.3f}" if isinstance(acc, float) else "")
            + (f" ({message})" if message else ""))
    return written
