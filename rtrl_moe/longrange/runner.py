"""Run long-range points, each in its own fresh subprocess, into a results file (default
``local/longrange.jsonl``; the committed ``results/longrange-*.jsonl`` only when told, ``--out``).

One record per point (``rtrl_moe.records.make_record``, the conventions' format, with the
machine, the commit and the fingerprints of the files the point used): ``ok`` with the child's
metrics; ``skipped`` ("not run: ...", ``metrics.not_run`` says why: ``session``, the run's time
budget was spent); ``error`` (the child raised or died), ``oom`` (a MemoryError, or SIGKILL, the
kernel's OOM killer's signal) and ``timeout``. A failed point never stops the others. A point
stored ``ok`` for the same code fingerprint is not run again, so a stopped run resumes.
k* (``kstar``) is measured once per (model, constant-memory learner) and stored as its own
record (``config.arm == "kstar"``) before the points that need it.
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

from .protocol import MODELS, PROTOCOL, TIMEOUT_S, Point, split_label
from .versions import units_of_config

OWN_FILES = ("longrange/tasks.py", "longrange/protocol.py", "longrange/experiment.py",
             "longrange/kstar.py")
MODEL_FILES = {"lru": ("lru.py",), "rnn": ("rnn.py",), "moe": ("moe.py",)}


def library_files(point: Point) -> list[str]:
    """The model file, every module of the learner's class hierarchy and the learner modules
    they import (as ``rtrl_moe.bench.spec.code_of``), and this package's own files."""
    from rtrl_moe import learner_class
    from rtrl_moe.records.provenance import PACKAGE
    files = list(MODEL_FILES[MODELS[point.model].model_type])

    def add(module) -> None:
        f = getattr(module, "__file__", None)
        if f and Path(f).resolve().is_relative_to(PACKAGE):
            rel = str(Path(f).resolve().relative_to(PACKAGE))
            if rel not in files:
                files.append(rel)

    for cls in inspect.getmro(learner_class(split_label(point.learner)[0])):
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
    """``{point_key: record}``, the last record of each long-range point of this protocol."""
    if not out.is_file():
        return {}
    done = {}
    for r in read_records(out):
        c = r.get("config", {})
        if c.get("kind") == "longrange" and c.get("protocol") == PROTOCOL:
            done[r.get("point_key")] = r
    return done


def settled(rec: dict | None, code: dict) -> bool:
    """A stored record that a rerun of the same code would only repeat."""
    return (rec is not None and rec["status"] == "ok"
            and (rec.get("code") or {}).get("library") == code["library"])


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
            return "ok", json.loads(result.read_text()), None, wall
        err = (proc.stderr or "").strip()
        tail = " | ".join(err.splitlines()[-5:])
        if proc.returncode == -9 or "MemoryError" in err or "out of memory" in err.lower():
            how = ("killed by SIGKILL (the kernel's OOM killer's signal)" if proc.returncode == -9
                   else "out of memory")
            return "oom", {}, f"{how}: {tail}", wall
        how = (f"killed by signal {-proc.returncode}" if proc.returncode < 0
               else f"exit status {proc.returncode}")
        return "error", {}, f"{how}: {tail}", wall


def record(point: Point, status, metrics, message=None, **extra) -> dict:
    cfg = point.config()
    return make_record(config=cfg, status=status, metrics=metrics, message=message,
                       point_key=point.key, code=fingerprint(point), units=units_of_config(cfg), **extra)


def kstar_key(model: str, learner: str) -> str:
    return f"longrange|kstar|{model}/{learner}"


def stored_kstar(out: Path) -> dict:
    """``{(model, learner): k}`` from the k* records in ``out``."""
    ks = {}
    for key, r in latest(Path(out)).items():
        c = r["config"]
        if c.get("arm") == "kstar" and r["status"] == "ok" and r["metrics"].get("kstar"):
            ks[(c["model_name"], c["learner_label"])] = int(r["metrics"]["kstar"])
    return ks


def ensure_kstar(models, out, log=print) -> dict:
    """Measure (in this process: tensor bytes are deterministic) and store the k* of every
    constant-memory learner of ``models`` not stored yet; returns them all."""
    from . import kstar
    out = Path(out)
    have = stored_kstar(out)
    for m in models:
        for lab in MODELS[m].constant_memory:
            if (m, lab) in have:
                continue
            p = Point(m, lab, kstar.DELAY, 0, updates=1, role="kstar")
            t0 = time.perf_counter()
            metrics = kstar.measure(m, lab)
            cfg = {**p.config(), "arm": "kstar", "windows": list(kstar.WINDOWS)}
            rec = make_record(config=cfg, status="ok", metrics=metrics, message=None,
                              point_key=kstar_key(m, lab), code=fingerprint(p), units=units_of_config(cfg),
                              wall_s=round(time.perf_counter() - t0, 3))
            append_record(out, rec)
            have[(m, lab)] = metrics["kstar"]
            log(f"k*      {m}/{lab}: k* = {metrics['kstar']} ({metrics['learner_bytes']} B; "
                f"tbptt {metrics['bytes_per_window_step']:.0f} B a step of window)")
    return have


def run(points, out, timeout_s: float = TIMEOUT_S, budget_s: float | None = None,
        child=run_child, log=print, rerun: bool = False) -> list[dict]:
    """Run every point not already settled in ``out``; append a record per point.
    ``budget_s``: once this much wall time is spent, the remaining points are stored as not
    run (``session``). ``rerun``: run them again even where a record settles them."""
    out = ensure_appendable(out)
    done = {} if rerun else latest(out)
    written: list[dict] = []
    t_start = time.perf_counter()
    ran_s: list = []
    for i, point in enumerate(points):
        code = fingerprint(point)
        if settled(done.get(point.key), code):
            log(f"skip    {point.key} (stored, same code)")
            continue
        if budget_s is not None and time.perf_counter() - t_start > budget_s:
            rec = record(point, "skipped", {"not_run": "session"},
                         f"not run: the run's time budget ({budget_s:.0f} s) was spent")
            append_record(out, rec)
            written.append(rec)
            log(f"skipped {point.key} (session budget)")
            continue
        status, metrics, message, wall = child(point, timeout_s)
        rec = record(point, status, metrics, message, wall_s=round(wall, 3),
                     timeout_s=timeout_s)
        append_record(out, rec)
        written.append(rec)
        ran_s.append(wall)
        acc = metrics.get("heldout_accuracy")
        left = len(points) - i - 1
        eta = sum(ran_s) / len(ran_s) * left
        log(f"{status:7s} {point.key} {wall:.1f}s"
            + (f" acc={acc:.3f}" if isinstance(acc, float) else "")
            + (f" ({message})" if message else "")
            + f"  [{left} left, ETA ~{eta / 60:.0f} min at this mean]", )
    return written
