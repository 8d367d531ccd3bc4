"""The one place ponderttt touches the bench harness: machine/commit/run identity, and the
append of one results record (docs/RESULTS.md, schema 1).

The machine functions live in ``rtrl_moe.records.machine`` (newer layout) or
``rtrl_moe.bench.machine`` (older); whichever this checkout has is used.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

try:
    from rtrl_moe.records.machine import git_info, machine_info, new_run_id, utc_now
except ImportError:  # layout before rtrl_moe.records
    from rtrl_moe.bench.machine import git_info, machine_info, new_run_id, utc_now
try:  # the readers' own check of a record (docs/RESULTS.md); None where this checkout lacks it
    from rtrl_moe.records.schema import validate_record
except ImportError:
    validate_record = None

__all__ = ["append_record", "git_info", "machine_info", "new_run_id", "utc_now", "SCHEMA",
           "validate_record"]

SCHEMA = 1


def append_record(path: str | os.PathLike, record: dict) -> Path:
    """Append one record as one line: a single ``write`` on an O_APPEND descriptor, then
    fsync, so concurrent writers never interleave and a crash leaves whole lines only."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, sort_keys=False, allow_nan=False) + "\n").encode()
    fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    return p
