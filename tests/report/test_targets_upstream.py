"""Target upstream-5x: MET, MISSED and NOT MEASURED on synthetic protocol records."""
from __future__ import annotations

import copy

import synth
from report_testlib import load_records

from rtrl_moe.report import targets_upstream as tu


def _rec(seed, ratio, *, status="ok", ours=4.0, load=0.5, created="2026-12-03T14:00:00Z"):
    up_state = ours * ratio
    metrics = {"ms_per_token_sparse_rtrl": ours, "ms_per_token_upstream": up_state * 1.2,
               "ms_per_token_upstream_state_only": up_state, "ratio": ratio,
               "ratio_train_py": ratio * 1.2, "blocks": 5, "load_avg_1m": load, "load_avg_1m_samples": [load, load],
               "load_avg_1m_max": load, "floor_ns_per_step": 3.0e6, "floor_fraction": 3.0 / ours,
               "ratio_at_floor": up_state / 3.0}
    return {"schema": 1, "run_id": "run-u", "commit": "0" * 40, "dirty": False, "created": created,
            "machine": copy.deepcopy(synth.MACHINE),
            "config": {"kind": "protocol", "label": f"protocol-{tu.PIECE}", "protocol": tu.PIECE,
                       "seed": seed, "arch": "upstream", "model_type": "upstream-moe",
                       "model": {"d_model": 32, "n_slots": 4}, "device": "cpu", "dtype": "float32",
                       "batch": 1, "threads": 1},
            "status": status, "metrics": metrics if status == "ok" else {},
            **({"message": "ran past 1200 s"} if status != "ok" else {})}


def _one(rows):
    assert len(rows) == 1 and rows[0]["id"] == tu.ID
    assert set(rows[0]) == {"id", "target", "where", "verdict", "measured"}
    return rows[0]


def test_met_at_five_times_from_the_report_frame(tmp_path):
    recs = [_rec(0, 5.5), _rec(1, 6.0), _rec(2, 4.9)]       # median 5.5
    row = _one(tu.evaluate(load_records(tmp_path, recs)))
    assert row["verdict"] == tu.MET
    assert "5.50x" in row["measured"] and "floor fraction 0.75" in row["measured"]
    assert "loaded" not in row["measured"] and "at its floor would be 7.33x" in row["measured"]


def test_missed_below_five_and_the_load_is_noted():
    recs = [_rec(0, 2.2, load=3.1), _rec(1, 2.4), _rec(2, 6.0)]   # median 2.4
    row = _one(tu.evaluate(recs))
    assert row["verdict"] == tu.MISSED
    assert "2.40x" in row["measured"] and "load average up to 3.1" in row["measured"]


def test_the_latest_record_per_seed_counts():
    recs = [_rec(0, 2.0, created="2026-12-01T00:00:00Z"), _rec(0, 7.0)]
    assert _one(tu.evaluate(recs))["verdict"] == tu.MET


def test_not_measured_without_an_ok_record(tmp_path):
    assert _one(tu.evaluate([]))["verdict"] == tu.NOT_MEASURED
    assert _one(tu.evaluate(None))["verdict"] == tu.NOT_MEASURED
    other = _rec(0, 9.0)
    other["config"]["protocol"] = "tree_speed_haystack"
    assert _one(tu.evaluate([other]))["verdict"] == tu.NOT_MEASURED
    row = _one(tu.evaluate(load_records(tmp_path, [_rec(0, 9.0, status="timeout")])))
    assert row["verdict"] == tu.NOT_MEASURED and "timeout" in row["measured"]
