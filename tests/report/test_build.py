"""build(): determinism, empty and broken inputs, sections, self-contained HTML."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import synth

from rtrl_moe.report import build


def tree_bytes(d: Path) -> dict:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_deterministic(built_report, fixture_results, tmp_path):
    out1, _ = built_report
    build(fixture_results, tmp_path / "again")
    a, b = tree_bytes(out1), tree_bytes(tmp_path / "again")
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k] == b[k], f"{k} differs between two builds"


def test_outputs(built_report):
    out, info = built_report
    html = (out / "index.html").read_text(encoding="utf-8")
    md = (out / "REPORT.md").read_text(encoding="utf-8")
    # the tally counts documents 000-004 together: 000-003's evidence blocks plus 004's table rows
    n_ponder = len(re.findall(r'<tr id="claim-004-', html))
    assert n_ponder and info["records"] == 213
    assert sum(info["counts"].values()) == len(re.findall(r'<div class="claim"', html)) + n_ponder
    assert 'id="findings"' in html and "Findings" in html
    # self-contained: every image is a data URI, nothing is fetched
    assert re.findall(r'<img src="data:image/png;base64,', html)
    assert not re.findall(r'src="(?!data:)', html) and "<link" not in html
    # the Markdown's figures lie beside it
    refs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert refs and all((out / r).is_file() for r in refs)
    assert {p.name for p in (out / "figures").glob("*.png")} == {Path(r).name for r in refs}
    # every evidence link points at an anchor that exists
    for target in set(re.findall(r'href="#([^"]+)"', html)):
        assert f'id="{target}"' in html, target
    for target in set(re.findall(r"\]\(#([^)]+)\)", md)):
        assert f'<a id="{target}"></a>' in md, target
    for word in ("2026-11-23T07:00:00Z", "0123456789abcdef0123456789abcdef01234567", "Fixture CPU 2.0GHz",
                 "python -m rtrl_moe.bench report --results results/ --out reports/",
                 "What we could not measure", "no GPU results"):
        assert word in html and word in md, word
    mem = sorted((out / "figures").glob("all-*-memory.png"))
    assert mem and all(b"Software" not in p.read_bytes() for p in mem)


def test_empty_results(tmp_path):
    (tmp_path / "results").mkdir()
    info = build(tmp_path / "results", tmp_path / "out")
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    md = (tmp_path / "out" / "REPORT.md").read_text(encoding="utf-8")
    assert "holds no records" in html and "holds no records" in md
    assert info["records"] == 0 and info["figures"] == []
    assert 'id="findings"' in html


def test_missing_results_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build(tmp_path / "nope", tmp_path / "out")


@pytest.mark.parametrize("bad, what", [("{not json\n", "malformed JSON"),
                                       ('{"schema": 99, "run_id": "x"}\n', "schema")])
def test_malformed_file_stops_with_file_and_line(tmp_path, fixture_results, bad, what):
    d = tmp_path / "results"
    shutil.copytree(fixture_results, d)
    with open(d / "train.jsonl", "a", encoding="utf-8") as f:
        f.write(bad)
    n = len((d / "train.jsonl").read_text(encoding="utf-8").splitlines())
    with pytest.raises(ValueError) as e:
        build(d, tmp_path / "out")
    assert f"train.jsonl:{n}" in str(e.value) and what in str(e.value)
    assert not (tmp_path / "out" / "index.html").exists()


def test_sections_per_machine_and_gpu(tmp_path):
    d = synth.write_fixture(tmp_path / "results", gpu=True)
    build(d, tmp_path / "out")
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "GPU: Fixture Xeon x2 + Fixture H100 [gx01] (cuda)" in html
    assert "Fixture CPU 2.0GHz x2 [fx01] (cpu)" in html
    assert "no GPU results" not in html.split('id="findings"', 1)[1]   # the local banner quotes the committed report
    names = {p.name for p in (tmp_path / "out" / "figures").glob("*.png")}
    assert any(n.startswith("gx01-cuda-") and n.endswith("-memory.png") for n in names)
    assert any(n.startswith("fx01-cpu-") and n.endswith("-memory.png") for n in names)


def test_one_model_config_per_figure(tmp_path):
    """A second config gets its own figures, named and titled by its config; never the same axes."""
    import report_testlib
    other = report_testlib.measure(("bptt", "sparse-rtrl"), tweak=lambda r: r["config"]["model"].update(n_experts=8))
    d = synth.write_fixture(tmp_path / "results")
    synth.write(d / "other.jsonl", other)
    build(d, tmp_path / "out")
    names = {p.name for p in (tmp_path / "out" / "figures").glob("*-memory.png")}
    assert any("experts-8" in n for n in names) and any("experts-4" in n for n in names)
    md = (tmp_path / "out" / "REPORT.md").read_text(encoding="utf-8")
    assert "Memory vs sequence length: moe d_ff=64 d_model=32 experts=8" in md


def test_stale_figures_are_removed(tmp_path, fixture_results):
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "old-section-memory.png").write_bytes(b"x")
    build(fixture_results, out)
    assert not (out / "figures" / "old-section-memory.png").exists()


def test_fixtures_match_their_generator(tmp_path, fixture_results):
    synth.write_fixture(tmp_path)
    for p in sorted(fixture_results.glob("*.jsonl")):
        assert p.read_bytes() == (tmp_path / p.name).read_bytes(), f"{p.name}: run python tests/report/synth.py"


def test_python_m_rtrl_moe_report_renders_what_build_does(built_report, fixture_results, tmp_path):
    import subprocess
    import sys
    out, _ = built_report
    subprocess.run([sys.executable, "-m", "rtrl_moe.report", "--results", str(fixture_results),
                    "--out", str(tmp_path / "cli")], check=True, capture_output=True)
    assert tree_bytes(tmp_path / "cli") == tree_bytes(out)
