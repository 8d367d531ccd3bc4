"""Behaviour versions of the long-range units (``rtrl_moe/records/versions.py``'s provider for
``longrange.*``): bump a unit when what its records measured would change.

- ``longrange.protocol``: the protocol of ``protocol.py`` and its point (``experiment.py``):
  1 = issue 30's episodic protocol (``config.protocol == "v2"``; the retired token-budget
  streaming preset's records name no long-range unit);
- ``longrange.task``: delayed recall's episodes (``tasks.py``);
- ``longrange.kstar``: how k* is measured (``kstar.py``).
"""
from __future__ import annotations

VERSIONS = {"longrange.protocol": 1, "longrange.task": 1, "longrange.kstar": 1}


def unit_versions() -> dict:
    return dict(VERSIONS)


def units_of_config(config: dict) -> list[str]:
    """The units a long-range record measured: the protocol, the task, its learner and model
    (k* records: also the rival tbptt and the k* measurement)."""
    if config.get("kind") != "longrange" or config.get("protocol") != "v2":
        return []
    out = ["longrange.protocol", "longrange.task", f"learner.{config.get('learner')}",
           f"model.{config.get('model_type')}"]
    if config.get("arm") == "kstar":
        out += ["longrange.kstar", "learner.tbptt"]
    if config.get("role") == "equivalence":
        out.append("learner.bptt")
    return out
