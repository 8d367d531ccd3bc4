"""Document 004 on the pretrained backbone (issue 32): each on-bench rule comes out both ways,
the cost claims only ever read the full-weight mode, and everything is against the bare model."""
import pytest
import synth
from report_testlib import load_records

from rtrl_moe.report import extras
from rtrl_moe.report import ponder_bench as pb
from rtrl_moe.report.evidence import CONFIRMED, PARTIAL, REFUTED

COST = {"bare": 1, "SKIP": 1, "UPDATE_1": 3, "UPDATE_2": 5, "UPDATE_4": 12}


def rec(update, data, action, seed, loss, *, setting=None, cost=None, status="ok",
        backbone="smollm2-135m", flops=None, time=None, recovery=None):
    r = synth.record("agree", "bptt", 1, {})
    r["config"] = {"kind": "ponder", "label": "issue32", "backbone": backbone, "update": update,
                   "data": data, "seed": seed, "action": action, "setting": setting or action,
                   "device": "cpu", "model_scale": backbone}
    r["status"] = status
    c = cost if cost is not None else COST.get(action, 1)
    r["metrics"] = {"loss": loss, "avg_cost": c, "recovery": recovery, "n_chunks": 8,
                    "flops_ratio": flops if flops is not None else {3: 3.0, 5: 6.0, 12: 12.0}.get(c, 1.0),
                    "time_ratio": time if time is not None else 1.0}
    return r


def fixed(update, data, losses, seed=0, **kw):
    return [rec(update, data, a, seed, x, **kw.get(a, {})) for a, x in losses.items()]


def test_loss_claims_both_ways(tmp_path):
    good = fixed("full", "synthetic", {"SKIP": 11.0, "UPDATE_1": 10.9, "UPDATE_2": 10.88, "UPDATE_4": 10.92}) + \
        fixed("full", "stdlib-heldout", {"SKIP": 2.0, "UPDATE_1": 1.5, "UPDATE_2": 1.4, "UPDATE_4": 1.6})
    v = pb.verdicts(load_records(tmp_path / "a", good))
    assert v["004-skip-11.0"]["verdict"] == CONFIRMED and v["004-update-10.9"]["verdict"] == CONFIRMED
    assert v["004-marginal-0.1"]["verdict"] == CONFIRMED
    assert v["004-real-differentiates"]["verdict"] == CONFIRMED
    bad = fixed("full", "synthetic", {"SKIP": 9.5, "UPDATE_1": 9.6, "UPDATE_2": 9.7, "UPDATE_4": 10.95}) + \
        fixed("full", "stdlib-heldout", {"SKIP": 2.0, "UPDATE_1": 2.0, "UPDATE_2": 2.0, "UPDATE_4": 2.1})
    v = pb.verdicts(load_records(tmp_path / "b", bad))
    assert v["004-skip-11.0"]["verdict"] == REFUTED and v["004-update-10.9"]["verdict"] == PARTIAL
    assert v["004-marginal-0.1"]["verdict"] == REFUTED
    assert v["004-real-differentiates"]["verdict"] == REFUTED


def test_cost_claims_need_flops_and_time_to_agree(tmp_path):
    base = {"SKIP": 11.0, "UPDATE_1": 10.9, "UPDATE_2": 10.9, "UPDATE_4": 10.9}
    rs = fixed("full", "synthetic", base, UPDATE_1={"flops": 3.0, "time": 3.8},
               UPDATE_2={"flops": 6.0, "time": 12.0}, UPDATE_4={"flops": 1.01, "time": 1.02})
    v = pb.verdicts(load_records(tmp_path, rs))
    assert v["004-cost-update_1"]["verdict"] == CONFIRMED
    assert v["004-cost-update_2"]["verdict"] == PARTIAL          # FLOPs in band, time 2.4x
    assert v["004-cost-update_4"]["verdict"] == REFUTED          # both ~1x, documented 12x


def test_cost_is_the_full_modes_even_when_the_ttt_mode_would_pass(tmp_path):
    """No mode picking: the TTT mode at exactly 3x/5x/12x, the full mode at 1x: REFUTED on the
    bench, and the claim's final verdict is not CONFIRMED."""
    base = {"SKIP": 11.0, "UPDATE_1": 10.9, "UPDATE_2": 10.9, "UPDATE_4": 10.9}
    ttt = fixed("ttt", "synthetic", base, **{a: {"flops": float(COST[a]), "time": float(COST[a])}
                                             for a in pb.UPDATES})
    full = fixed("full", "synthetic", base, **{a: {"flops": 1.0, "time": 1.0} for a in pb.UPDATES})
    df = load_records(tmp_path, ttt + full)
    v = pb.verdicts(df)
    claims = {c["id"]: c for c in extras.ponder_claims(df)}
    for a in pb.UPDATES:
        cid = f"004-cost-{a.lower()}"
        assert v[cid]["verdict"] == REFUTED
        assert claims[cid]["on_bench"]["verdict"] == REFUTED
        assert claims[cid]["verdict"] not in (CONFIRMED, PARTIAL)
    assert pb.verdicts(load_records(tmp_path / "t", ttt)).get("004-cost-update_1") is None


def test_errors_refute_and_random_backbone_is_never_judged(tmp_path):
    ok = fixed("full", "synthetic", {"SKIP": 11.0, "UPDATE_1": 10.9, "UPDATE_2": 10.9, "UPDATE_4": 10.9})
    assert pb.verdicts(load_records(tmp_path / "a", ok))["004-no-errors"]["verdict"] == CONFIRMED
    err = ok + [rec("ttt", "go", "gate", 0, 1.0, status="error")]
    assert pb.verdicts(load_records(tmp_path / "b", err))["004-no-errors"]["verdict"] == REFUTED
    rnd = [rec("full", "synthetic", a, 0, 11.0, backbone="gpt2-random") for a in pb.NOMINAL]
    assert pb.verdicts(load_records(tmp_path / "c", rnd)) == {}


def test_fixed_frontier_is_the_lower_hull():
    fx = {"SKIP": 3.0, "UPDATE_1": 2.9, "UPDATE_2": 2.95, "UPDATE_4": 2.7}
    assert pb.fixed_frontier(fx, 1.0) == pytest.approx(3.0)
    assert pb.fixed_frontier(fx, 3.0) == pytest.approx(2.9)
    assert pb.fixed_frontier(fx, 2.0) == pytest.approx(2.95)
    assert pb.fixed_frontier({"SKIP": 3.0, "UPDATE_1": 3.1, "UPDATE_2": 3.2, "UPDATE_4": 3.3}, 5) == 3.0


def test_versus_fixed_rule_both_ways():
    assert pb.versus_fixed([-0.05, -0.04, -0.06]) == "beats"
    assert pb.versus_fixed([0.05, 0.04, 0.06]) == "worse"
    assert pb.versus_fixed([-0.05, 0.04, 0.01]) == "tie"
    assert pb.versus_fixed([-0.05]) == "n/a"


def _frontier(skip=3.0, oracle=2.75, gate_rec=(0.5, 0.0, 0.4)):
    fx = {"SKIP": skip, "UPDATE_1": 2.9, "UPDATE_2": 2.85, "UPDATE_4": 2.8}
    rs = []
    for s in range(3):
        rs += fixed("ttt", "go", fx, s) + [rec("ttt", "go", "bare", s, 3.0)]
        rs.append(rec("ttt", "go", "gate", s, 2.88 - 0.001 * s, setting="budget=2", cost=2.0,
                      recovery=gate_rec[s]))
        rs.append(rec("ttt", "go", "oracle", s, oracle, setting="unconstrained", cost=6.0))
    return rs


def test_table_against_bare_recovery_counts_every_seed(tmp_path):
    df = load_records(tmp_path, _frontier())
    rows = pb.table(df, "ttt")["go"]
    assert [r["action"] for r in rows][:2] == ["bare", "SKIP"]
    gate = [r for r in rows if r["action"] == "gate"][0]
    assert gate["verdict vs fixed"] == "beats"                    # 2.88 < 2.95 at cost 2
    assert gate["recovery"] == pytest.approx(0.3)                 # the seed at 0 counts
    assert gate["recovery range"] == "0.00..0.50"
    assert gate["loss - bare"] == pytest.approx(-0.121)
    assert pb.bare_findings(df) == []
    assert "beats the best fixed mix" in pb.headline(df)[0]
    f = extras.ponder_finding(df)
    assert set(f) == {"key", "title", "text", "anchor"} and f["key"] == "ponderttt"
    assert f["anchor"] == "ponder-pretrained" and "bare backbone" in f["text"]


def test_skip_or_oracle_worse_than_bare_is_said(tmp_path):
    df = load_records(tmp_path, _frontier(skip=3.5, oracle=3.2))
    warn = pb.bare_findings(df)
    assert any("SKIP is WORSE than the bare backbone" in w for w in warn)
    assert any("oracle is WORSE" in w for w in warn)
    sec = extras.ponder_pretrained_section(df)
    assert sec["headline"][:len(warn)] == warn and sec["tables"]


def test_sections_and_figure(tmp_path):
    df = load_records(tmp_path, _frontier())
    sec = extras.ponder_frontier_section(df)
    assert sec["figure"] is not None and sec["tables"][0]["rows"][0]["verdict vs fixed"] == "beats"
    assert "1 beat" in sec["headline"][0]
    empty = load_records(tmp_path / "e", synth.measure_records())
    assert extras.ponder_frontier_section(empty)["figure"] is None
    assert "not measured" in extras.ponder_finding(empty)["text"]
