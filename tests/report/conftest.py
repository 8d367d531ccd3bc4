"""Fixtures of the report's tests: the synthetic results and a report built from them once."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
for _p in (str(_HERE.parents[1]), str(_HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from report_testlib import FIXTURE_RESULTS  # noqa: E402


@pytest.fixture(scope="session")
def fixture_results() -> Path:
    return FIXTURE_RESULTS


@pytest.fixture(scope="session")
def fixture_df():
    from rtrl_moe.report import data
    df, _ = data.load(FIXTURE_RESULTS)
    return df


@pytest.fixture(scope="session")
def built_report(tmp_path_factory):
    """The report of the fixture results, built once per session."""
    from rtrl_moe.report import build
    out = tmp_path_factory.mktemp("report")
    info = build(FIXTURE_RESULTS, out)
    return out, info
