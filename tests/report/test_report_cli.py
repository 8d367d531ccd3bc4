"""python -m rtrl_moe.report: bad input is one line (exit 2 for what was typed, 1 for bad data), a
partial last line is named."""
import json

import pytest

from rtrl_moe.report import main


@pytest.mark.parametrize("make, needle", [
    (lambda d: d / "missing", "no such folder"),
    (lambda d: (d / "f").write_text("x") and d / "f", "is a file"),
])
def test_bad_results_path_is_one_line(tmp_path, capsys, make, needle):
    assert main(["--results", str(make(tmp_path)), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and needle in err


def test_malformed_line_is_one_line_with_file_and_line(tmp_path, capsys):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "x.jsonl").write_text('{"schema": 1\n')
    assert main(["--results", str(tmp_path / "r"), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "x.jsonl:1: malformed JSON" in err


def test_out_under_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "r").mkdir()
    (tmp_path / "f").write_text("x")
    assert main(["--results", str(tmp_path / "r"), "--out", str(tmp_path / "f" / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: argument --out")


def test_a_partial_last_line_is_named_in_the_report(tmp_path, capsys):
    import synth
    (tmp_path / "r").mkdir()
    rec = synth.measure_records()[0]
    f = tmp_path / "r" / "x.jsonl"
    f.write_text(json.dumps(rec) + "\n" + json.dumps(rec)[:50])
    assert main(["--results", str(tmp_path / "r"), "--out", str(tmp_path / "o")]) == 0
    assert "skipped 1 partial last line(s)" in (tmp_path / "o" / "REPORT.md").read_text()
    # and on stderr, as its first line (issue 33), not only inside the report
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("warning: ") and "x.jsonl:2" in first and "partial" in first
