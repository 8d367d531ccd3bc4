"""Document 004 on the pretrained backbone: each on-bench rule comes out both ways."""
import pytest
import synth
from report_testlib import load_records

from rtrl_moe.report import ponder_bench as pb
from rtrl_moe.report.evidence import CONFIRMED, PARTIAL, REFUTED

COST = {"SKIP": 1, "UPDATE_1": 3, "UPDATE_2": 5, "UPDATE_4": 12}


def rec(update, data, method, setting, seed, loss, *, cost=None, skip=None, status="ok",
        backbone="smollm2-135m", flops=None, time=None, fixed=None, oracle=None):
    r = synth.record("agree", "bptt", 1, {})
    r["config"] = {"kind": "ponder", "label": "pretrained", "backbone": backbone, "update": update,
                   "data": data, "method": method, "setting": setting, "seed": seed,
                   "action": setting if method == "fixed" else method, "device": "cpu",
                   "model_scale": backbone}
    r["status"] = status
    c = cost if cost is not None else COST.get(setting, 1)
    r["metrics"] = {"loss": loss, "avg_cost": c, "loss_skip": skip if skip is not None else loss,
                    "recovery": None, "n_chunks": 8, "oracle_loss_at_cost": oracle or loss,
                    "fixed_losses": fixed or {}, "avg_flops_ratio": 1.001,
                    "flops_ratio": flops if flops is not None else {3: 3.0, 5: 6.0, 12: 12.0}.get(c, 1.0),
                    "time_ratio": time if time is not None else 1.0, "median_seconds": 1.0}
    return r


def full(data, losses, **kw):
    return [rec("full", data, "fixed", a, 0, x, skip=losses["SKIP"], **kw.get(a, {}))
            for a, x in losses.items()]


def test_loss_claims_both_ways(tmp_path):
    good = full("synthetic", {"SKIP": 11.0, "UPDATE_1": 10.9, "UPDATE_2": 10.88, "UPDATE_4": 10.92}) + \
        full("stdlib-heldout", {"SKIP": 2.0, "UPDATE_1": 1.5, "UPDATE_2": 1.4, "UPDATE_4": 1.6})
    v = pb.verdicts(load_records(tmp_path / "a", good))
    assert v["004-skip-11.0"]["verdict"] == CONFIRMED and v["004-update-10.9"]["verdict"] == CONFIRMED
    assert v["004-marginal-0.1"]["verdict"] == CONFIRMED
    assert v["004-real-differentiates"]["verdict"] == CONFIRMED
    bad = full("synthetic", {"SKIP": 9.5, "UPDATE_1": 9.6, "UPDATE_2": 9.7, "UPDATE_4": 10.95}) + \
        full("stdlib-heldout", {"SKIP": 2.0, "UPDATE_1": 2.0, "UPDATE_2": 2.0, "UPDATE_4": 2.1})
    v = pb.verdicts(load_records(tmp_path / "b", bad))
    assert v["004-skip-11.0"]["verdict"] == REFUTED and v["004-update-10.9"]["verdict"] == PARTIAL
    assert v["004-marginal-0.1"]["verdict"] == REFUTED            # updates are worse
    assert v["004-real-differentiates"]["verdict"] == REFUTED     # 0.1 < 1.45


def test_cost_claims_need_flops_and_time_to_agree(tmp_path):
    base = {"SKIP": 11.0, "UPDATE_1": 10.9, "UPDATE_2": 10.9, "UPDATE_4": 10.9}
    rs = full("synthetic", base, UPDATE_1={"flops": 3.0, "time": 3.8},
              UPDATE_2={"flops": 6.0, "time": 12.0}, UPDATE_4={"flops": 1.01, "time": 1.02})
    v = pb.verdicts(load_records(tmp_path, rs))
    assert v["004-cost-update_1"]["verdict"] == CONFIRMED
    assert v["004-cost-update_2"]["verdict"] == PARTIAL          # FLOPs in band, time 2.4x
    assert v["004-cost-update_4"]["verdict"] == REFUTED          # both ~1x, documented 12x


def test_errors_refute_and_random_backbone_is_never_judged(tmp_path):
    ok = full("synthetic", {"SKIP": 11.0, "UPDATE_1": 10.9, "UPDATE_2": 10.9, "UPDATE_4": 10.9})
    assert pb.verdicts(load_records(tmp_path / "a", ok))["004-no-errors"]["verdict"] == CONFIRMED
    err = ok + [rec("ttt", "go", "gate", "rate=0.5", 0, 1.0, status="error")]
    assert pb.verdicts(load_records(tmp_path / "b", err))["004-no-errors"]["verdict"] == REFUTED
    rnd = [rec("full", "synthetic", "fixed", a, 0, 11.0, backbone="gpt2-random") for a in COST]
    assert pb.verdicts(load_records(tmp_path / "c", rnd)) == {}


def test_fixed_frontier_is_the_lower_hull():
    fx = {"SKIP": 3.0, "UPDATE_1": 2.9, "UPDATE_2": 2.95, "UPDATE_4": 2.7}
    assert pb.fixed_frontier(fx, 1.0) == pytest.approx(3.0)
    # UPDATE_1 is below the SKIP-UPDATE_4 chord at cost 3 (3 - 0.3 * 2/11 = 2.945)
    assert pb.fixed_frontier(fx, 3.0) == pytest.approx(2.9)
    assert pb.fixed_frontier(fx, 2.0) == pytest.approx(2.95)
    assert pb.fixed_frontier({"SKIP": 3.0, "UPDATE_1": 3.1, "UPDATE_2": 3.2, "UPDATE_4": 3.3}, 5) == 3.0


def test_versus_fixed_rule_both_ways():
    assert pb.versus_fixed([-0.05, -0.04, -0.06]) == "beats"
    assert pb.versus_fixed([0.05, 0.04, 0.06]) == "worse"
    assert pb.versus_fixed([-0.05, 0.04, 0.01]) == "tie"
    assert pb.versus_fixed([-0.05]) == "n/a"                       # one seed: no interval


def test_ttt_table_and_headline(tmp_path):
    fx = {"SKIP": 3.0, "UPDATE_1": 2.9, "UPDATE_2": 2.85, "UPDATE_4": 2.8}
    rs = []
    for s in range(3):
        rs += [rec("ttt", "go", "fixed", a, s, x, skip=3.0, fixed=fx) for a, x in fx.items()]
        rs.append(rec("ttt", "go", "gate", "rate=0.5", s, 2.88 - 0.001 * s, cost=2.0, skip=3.0,
                      fixed=fx, oracle=2.8))
    tab = pb.ttt_table(load_records(tmp_path, rs))
    gate = [r for r in tab["go"] if r["method"] == "gate"][0]
    assert gate["verdict vs fixed"] == "beats"                    # 2.88 < 2.95 at cost 2
    assert gate["recovery"] == pytest.approx((0.12 + 0.121 + 0.122) / 0.6)
    assert "beats the best fixed mix" in pb.headline(tab)[0]
    assert pb.formatted(tab["go"])[0]["loss"] == "3.0000"
