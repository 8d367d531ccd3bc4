"""Evidence and how the verdicts of a claim's parts combine."""
from __future__ import annotations

import pytest

from rtrl_moe.report.evidence import CONFIRMED, NOT_MEASURED, PARTIAL, REFUTED, Evidence, combine


def test_evidence_rejects_unknown_verdict():
    with pytest.raises(ValueError):
        Evidence("TRUE", "x")


def test_combine():
    E = lambda v: Evidence(v, "x")  # noqa: E731
    assert combine([E(CONFIRMED), E(CONFIRMED)]) == CONFIRMED
    assert combine([E(CONFIRMED), E(REFUTED)]) == REFUTED      # a claim needing both parts is false
    assert combine([E(CONFIRMED), E(REFUTED)], core=[0]) == PARTIAL
    assert combine([E(REFUTED), E(NOT_MEASURED)]) == REFUTED
    assert combine([E(CONFIRMED), E(NOT_MEASURED)]) == PARTIAL
    assert combine([E(NOT_MEASURED)]) == NOT_MEASURED
