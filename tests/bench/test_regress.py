"""Unit tests of the regression check (rtrl_moe.bench.regress): milliseconds."""
import json
from pathlib import Path

import pytest

from rtrl_moe.bench import regress as compare

ROOT = Path(__file__).resolve().parents[2]


def _measure(bytes_peak=1000, flops=500, t_ns=1_000_000, status="ok"):
    return {"status": status, "message": "" if status == "ok" else "boom",
            "metrics": {"tensor_bytes_peak": bytes_peak, "sensitivity_flops_per_step": flops,
                        "time_step_median_ns": t_ns, "cuda_allocated_peak": None}}


def _agree(rel=1e-15, cos=1.0, maxabs=1e-16):
    return {"status": "ok", "metrics": {"rel_err": rel, "cosine": cos, "max_abs_err": maxabs}}


def test_identical_passes():
    base = {"m": _measure(), "a": _agree()}
    rows, failures, alerts, notes = compare.compare_records(base, json.loads(json.dumps(base)))
    assert not failures and not alerts
    assert {r[1] for r in rows} >= {"tensor_bytes_peak", "rel_err", "time_step_median_ns"}


def test_bytes_increase_fails_and_decrease_passes():
    _, failures, _, _ = compare.compare_records({"m": _measure()}, {"m": _measure(1010)})
    assert failures and "tensor_bytes_peak" in failures[0]
    _, failures, _, _ = compare.compare_records({"m": _measure()}, {"m": _measure(1004)})
    assert not failures  # within the 0.5% tolerance
    _, failures, _, _ = compare.compare_records({"m": _measure()}, {"m": _measure(10)})
    assert not failures


def test_flops_increase_fails():
    _, failures, _, _ = compare.compare_records({"m": _measure()}, {"m": _measure(flops=600)})
    assert any("sensitivity_flops_per_step" in f for f in failures)


def test_gradient_error_roundoff_is_tolerated_but_real_growth_fails():
    _, failures, _, _ = compare.compare_records({"a": _agree(1e-16)}, {"a": _agree(9e-16)})
    assert not failures  # float64 round-off, under the 1e-12 floor
    _, failures, _, _ = compare.compare_records({"a": _agree(1e-15)}, {"a": _agree(1e-6)})
    assert any("rel_err" in f for f in failures)
    _, failures, _, _ = compare.compare_records({"a": _agree(0.2)}, {"a": _agree(0.25)})
    assert failures
    _, failures, _, _ = compare.compare_records({"a": _agree(cos=1.0)}, {"a": _agree(cos=0.9)})
    assert any("one_minus_cosine" in f for f in failures)


def test_slowdown_only_alerts():
    rows, failures, alerts, _ = compare.compare_records({"m": _measure()},
                                                        {"m": _measure(t_ns=2_000_000)})
    assert not failures and len(alerts) == 1
    assert [r[5] for r in rows if r[1] == "time_step_median_ns"] == ["ALERT"]


def test_status_and_missing_points():
    _, failures, _, _ = compare.compare_records({"m": _measure()}, {"m": _measure(status="oom")})
    assert failures
    _, failures, _, notes = compare.compare_records({"m": _measure(status="error")},
                                                    {"m": _measure()})
    assert not failures and notes
    _, failures, _, notes = compare.compare_records({}, {"m": _measure()})
    assert not failures and "new point" in notes[0]
    _, failures, _, _ = compare.compare_records({"m": _measure()}, {})
    assert failures


@pytest.mark.parametrize("text", [
    '{"status": "ok", "metrics": {}}',
    'progress line\n{"status": "ok", "metrics": {}}\n',
    '[{"status": "ok", "metrics": {}}]',
    '{\n  "status": "ok",\n  "metrics": {}\n}',
])
def test_parse_record(text):
    assert compare.parse_record(text)["status"] == "ok"


def test_parse_record_rejects_garbage():
    with pytest.raises(ValueError):
        compare.parse_record("Traceback ...")


def test_main_exit_codes_and_alert_file(tmp_path):
    b, h = tmp_path / "b.json", tmp_path / "h.json"
    b.write_text(json.dumps({"points": {"m": _measure()}}))
    h.write_text(json.dumps({"points": {"m": _measure(t_ns=5_000_000)}}))
    alerts = tmp_path / "alerts.txt"
    assert compare.main(["compare", str(b), str(h), "--alerts", str(alerts)]) == 0
    assert "step time" in alerts.read_text()
    h.write_text(json.dumps({"points": {"m": _measure(bytes_peak=2000)}}))
    assert compare.main(["compare", str(b), str(h)]) == 1
    h.write_text("not json")
    assert compare.main(["compare", str(b), str(h)]) == 2


def _fake_checkout(root: Path, bytes_peak: int) -> Path:
    pkg = root / "rtrl_moe" / "bench"
    pkg.mkdir(parents=True)
    (root / "rtrl_moe" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "__main__.py").write_text(
        "import json, sys\n"
        "print('progress on stdout', file=sys.stderr)\n"
        f"print(json.dumps({{'status': 'ok', 'args': sys.argv[1:],\n"
        f"                  'metrics': {{'tensor_bytes_peak': {bytes_peak}}}}}))\n")
    return root


def test_collect_runs_each_checkout_and_compare_flags_it(tmp_path):
    base = _fake_checkout(tmp_path / "base", 100)
    head = _fake_checkout(tmp_path / "head", 200)
    points = tmp_path / "points.json"
    points.write_text(json.dumps({"points": [{"id": "p1", "args": ["point", "--x", 1]},
                                            {"id": "p2", "args": ["agree"]}]}))
    out = tmp_path / "out"
    rc = compare.main(["collect", "--points", str(points), "--checkout", f"head={head}",
                       "--checkout", f"base={base}", "--out-dir", str(out)])
    assert rc == 0
    h = json.loads((out / "head.json").read_text())
    assert Path(h["rtrl_moe_file"]).is_relative_to(head)
    assert h["points"]["p1"]["args"] == ["point", "--x", "1", "--json"]
    assert compare.main(["compare", str(out / "base.json"), str(out / "head.json")]) == 1
    assert compare.main(["compare", str(out / "head.json"), str(out / "base.json")]) == 0
