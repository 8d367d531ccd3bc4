"""The per-chunk actions and their nominal cost.

SKIP runs the chunk with the current fast weights; UPDATE_k first takes k inner steps on the
chunk, then runs it. The document's nominal units are 1/3/5/12. They follow "1 + 2k" (one
forward, and per step a forward and a backward each costed like a forward) for k = 0, 1, 2,
but the rule gives 9 for UPDATE_4, not 12; both are kept so a report can show the gap.
"""
from __future__ import annotations

from enum import Enum


class Action(str, Enum):
    SKIP = "SKIP"
    UPDATE_1 = "UPDATE_1"
    UPDATE_2 = "UPDATE_2"
    UPDATE_4 = "UPDATE_4"

    @property
    def steps(self) -> int:
        return INNER_STEPS[self]

    @property
    def nominal_cost(self) -> float:
        return NOMINAL_COST[self]

    @property
    def rule_cost(self) -> float:
        return rule_cost(self.steps)

    @classmethod
    def parse(cls, name: "str | Action") -> "Action":
        if isinstance(name, Action):
            return name
        try:
            return cls(str(name).upper())
        except ValueError:
            raise ValueError(f"unknown action {name!r}; choose one of "
                             f"{', '.join(a.value for a in cls)}") from None


INNER_STEPS = {Action.SKIP: 0, Action.UPDATE_1: 1, Action.UPDATE_2: 2, Action.UPDATE_4: 4}
#: the document's table ("cost=20/60/100/240 for 20 chunks", "1x/3x/5x/12x per chunk")
NOMINAL_COST = {Action.SKIP: 1.0, Action.UPDATE_1: 3.0, Action.UPDATE_2: 5.0, Action.UPDATE_4: 12.0}


def rule_cost(k: int) -> float:
    """The "1 + 2k" rule the document's first three units follow."""
    return 1.0 + 2.0 * k


def cost_table() -> list[dict]:
    """One row per action: steps, the document's nominal units, the 1 + 2k rule."""
    return [{"action": a.value, "steps": a.steps, "nominal": a.nominal_cost,
             "rule_1_plus_2k": a.rule_cost} for a in Action]
