"""PonderTTT's quality-cost frontier section: per (scale, data), never pooled."""
import synth
from report_testlib import load_records

from rtrl_moe.report import ponder_frontier as pf


def rec(method, setting, seed, loss, cost, recovery=None, scale="125m", data="synthetic"):
    r = synth.record("agree", "bptt", 1, {})       # a template; replaced below
    r["config"] = {"kind": "ponder", "label": "frontier", "method": method, "setting": setting,
                   "action": setting if method == "fixed" else method,
                   "model_scale": scale, "data": data, "seed": seed, "device": "cpu"}
    r["metrics"] = {"loss": loss, "avg_cost": cost, "recovery": recovery, "loss_skip": 5.0,
                    "oracle_loss_at_cost": 4.9}
    return r


def case(scale="125m"):
    out = []
    for s in range(3):
        out += [rec("fixed", "SKIP", s, 5.0, 1.0, scale=scale), rec("fixed", "UPDATE_1", s, 4.9, 3.0, scale=scale),
                rec("gate", "rate=0.25", s, 4.95, 1.5, 0.5 + 0.01 * s, scale=scale),
                rec("oracle", "budget=2", s, 4.8, 2.0, scale=scale)]
    return out


def test_table_headline_and_figure(tmp_path):
    tab = pf.table(load_records(tmp_path, case()))
    rows = tab[("125m", "synthetic")]
    assert [r["method"] for r in rows] == ["fixed", "fixed", "gate", "oracle"]
    gate = rows[2]
    assert gate["seeds"] == 3 and abs(gate["recovery per seed"] - 0.51) < 1e-9 and gate["per seed ±95%"] > 0
    assert abs(gate["recovery"] - 0.5) < 1e-9            # (5.0 - 4.95) / (5.0 - 4.9), seeds summed
    assert any("gate: rate=0.25: 0.50 at cost 1.50" in h for h in pf.headline(tab))
    assert pf.figure(tab) is not None


def test_two_scales_are_two_tables(tmp_path):
    tab = pf.table(load_records(tmp_path, case() + case("tiny")))
    assert set(tab) == {("125m", "synthetic"), ("tiny", "synthetic")}
    assert all(r["seeds"] == 3 for rows in tab.values() for r in rows)


def test_nothing_without_frontier_records(tmp_path):
    assert pf.table(load_records(tmp_path, synth.measure_records())) == {}
    assert pf.figure({}) is None
