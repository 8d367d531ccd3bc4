"""Run protocol points, each in its own fresh subprocess, into a results file.

A point is (piece, seed, args, arch). The parent writes one record per point in the
conventions' format (``rtrl_moe.records.make_record``): ``status`` ``ok`` with the child's
metrics, ``error`` (the child raised, or died: its exit status and the tail of its stderr),
``timeout``; a failed point never stops the others. A point already stored with status ``ok``
for the same key and the same code fingerprint (the files the piece depends on) is skipped, so
a stopped run resumes where it was.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rtrl_moe.records import (
    append_record,
    code_fingerprints,
    ensure_appendable,
    make_record,
    staleness,
)
from rtrl_moe.records.store import read_records

from .registry import Piece, piece


def point_args(p: Piece, overrides: dict | None = None) -> dict:
    return {**p.args, **(overrides or {})}


def point_key(name: str, seed: int, args: dict, arch: str) -> str:
    blob = json.dumps({"args": args, "arch": arch}, sort_keys=True)
    return f"protocol-{name}|seed={seed}|{hashlib.sha1(blob.encode()).hexdigest()[:10]}"


def point_config(p: Piece, seed: int, args: dict, arch: str) -> dict:
    return {"kind": "protocol", "label": f"protocol-{p.name}", "protocol": p.name,
            "seed": seed, "arch": arch, "model_type": p.model_type_of(arch), "model": dict(p.model),
            "args": args, "steps": args.get("steps"), "lr": args.get("lr"),
            "script": p.script, "script_repo": "jmCabrillana/rtrl_moe", "script_commit": p.commit,
            "reduced": p.reduced, "device": "cpu", "dtype": "float32", "batch": 1, "threads": 1}


def fingerprint(p: Piece, arch: str) -> dict:
    return code_fingerprints(library_files=p.library_files(arch))


def stored_ok(out: Path) -> set:
    """The point keys of the fresh ok protocol records already in ``out`` (fresh: every
    behaviour version they measured is today's, ``rtrl_moe.records.staleness``)."""
    if not out.is_file():
        return set()
    return {r.get("point_key") for r in read_records(out)
            if r.get("config", {}).get("kind") == "protocol" and r.get("status") == "ok"
            and staleness(r)[0] is False}


def run_child(name: str, seed: int, args: dict, arch: str, timeout_s: float) -> tuple:
    """``(status, metrics, message, wall_s)`` of one point run in a fresh interpreter."""
    with tempfile.TemporaryDirectory(prefix="protocol-") as tmp:
        result = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "rtrl_moe.protocols", "point", "--piece", name,
               "--seed", str(seed), "--arch", arch, "--args", json.dumps(args),
               "--result", str(result)]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
        except subprocess.TimeoutExpired:
            return "timeout", {}, f"ran past {timeout_s:.0f} s", time.perf_counter() - t0
        wall = time.perf_counter() - t0
        if proc.returncode == 0 and result.is_file():
            return "ok", json.loads(result.read_text()), None, wall
        tail = (proc.stderr or "").strip().splitlines()[-5:]
        how = (f"killed by signal {-proc.returncode}" if proc.returncode < 0
               else f"exit status {proc.returncode}")
        return "error", {}, f"{how}: " + " | ".join(tail), wall


def run(names, seeds, out, arch: str, overrides: dict | None = None,
        timeout_s: float | None = None, log=print) -> list[dict]:
    """Run every (piece, seed) not already stored; append a record per point; return them."""
    out = ensure_appendable(out)
    done = stored_ok(out)
    written = []
    for name in names:
        p = piece(name)
        args = point_args(p, overrides)
        code = fingerprint(p, arch)
        for seed in seeds:
            key = point_key(name, seed, args, arch)
            if key in done:
                log(f"skip {key} (stored, same behaviour versions)")
                continue
            limit = timeout_s or p.timeout_s
            status, metrics, message, wall = run_child(name, seed, args, arch, limit)
            rec = make_record(config=point_config(p, seed, args, arch), status=status,
                              metrics=metrics, message=message, point_key=key,
                              wall_s=round(wall, 3), timeout_s=limit, code=code,
                              units=p.units_for(arch))
            append_record(out, rec)
            written.append(rec)
            log(f"{status:7s} {key} {wall:.1f}s" + (f" ({message})" if message else ""))
    return written
