"""The library's speed targets: MET, MISSED, NOT MEASURED on synthetic records."""
from __future__ import annotations

import synth
from report_testlib import load_records

from rtrl_moe.report import targets as tg

SLOTS = dict(synth.MODEL, n_slots=8, topk_read=2, topk_write=2, d_ff=64)
EXPERTS = dict(synth.MODEL, n_slots=4, n_experts=8, topk=2, d_ff=256)


def param_counts(model: dict) -> dict:
    """The counts the bench writes into a record, from a built model (the report reads them)."""
    from rtrl_moe.flops import expert_param_count, state_param_count
    from rtrl_moe.moe import MoEConfig, RecurrentMoE
    m = RecurrentMoE(MoEConfig(**model))
    return {"n_expert_params": expert_param_count(m), "n_state_params": state_param_count(m)}


def pair(model, slow, fast, t_slow, t_fast, fraction=0.8, run="run-a", seeds=(0, 1, 2),
         load=None, floor=None):
    """``len(seeds)`` pairs (a speedup is decided on >= 3) of the two learners in one run."""
    out = []
    for seed in seeds:
        for lr, t in ((slow, t_slow), (fast, t_fast)):
            m = synth.measure_metrics(lr, 32)
            m.update(time_step_median_ns=t, time_step_iqr_ns=t // 100, matmul_fraction=fraction,
                     **param_counts(model))
            if load is not None:
                m.update(load_avg_1m=load, threads=1)
            if floor is not None:
                m.update(floor_fraction=floor, floor_ns_per_step=floor * t)
            out.append(synth.record("measure", lr, 32, m, model=model, run_id=run, seed=seed,
                                    kwargs={"n": 16} if lr == "tree-rtrl" else {}))
    return out


def verdicts(df):
    return {r["id"]: r["verdict"] for r in tg.evaluate(df)}


def test_met_when_the_ratios_and_fractions_reach_the_targets(tmp_path):
    recs = pair(SLOTS, "rtrl", "sparse-rtrl", 3_500, 1_000) + pair(EXPERTS, "sparse-rtrl", "tree-rtrl",
                                                                    1_800, 1_000)
    v = verdicts(load_records(tmp_path, recs))
    assert {k: v[k] for k in ("slots-3x", "experts-1.5x", "matmul-50pct")} == \
        {"slots-3x": tg.MET, "experts-1.5x": tg.MET, "matmul-50pct": tg.MET}


def test_missed_below_the_targets(tmp_path):
    recs = (pair(SLOTS, "rtrl", "sparse-rtrl", 2_500, 1_000, fraction=0.3)
            + pair(EXPERTS, "sparse-rtrl", "tree-rtrl", 1_400, 1_000))
    v = verdicts(load_records(tmp_path, recs))
    assert {k: v[k] for k in ("slots-3x", "experts-1.5x", "matmul-50pct")} == \
        {"slots-3x": tg.MISSED, "experts-1.5x": tg.MISSED, "matmul-50pct": tg.MISSED}


def test_pairs_only_within_one_run_and_on_the_named_config(tmp_path):
    # Different runs cannot be paired; the documents' 4-slot config does not count for slots-3x;
    # 4 experts with small d_ff is not an expert-heavy config.
    split = pair(SLOTS, "rtrl", "sparse-rtrl", 9_000, 1_000)
    split[1]["run_id"] = "run-b"
    recs = split + pair(synth.MODEL, "rtrl", "sparse-rtrl", 9_000, 1_000)
    recs += pair(dict(synth.MODEL, n_experts=8, d_ff=4), "sparse-rtrl", "tree-rtrl", 9_000, 1_000)
    v = verdicts(load_records(tmp_path, recs))
    assert v["slots-3x"] == tg.NOT_MEASURED and v["experts-1.5x"] == tg.NOT_MEASURED


def test_a_record_without_expert_counts_is_not_the_experts_config(tmp_path):
    recs = pair(EXPERTS, "sparse-rtrl", "tree-rtrl", 9_000, 1_000)
    for r in recs:
        del r["metrics"]["n_expert_params"]
    v = verdicts(load_records(tmp_path, recs))
    assert v["experts-1.5x"] == tg.NOT_MEASURED


def test_empty_results_are_not_measured():
    import pandas as pd
    assert set(verdicts(pd.DataFrame()).values()) == {tg.NOT_MEASURED}


def test_one_pair_decides_nothing(tmp_path):
    recs = pair(SLOTS, "rtrl", "sparse-rtrl", 9_000, 1_000, seeds=(0,))
    row = [r for r in tg.evaluate(load_records(tmp_path, recs)) if r["id"] == "slots-3x"][0]
    assert row["verdict"] == tg.NOT_MEASURED and "needs >= 3 pairs" in row["measured"]


def test_other_widths_are_never_pooled_into_the_targets(tmp_path):
    # 3 fast pairs at d_model 16 beside 3 slow ones at 32: the target reads the 32 ones only
    recs = (pair(dict(SLOTS, d_model=16), "rtrl", "sparse-rtrl", 9_000, 1_000)
            + pair(SLOTS, "rtrl", "sparse-rtrl", 2_000, 1_000, run="run-b"))
    assert verdicts(load_records(tmp_path, recs))["slots-3x"] == tg.MISSED


def test_timings_under_load_are_flagged(tmp_path):
    recs = pair(SLOTS, "rtrl", "sparse-rtrl", 3_500, 1_000, load=2.7)
    row = [r for r in tg.evaluate(load_records(tmp_path, recs)) if r["id"] == "slots-3x"][0]
    assert "UNDER LOAD: 6 of 6 timing(s), load average up to 2.7" in row["measured"]
    recs = pair(SLOTS, "rtrl", "sparse-rtrl", 3_500, 1_000, load=1.2)
    row = [r for r in tg.evaluate(load_records(tmp_path, recs)) if r["id"] == "slots-3x"][0]
    assert "UNDER LOAD" not in row["measured"]


def test_floor_targets_met_and_missed_per_config(tmp_path):
    doc = dict(synth.MODEL, d_model=32, n_slots=4, n_experts=4, topk=2, topk_read=2, topk_write=2, d_ff=64)
    d16 = dict(SLOTS, d_model=16, d_ff=32)
    recs = pair(doc, "sparse-rtrl", "tree-rtrl", 1_000, 900, floor=0.8) + \
        pair(d16, "rtrl", "sparse-rtrl", 2_000, 1_000, floor=0.3, run="run-b")
    v = verdicts(load_records(tmp_path, recs))
    assert v["floor-doc-1.3x"] == tg.MET and v["floor-d16-1.6x"] == tg.MISSED
    # one learner below the bar misses it
    recs = pair(doc, "sparse-rtrl", "tree-rtrl", 1_000, 900, floor=0.8)
    for r in recs:
        if r["config"]["learner"] == "tree-rtrl":
            r["metrics"]["floor_fraction"] = 0.5
    assert verdicts(load_records(tmp_path / "b", recs))["floor-doc-1.3x"] == tg.MISSED
    assert verdicts(load_records(tmp_path / "c", []))["floor-doc-1.3x"] == tg.NOT_MEASURED


def test_matmul_rate_is_judged_per_config(tmp_path):
    """sparse-rtrl at 0.9 on the slots config (4 pairs) and 0.3 on the experts config (3):
    pooled, its median would pass the 50% bar."""
    recs = pair(SLOTS, "rtrl", "sparse-rtrl", 3_500, 1_000, fraction=0.9, seeds=(0, 1, 2, 3)) + \
        pair(EXPERTS, "sparse-rtrl", "tree-rtrl", 1_800, 1_000, fraction=0.3, run="run-b")
    row = [r for r in tg.evaluate(load_records(tmp_path, recs)) if r["id"] == "matmul-50pct"][0]
    assert row["verdict"] == tg.MISSED
    assert "slots sparse-rtrl 0.90" in row["measured"] and "experts sparse-rtrl 0.30" in row["measured"]


def test_floor_d16_judges_each_config_apart(tmp_path):
    """slots16 at 0.9 and experts16 at 0.5: pooled, the median (0.7) would pass the 0.625 bar;
    per config, experts16 misses it."""
    slots16 = dict(SLOTS, d_model=16, d_ff=64)
    experts16 = dict(EXPERTS, d_model=16, d_ff=256)
    recs = pair(slots16, "sparse-rtrl", "tree-rtrl", 1_000, 900, floor=0.9, seeds=(0, 1, 2, 3)) + \
        pair(experts16, "sparse-rtrl", "tree-rtrl", 1_000, 900, floor=0.5, run="run-b")
    row = [r for r in tg.evaluate(load_records(tmp_path, recs)) if r["id"] == "floor-d16-1.6x"][0]
    assert row["verdict"] == tg.MISSED
    assert "slots16 sparse-rtrl B=1 0.90" in row["measured"]
    assert "experts16 sparse-rtrl B=1 0.50" in row["measured"]


def test_d16_speedups_have_the_d32_bars_and_are_judged_apart(tmp_path):
    recs = pair(dict(SLOTS, d_model=16, d_ff=32), "rtrl", "sparse-rtrl", 2_000, 1_000)
    rows = {r["id"]: r for r in tg.evaluate(load_records(tmp_path, recs))}
    assert rows["slots16"]["verdict"] == tg.MISSED and "median 2.00x" in rows["slots16"]["measured"]
    assert rows["slots-3x"]["verdict"] == tg.NOT_MEASURED
    recs = pair(dict(SLOTS, d_model=16, d_ff=32), "rtrl", "sparse-rtrl", 3_100, 1_000)
    rows = {r["id"]: r for r in tg.evaluate(load_records(tmp_path / "met", recs))}
    assert rows["slots16"]["verdict"] == tg.MET


def test_a_missed_floor_row_says_where_the_rest_of_the_step_goes(tmp_path):
    doc = dict(synth.MODEL, d_model=32, n_slots=4, n_experts=4, topk=2, topk_read=2, topk_write=2)
    recs = pair(doc, "sparse-rtrl", "tree-rtrl", 1_000, 1_000, floor=0.5)
    for r in recs:
        r["metrics"]["phase_ns_per_step"] = {"jacobian": 3e6, "update": 9e6, "readout": 1e6,
                                             "other": 0.0}
    row = {r["id"]: r for r in tg.evaluate(load_records(tmp_path, recs))}["floor-doc-1.3x"]
    assert row["verdict"] == tg.MISSED
    assert "step phases: jacobian 3.00, update 9.00, readout 1.00, other 0.00 ms" in row["measured"]
