"""Which code a record measured: fingerprints of the source files behind each part.

A record is stale when the code it measures changed after it was measured. Commits cannot say
that on their own (most commits touch neither the learners nor the probes), so the bench writes
into every record a short hash of the source of each part it depends on, and the report
compares it with the same hash of the code it is rendered beside. The files are read as bytes,
never imported, so the report stays a reader of records.

Parts: ``library`` (the cell, the learners, the tasks: what is measured) and ``harness`` (the
kinds, probes and timing: how it is measured).
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Optional

PACKAGE = Path(__file__).resolve().parents[1]
PARTS = {
    "library": ("moe.py", "rnn.py", "tree.py", "tasks.py", "flops.py", "learners"),
    "harness": ("bench/kinds", "bench/probes", "bench/timing.py", "bench/budget.py",
                "bench/spec.py", "build.py"),
}


def _files(root: Path, entries) -> list[Path]:
    out: list[Path] = []
    for e in entries:
        p = root / e
        if p.is_dir():
            out += sorted(q for q in p.rglob("*.py") if "__pycache__" not in q.parts)
        elif p.is_file():
            out.append(p)
    return out


def code_fingerprints(root: Optional[str] = None) -> dict:
    """``{part: 12-hex}`` of the source under ``root`` (default: this installed package, read
    once per process)."""
    return _fingerprints(str(PACKAGE)) if root is None else _fingerprints.__wrapped__(root)


@lru_cache(maxsize=1)
def _fingerprints(root: str) -> dict:
    base = Path(root)
    out = {}
    for part, entries in PARTS.items():
        h = hashlib.sha1()
        for f in _files(base, entries):
            h.update(str(f.relative_to(base)).encode() + b"\0" + f.read_bytes() + b"\0")
        out[part] = h.hexdigest()[:12]
    return out


def stale_parts(record: dict, current: dict) -> Optional[list[str]]:
    """The parts whose code changed since ``record`` was measured; None when the record
    carries no fingerprint (measured before they were recorded: staleness unknown)."""
    code = record.get("code")
    if not isinstance(code, dict):
        return None
    return [p for p in sorted(current) if code.get(p) != current[p]]
