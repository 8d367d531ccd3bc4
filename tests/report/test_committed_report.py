"""The committed reports/ match what results/ gives now (skipped until reports/ is committed)."""
from __future__ import annotations

import pytest
from report_testlib import REPO

from rtrl_moe.report import build


@pytest.mark.skipif(not (REPO / "reports" / "REPORT.md").is_file(),
                    reason="reports/REPORT.md is not committed yet")
def test_committed_reports_are_up_to_date(tmp_path):
    results, reports = REPO / "results", REPO / "reports"
    build(results, tmp_path)
    fresh = {p.relative_to(tmp_path).as_posix(): p for p in tmp_path.rglob("*") if p.is_file()}
    kept = {p.relative_to(reports).as_posix(): p for p in reports.rglob("*") if p.is_file()
            and (p.name in ("index.html", "REPORT.md", "claims.json", "FINDINGS.md") or p.parent.name == "figures")}
    assert sorted(fresh) == sorted(kept), "figures differ: run python -m rtrl_moe.bench report " \
                                          "--results results/ --out reports/ and commit"
    stale = [k for k in fresh if fresh[k].read_bytes() != kept[k].read_bytes()]
    assert not stale, f"reports/ is out of date ({', '.join(stale)}): run python -m rtrl_moe.bench report " \
                      "--results results/ --out reports/ and commit"
