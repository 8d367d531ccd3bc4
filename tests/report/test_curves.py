"""Curves over T: what counts as constant."""
from __future__ import annotations

import pandas as pd

from rtrl_moe.report.curves import Curve


def test_growth_two_percent_threshold():
    T = pd.Series([32.0, 2048.0]).to_numpy()
    assert Curve("x", "k", T, pd.Series([100.0, 101.9]).to_numpy(), pd.DataFrame()).constant
    assert not Curve("x", "k", T, pd.Series([100.0, 102.1]).to_numpy(), pd.DataFrame()).constant
