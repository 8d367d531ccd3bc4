"""Behaviour versions: which version of each measured unit a record measured, and whether it is
still the version today.

A *unit* is something whose behaviour a record's numbers depend on: a model, a task, a learner,
a learner's timed path, a measurement kind or probe, a documented-experiment piece. Each unit
declares the version of what it computes once, beside its code (a ``version`` class or module
attribute, as asv's benchmark ``version``); a record stores ``{"versions": {unit: version}}``
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
- ``longrange.*``, ``ponder.*``: declared by those packages' providers (below).

Today's versions come from *providers*: modules with a function ``unit_versions() -> {unit:
version}`` that collects the attributes of the units they own, and optionally
``units_of_config(config) -> [unit, ...]``, the units a record of that config measured (for the
kinds whose config fields only they understand: a protocol piece, a long-range point, a
PonderTTT run). They are imported by name when first needed (so this package imports none of
them and no import circle forms); a provider that is not installed contributes nothing, and a
record naming one of its units is then stale ("unknown today"), never silently fresh.
"""
from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Iterable, Optional

#: every module that declares units; the last two belong to other packages (optional)
PROVIDERS = (
    "rtrl_moe.learners",          # learner.*, timing.*
    "rtrl_moe.build",             # model.moe/rnn/lru, task.*
    "rtrl_moe.bench.kinds",       # kind.*, probe.*
    "rtrl_moe.protocols.registry",  # protocol.*, the protocols' own models
    "rtrl_moe.longrange.versions",  # longrange.*  (rtrl_moe/longrange)
    "ponderttt.versions",           # ponder.*     (ponderttt)
)
#: a record's field holding what it measured
FIELD = "versions"
#: measure records time their learner when they have repeats
TIMED_KINDS = ("measure",)
MEASURE_PROBES = ("probe.tensors", "probe.rss")


@lru_cache(maxsize=1)
def _providers() -> tuple:
    out = []
    for name in PROVIDERS:
        try:
            out.append((name, importlib.import_module(name)))
        except ModuleNotFoundError as e:
            if e.name and (name == e.name or name.startswith(e.name + ".")):
                continue                  # that provider is not installed: its units are unknown
            raise
    return tuple(out)


@lru_cache(maxsize=1)
def current_versions() -> dict:
    """``{unit: version}`` of every unit the installed providers declare (read once)."""
    out: dict = {}
    for name, module in _providers():
        get = getattr(module, "unit_versions", None)
        if get is None:
            continue
        for unit, version in get().items():
            if unit in out and out[unit] != version:
                raise ValueError(f"unit {unit!r} declared twice ({name}: {version!r}, "
                                 f"earlier: {out[unit]!r})")
            out[unit] = version
    return out


def units_of(config: dict) -> list[str]:
    """The units a record of ``config`` measured: those the config's standard fields name
    (``kind``, ``learner``, ``model_type``, ``task``, ``repeats``) for the bench's kinds, and
    those each provider's ``units_of_config`` names for its own kinds."""
    kind = config.get("kind")
    out: list[str] = []
    if kind in ("measure", "agree", "train"):
        out += [f"kind.{kind}", f"learner.{config.get('learner')}",
                f"model.{config.get('model_type')}", f"task.{config.get('task')}"]
        if kind == "agree":
            out.append("learner.bptt")               # the reference it is compared with
        if kind in TIMED_KINDS:
            out += list(MEASURE_PROBES)
            if config.get("repeats"):
                out.append(f"timing.{config.get('learner')}")
    for _, module in _providers():
        more = getattr(module, "units_of_config", None)
        if more is not None:
            out += list(more(config))
    return sorted(set(out))


def versions_of(units: Iterable[str]) -> dict:
    """``{unit: today's version}``; raises ValueError naming a unit nobody declares (a writer
    that names one has a typo or a missing ``version``: better refused than stored unknowable)."""
    cur = current_versions()
    units = sorted(set(units))
    unknown = [u for u in units if u not in cur]
    if unknown:
        raise ValueError(f"no version declared for unit(s) {', '.join(unknown)} "
                         f"(providers: rtrl_moe.records.versions.PROVIDERS)")
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
