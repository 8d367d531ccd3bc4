"""Which behaviour units (rtrl_moe.records.versions) a ponder record measured, from its config.

Used by the writers (``experiments/pretrained.py``) to stamp ``record["versions"]`` and by
``scripts/migrate_versions.py`` (``units_of_config``) to stamp older records.
"""
from __future__ import annotations

COMMON = ("ponder.pretrained", "ponder.backbone", "ponder.data")
BY_ACTION = {"ttt": {"gate": ("ponder.gate",), "ppo": ("ponder.policy",)},
             "full": {"gate": ("ponder.gate", "ponder.full-policies"),
                      "ppo": ("ponder.policy", "ponder.full-policies")}}


def units_of_config(config: dict) -> list[str]:
    """The units of a ``ponder`` record: the issue-32 experiment's (label ``issue32``) by its
    update mode and action, the document's commands (random-init path) otherwise."""
    if config.get("kind") != "ponder":
        return []
    if config.get("label") != "issue32":
        return ["ponder.model", "ponder.stream"]
    upd = config.get("update")
    base = list(COMMON) + (["ponder.ttt-layer", "ponder.slow-training", "ponder.oracle"] if upd == "ttt"
                           else ["ponder.full-update"])
    return sorted(set(base) | set(BY_ACTION.get(upd, {}).get(config.get("action"), ())))
