"""Behaviour versions: which version of each measured unit a record measured, and whether it is
still the version today.

A *unit* is something whose behaviour a record's numbers depend on: a model, a task, a learner,
a learner's timed path, a measurement kind or probe, a documented-experiment piece. Each unit
declares the version of what it computes once, beside its code (as asv's benchmark
``version``); a record stores ``{"versions": {unit: version}}``
for the units it measured, and it is stale when one of them changed. A refactor that leaves
every output bitwise equal keeps the versions (``tests/records/test_digests.py`` holds it to
that), so it keeps every record fresh; a change of behaviour bumps its unit's version and stales
exactly the records that measured it.

Unit names (``<family>.<name>``):

- ``learner.<name>``  the learner's gradient, FLOP count and tensor-byte accounting
- ``timing.<name>``   the learner's timed path (a faster path with equal outputs bumps this only)
- ``model.<type>``    ``moe``, ``rnn``, ``lru``, ``upstream-moe``, ``silu-norm-rnn``, ...
- ``task.<name>``     ``anbn``, ``haystack``, ``stream``
- ``kind.<kind>``     the bench's ``measure``, ``agree``, ``train``
- ``probe.<name>``    ``tensors``, ``rss`` (what a measure record's memory columns come from)
- ``protocol.<piece>`` a documented experiment re-run (``rtrl_moe.protocols``)
- ``longrange.*``, ``ponder.*``: declared by those packages in the same way.

Each unit declares its version in a ``VERSIONS = {unit: version}`` literal in the body of the
class or module that computes it (a learner: ``{"learner.sparse-rtrl": 1, "timing.sparse-rtrl":
1}``; a protocol module: one entry per piece it runs). Today's versions are read from the
source with ``ast`` (as ``provenance`` reads bytes), never by importing it: the records stay a
layer below the library, and the report, which calls :func:`staleness`, never needs torch.
Scanned: this package and the ``ponderttt`` package beside it (:data:`ROOTS`). A unit no
declaration names is "unknown today": a record naming one is stale, never silently fresh.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Optional

from .provenance import PACKAGE

#: source trees whose ``VERSIONS`` declarations are read
ROOTS = (PACKAGE, PACKAGE.parent / "ponderttt")
NAME = "VERSIONS"
#: a record's field holding what it measured
FIELD = "versions"
MEASURE_PROBES = ("probe.tensors", "probe.rss")


def declarations(root: Path) -> dict:
    """``{unit: (version, "file:line")}`` of every ``VERSIONS`` literal under ``root``; raises
    ValueError naming the place of one that is not a literal ``{str: int}`` or that declares a
    unit declared elsewhere."""
    out: dict = {}
    for f in sorted(root.rglob("*.py")):
        if "__pycache__" in f.parts:
            continue
        text = f.read_text(encoding="utf-8")
        if NAME not in text:
            continue
        for node in ast.walk(ast.parse(text, str(f))):
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets = [node.target]
            else:
                continue
            if not any(isinstance(t, ast.Name) and t.id == NAME for t in targets):
                continue
            where = f"{f.relative_to(root.parent)}:{node.lineno}"
            try:
                found = ast.literal_eval(node.value)
            except ValueError:
                found = None
            if not isinstance(found, dict) or not all(
                    isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                    for k, v in found.items()):
                raise ValueError(f"{where}: {NAME} must be a literal {{unit: int}}")
            for unit, version in found.items():
                if unit in out:
                    raise ValueError(f"{where}: unit {unit!r} is already declared at "
                                     f"{out[unit][1]}")
                out[unit] = (version, where)
    return out


@lru_cache(maxsize=1)
def _current() -> dict:
    out: dict = {}
    for root in ROOTS:
        if root.is_dir():
            out.update(declarations(root))
    return out


def current_versions() -> dict:
    """``{unit: version}`` declared in today's source (read once per process)."""
    return {u: v for u, (v, _) in _current().items()}


def declared_at(unit: str) -> Optional[str]:
    """``"file:line"`` of a unit's declaration (None: declared nowhere)."""
    got = _current().get(unit)
    return got[1] if got else None


def units_of(config: dict) -> list[str]:
    """The units a record of the bench's kinds (``measure``, ``agree``, ``train``) measured,
    from the config's standard fields; other writers name theirs (``make_record(units=...)``)."""
    kind = config.get("kind")
    if kind not in ("measure", "agree", "train"):
        return []
    out = [f"kind.{kind}", f"learner.{config.get('learner')}",
           f"model.{config.get('model_type')}", f"task.{config.get('task')}"]
    if kind == "agree":
        out.append("learner.bptt")               # the reference it is compared with
    if kind == "measure":
        out += list(MEASURE_PROBES)
        if config.get("repeats"):
            out.append(f"timing.{config.get('learner')}")
    return sorted(set(out))


def versions_of(units: Iterable[str]) -> dict:
    """``{unit: today's version}``; raises ValueError naming a unit nobody declares (a writer
    that names one has a typo or a missing ``version``: better refused than stored unknowable)."""
    cur = current_versions()
    units = sorted(set(units))
    unknown = [u for u in units if u not in cur]
    if unknown:
        raise ValueError(f"no {NAME} declaration names unit(s) {', '.join(unknown)}")
    return {u: cur[u] for u in units}


def staleness(record: dict, current: Optional[dict] = None) -> tuple[Optional[bool], str]:
    """``(stale, why)`` of one record.

    - With ``versions``: stale when a unit's version differs from today's or the unit is no
      longer declared; ``why`` names each (``"learner.sparse-rtrl 1 -> 2"``), "" when fresh.
    - Without (measured before versions): decided by the code fingerprint it carries (fresh only
      when the source it measured is byte-identical today: the migration's rule,
      ``scripts/migrate_versions.py``); ``(None, why)`` when it carries neither.
    """
    versions = record.get(FIELD)
    if isinstance(versions, dict) and versions:
        cur = current_versions() if current is None else current
        changed = []
        for unit in sorted(versions):
            old = versions[unit]
            if unit not in cur:
                changed.append(f"{unit} {old} -> unknown today")
            elif cur[unit] != old:
                changed.append(f"{unit} {old} -> {cur[unit]}")
        return bool(changed), "; ".join(changed)
    from .provenance import stale_parts
    parts = stale_parts(record)
    if parts is None:
        return None, "carries neither behaviour versions nor a code fingerprint"
    if parts:
        return True, f"no behaviour versions; source changed since: {', '.join(parts)}"
    return False, ""
