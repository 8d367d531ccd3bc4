"""The JSONL store of results records: build, append (atomic per record), read.

Schema (docs/RESULTS.md, version :data:`SCHEMA_VERSION`)::

    {"schema": 1, "run_id", "commit", "dirty", "created", "machine": {...},
     "config": {...}, "status": "ok"|"oom"|"timeout"|"error"|"skipped",
     "message", "metrics": {...}}

plus fields this harness adds: ``point_key`` (identity of the point, see
:meth:`PointConfig.key`), ``wall_s`` (seconds the point took, subprocess start included) and
``timeout_s``.

Writing: :func:`append_record` writes one line with one ``write`` under an exclusive
``flock``, then ``fsync``; non-finite floats are stored as ``null``.

Reading: :func:`load_results` (``path_or_dir`` -> :class:`pandas.DataFrame`) reads a file or
every ``*.jsonl`` under a directory (recursively, sorted).  One row per record; columns
``schema``, ``run_id``, ``commit``, ``dirty``, ``created``, ``status``, ``message``,
``point_key``, ``machine.<k>``, ``config.<k>`` (``config.model`` is kept as a dict and also
flattened as ``config.model.<k>``), ``metrics.<k>`` (lists and dicts kept as objects),
``record`` (the raw dict), ``source_file`` and ``source_line``.  A line that is not JSON, not
an object, of an unknown schema or that fails ``record.schema.json`` raises
:class:`ResultsError` naming the file and line; whitespace-only lines carry no data and are
skipped; a partial last line (no newline, a writer stopped mid-line) is skipped with a
:class:`ResultsWarning` and listed in ``df.attrs["partial_lines"]``.  An empty
directory gives an empty frame with the columns.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Union

from .schema import (
    BASE_COLUMNS,
    SCHEMA_VERSION,
    STATUSES,
    ResultsError,
    sanitize,
    validate_record,
)


# -- building and writing ----------------------------------------------------------------------
def make_record(*, config: dict, status: str, metrics: Optional[dict] = None,
                message: Optional[str] = None, run_id: Optional[str] = None,
                machine: Optional[dict] = None, git: Optional[dict] = None,
                units: Iterable[str] = (), **extra: Any) -> dict:
    """One record. ``versions`` (``rtrl_moe/records/versions.py``) is stamped with today's
    version of every unit the config's standard fields name (the bench's kinds) plus ``units``
    (the writer's own: a protocol piece's, a long-range point's); a unit nobody declares is
    stored as ``null``, so the record is stale rather than lost or silently fresh. A
    ``versions=`` given in ``extra`` is stored as given."""
    from .machine import git_info, machine_info, new_run_id, utc_now
    from .provenance import code_fingerprints
    from .versions import current_versions, units_of
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    g = git if git is not None else git_info()
    rec = {
        "schema": SCHEMA_VERSION,
        "run_id": run_id or new_run_id(),
        "commit": g.get("commit", "unknown"),
        "dirty": g.get("dirty"),
        "created": utc_now(),
        "machine": machine if machine is not None else machine_info(),
        "config": config,
        "status": status,
        "message": message if status != "ok" else None,
        "metrics": metrics or {},
        "code": code_fingerprints(),   # which source it measured (records/provenance.py)
    }
    names = sorted(set(units_of(config)) | set(units))
    if names:
        cur = current_versions()
        rec["versions"] = {u: cur.get(u) for u in names}
    rec.update(extra)
    return sanitize(rec)


def dumps_record(record: dict) -> str:
    return json.dumps(sanitize(record), sort_keys=False, allow_nan=False, separators=(",", ":"))


def ensure_appendable(path: Union[str, Path]) -> Path:
    """Check, before any work, that records can be appended to ``path`` (its folder is made);
    raises :class:`ResultsError` naming the path and why not."""
    path = Path(path)
    if path.is_dir():
        raise ResultsError(path, None, "is a directory, not a results file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab"):
            pass
    except OSError as e:
        raise ResultsError(path, None, f"cannot append records here: {e.strerror or e}") from None
    return path


class ResultsWarning(UserWarning):
    """Data a reader or writer set aside rather than lose or misread (a partial last line)."""


def append_record(path: Union[str, Path], record: dict) -> None:
    """Append one record as one line: a single ``write`` under ``flock``, then ``fsync``.

    All or nothing: when the write fails part-way (disk full, file-size limit), the file is cut
    back to its previous length and the error is raised, so no partial line is left behind. A
    partial last line left by someone else (a writer killed mid-line) is moved to
    ``<file>.partial`` with a warning before our line goes in, so it is kept, named and never
    glued to our record nor left in the middle of the file."""
    validate_record(record, path, None)
    line = (dumps_record(record) + "\n").encode()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        try:
            import fcntl
            fcntl.flock(fd, fcntl.LOCK_EX)
        except (ImportError, OSError):
            pass
        size = _set_aside_partial_tail(fd, path)
        try:
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(f"short write to {path}: {written} of {len(line)} bytes")
            os.fsync(fd)
        except BaseException:
            os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)


def _set_aside_partial_tail(fd: int, path: Path) -> int:
    """Cut a last line that lacks its newline off the file (saved to ``<file>.partial``);
    returns the file's length after."""
    size = os.fstat(fd).st_size
    if not size:
        return 0
    tail = b""
    pos = size
    while pos > 0:
        step = min(65536, pos)
        pos -= step
        chunk = os.pread(fd, step, pos)
        tail = chunk + tail
        if tail[-1:] == b"\n":
            return size
        nl = tail.rfind(b"\n")
        if nl >= 0:
            tail = tail[nl + 1:]
            pos += nl + 1
            break
    import warnings
    side = path.with_name(path.name + ".partial")
    with open(side, "ab") as f:
        f.write(tail + b"\n")
    os.ftruncate(fd, pos)
    warnings.warn(f"{path}: a partial last line ({len(tail)} bytes, no newline) was moved to "
                  f"{side} before appending", ResultsWarning, stacklevel=3)
    return pos


# -- reading --------------------------------------------------------------------------------
def iter_records(path: Union[str, Path],
                 partial: Optional[list] = None) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, record)`` for one file; raise :class:`ResultsError` on bad data.

    A last line without its newline that does not parse is what a writer killed mid-line
    leaves: it is skipped, never silently -- a :class:`ResultsWarning` names it, and
    ``"file:line"`` is appended to ``partial`` when given. Any other bad line is an error."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ResultsError(path, None, f"cannot read: {e}") from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if b"\n" not in raw[e.start:] and not raw.endswith(b"\n"):
            text = raw[:raw.rfind(b"\n") + 1].decode("utf-8", "replace") + "\ufffd"
        else:
            raise ResultsError(path, raw[:e.start].count(b"\n") + 1, "not UTF-8 text") from e
    lines = text.split("\n")
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            if i == len(lines):   # the last line, and it has no newline
                import warnings
                where = f"{path}:{i}"
                warnings.warn(f"{where}: skipped a partial last line ({len(line)} characters, "
                              "no newline: a writer stopped mid-line)", ResultsWarning,
                              stacklevel=2)
                if partial is not None:
                    partial.append(where)
                return
            raise ResultsError(path, i, f"malformed JSON ({e.msg} at column {e.colno})") from e
        yield i, validate_record(rec, path, i)


def result_files(path_or_dir: Union[str, Path]) -> list[Path]:
    p = Path(path_or_dir)
    if p.is_dir():
        return sorted(q for q in p.rglob("*.jsonl") if q.is_file())
    if p.is_file():
        return [p]
    raise ResultsError(p, None, "no such file or directory")


def read_records(path_or_dir: Union[str, Path], partial: Optional[list] = None) -> list[dict]:
    """All records (raw dicts) of a file or directory, in file and line order."""
    return [rec for f in result_files(path_or_dir) for _, rec in iter_records(f, partial)]


def _flatten(rec: dict, path: Path, line: int) -> dict:
    row: dict = {k: rec.get(k) for k in ("schema", "run_id", "commit", "dirty", "created",
                                         "status", "message", "point_key", "wall_s")}
    for k, v in rec["machine"].items():
        row[f"machine.{k}"] = v
    for k, v in rec["config"].items():
        row[f"config.{k}"] = v
    if isinstance(rec["config"].get("model"), dict):
        for k, v in rec["config"]["model"].items():
            row[f"config.model.{k}"] = v
    for k, v in rec["metrics"].items():
        row[f"metrics.{k}"] = v
    row["record"] = rec
    row["source_file"] = str(path)
    row["source_line"] = line
    return row


def load_results(path_or_dir: Union[str, Path]):
    """Read results into a :class:`pandas.DataFrame` (one row per record, see module doc)."""
    import pandas as pd
    partial: list = []
    rows = [_flatten(rec, f, i) for f in result_files(path_or_dir)
            for i, rec in iter_records(f, partial)]
    extra: list = []
    for r in rows:
        for k in r:
            if k not in BASE_COLUMNS and k not in extra:
                extra.append(k)
    columns = list(BASE_COLUMNS) + extra
    if not rows:
        df = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    else:
        df = pd.DataFrame.from_records(rows, columns=columns)
    df.attrs["partial_lines"] = partial   # "file:line" of skipped partial last lines
    return df


def stored_keys(records: Iterable[dict], *, commit: str, machine_id: str) -> dict:
    """``{point_key: status}`` of the records stored for this commit and machine (what a resumed
    sweep skips; the status lets it retry failed ones)."""
    out: dict = {}
    for r in records:
        if r.get("commit") == commit and r.get("machine", {}).get("machine_id") == machine_id \
                and r.get("point_key"):
            out[r["point_key"]] = r["status"]
    return out
