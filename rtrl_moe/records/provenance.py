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
#: the model and task files every learner's record depends on
MODEL_FILES = ("moe.py", "rnn.py", "tree.py", "tasks.py", "flops.py")
PARTS = {
    "library": MODEL_FILES + ("learners",),
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


def _hash(root: Path, entries) -> str:
    h = hashlib.sha1()
    for f in _files(root, entries):
        h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def code_fingerprints(root: Optional[str] = None, library_files=None) -> dict:
    """``{part: 12-hex}`` of the source under ``root`` (default: this installed package).

    ``library_files``: the files one record's learner really depends on (the model files and
    its class's modules, ``rtrl_moe.bench.spec.code_of``); they are stored in the record as
    ``library_files`` so that a change to another learner does not make it stale."""
    base = Path(root) if root else PACKAGE
    # the installed package is read once per process; an explicit root (tests) every time
    out = dict(_parts(str(base)) if root is None else _parts.__wrapped__(str(base)))
    if library_files is not None:
        out["library"] = _hash(base, tuple(library_files))
        out["library_files"] = list(library_files)
    return out


@lru_cache(maxsize=4)
def _parts(root: str) -> tuple:
    base = Path(root)
    return tuple((part, _hash(base, entries)) for part, entries in PARTS.items())


def stale_parts(record: dict, current: Optional[dict] = None,
                root: Optional[str] = None) -> Optional[list[str]]:
    """The parts whose code changed since ``record`` was measured; None when the record
    carries no fingerprint (measured before they were recorded: staleness unknown). The
    current hashes are recomputed over the record's own ``library_files`` where it lists them
    (so ``current``, the whole package's hashes, is used only for records without that list).
    """
    code = record.get("code")
    if not isinstance(code, dict):
        return None
    mine = code_fingerprints(root, code.get("library_files"))
    if current is not None and not code.get("library_files"):
        mine = current                     # a record over the whole library: compare as given
    return [p for p in sorted(PARTS) if code.get(p) != mine.get(p)]
