"""The README's findings are the report's: the block between the markers equals the committed
reports/FINDINGS.md, which the report command writes from the same objects as REPORT.md's first
screen."""
from report_testlib import REPO

from rtrl_moe.report import write_readme_findings
from rtrl_moe.report.findings import README_BEGIN, README_END


def test_readme_findings_equal_the_committed_report():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index(README_BEGIN):readme.index(README_END) + len(README_END)]
    assert block + "\n" == (REPO / "reports" / "FINDINGS.md").read_text(encoding="utf-8")
    first = (REPO / "reports" / "REPORT.md").read_text(encoding="utf-8").splitlines()[:40]
    assert any(line.startswith("1. **") for line in first), "the findings open REPORT.md"


def test_the_markers_are_rewritten_and_a_readme_without_them_is_left_alone(tmp_path):
    p = tmp_path / "README.md"
    p.write_text(f"a\n{README_BEGIN}\nold\n{README_END}\nb\n")
    assert write_readme_findings(p, f"{README_BEGIN}\nnew\n{README_END}\n")
    assert p.read_text() == f"a\n{README_BEGIN}\nnew\n{README_END}\nb\n"
    q = tmp_path / "R2.md"
    q.write_text("no markers\n")
    assert not write_readme_findings(q, "x") and q.read_text() == "no markers\n"
