"""The step interface every recurrent cell shares, written once.

A cell defines ``transition(x_t, h) -> (h_new, route)`` (``route``: its routing, or None) and
``readout(x_t, h) -> logits``. The learners call ``step`` and, through
``torch.func.functional_call``, ``forward`` with ``part`` naming which of the two to run (a
module's one entry point is its ``forward``).
"""
from __future__ import annotations

from torch import nn


class Cell(nn.Module):
    def expert_param_groups(self) -> list[list[str]]:
        """Names of each expert's parameters (a cell without experts has none)."""
        return []

    def step(self, x_t, h):
        h_new, route = self.transition(x_t, h)
        return self.readout(x_t, h_new), h_new, route

    def forward(self, x_t, h, part: str = "step"):
        if part == "transition":
            return self.transition(x_t, h)
        if part == "readout":
            return self.readout(x_t, h)
        return self.step(x_t, h)
