"""The claims registry: one entry per claim (``entry.Claim``), one module per document (d000..d003;
document 004's entries are PonderTTT's, ``report/ponder.py``). A claim's id appears in exactly one
source file: its entry. Adding a claim is adding an entry."""
from __future__ import annotations

from . import d000, d001, d002, d003
from .entry import SOURCES, Claim

__all__ = ["CLAIMS", "SOURCES", "Claim", "by_id"]

CLAIMS: list[Claim] = d000.CLAIMS + d001.CLAIMS + d002.CLAIMS + d003.CLAIMS


def by_id() -> dict:
    return {cl.id: cl for cl in CLAIMS}
