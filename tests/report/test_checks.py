"""Check functions on targeted synthetic data: NOT MEASURED when rows are missing, REFUTED when the
data contradicts the claim, CONFIRMED when it agrees."""
from __future__ import annotations

import pandas as pd
import pytest
import synth
from report_testlib import load_records

from rtrl_moe.report import checks as c
from rtrl_moe.report.claims import by_id

CL = by_id()


def verdict(claim_id, df):
    return CL[claim_id].evaluate(df).verdict


def measure(learners, lengths=synth.LENGTHS, tweak=None, **kw):
    recs = synth.measure_records(learners=learners, lengths=lengths, **kw)
    for r in recs:
        if tweak:
            tweak(r)
    return recs


def test_evidence_rejects_unknown_verdict():
    with pytest.raises(ValueError):
        c.Evidence("TRUE", "x")


def test_combine():
    E = lambda v: c.Evidence(v, "x")  # noqa: E731
    assert c.combine([E(c.CONFIRMED), E(c.CONFIRMED)]) == c.CONFIRMED
    assert c.combine([E(c.CONFIRMED), E(c.REFUTED)]) == c.PARTIAL
    assert c.combine([E(c.REFUTED), E(c.NOT_MEASURED)]) == c.REFUTED
    assert c.combine([E(c.CONFIRMED), E(c.NOT_MEASURED)]) == c.PARTIAL
    assert c.combine([E(c.NOT_MEASURED)]) == c.NOT_MEASURED


# ---------------------------------------------------------------- memory shape
def test_constant_memory_refuted_when_rtrl_grows(tmp_path):
    def grow(r):
        r["metrics"]["tensor_bytes_peak"] += 5000 * r["config"]["seq_len"]
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl", "tree-rtrl"), tweak=grow))
    assert verdict("000-rtrl-80mb", df) == c.REFUTED
    assert verdict("001-rtrl-10k", df) == c.REFUTED


def test_constant_memory_partial_when_one_learner_grows(tmp_path):
    def grow(r):
        if r["config"]["learner"] == "tree-rtrl":
            r["metrics"]["tensor_bytes_peak"] += 5000 * r["config"]["seq_len"]
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl", "tree-rtrl"), tweak=grow))
    assert verdict("000-rtrl-80mb", df) == c.PARTIAL


def test_constant_memory_confirmed_at_50k(tmp_path):
    df = load_records(tmp_path, measure(("sparse-rtrl",), lengths=(1000, 10_000, 50_000)))
    assert verdict("000-const-50k", df) == c.CONFIRMED
    assert verdict("000-peak-82mb", df) == c.CONFIRMED


def test_constant_memory_needs_two_lengths(tmp_path):
    df = load_records(tmp_path, measure(("rtrl",), lengths=(64,)))
    assert verdict("000-rtrl-80mb", df) == c.NOT_MEASURED


def test_bptt_growth_refuted_when_constant(tmp_path):
    def flat(r):
        r["metrics"]["tensor_bytes_peak"] = 1_000_000
    df = load_records(tmp_path, measure(("bptt",), tweak=flat))
    assert verdict("000-bptt-linear", df) == c.REFUTED


def test_growth_two_percent_threshold():
    T = pd.Series([32.0, 2048.0]).to_numpy()
    assert c.Curve("x", "k", T, pd.Series([100.0, 101.9]).to_numpy(), pd.DataFrame()).constant
    assert not c.Curve("x", "k", T, pd.Series([100.0, 102.1]).to_numpy(), pd.DataFrame()).constant


# ---------------------------------------------------------------- arithmetic and magnitude
def test_512_bytes_confirmed_only_if_h_times_p_is_that_small(tmp_path):
    def tiny(r):
        r["metrics"]["n_state_params"] = 1
        if r["config"]["learner"] in ("rtrl", "sparse-rtrl", "tree-rtrl"):
            r["metrics"]["tensor_bytes_learner_state"] = 512
    df = load_records(tmp_path, measure(("rtrl",), tweak=tiny))
    assert verdict("003-dna-rtrl", df) == c.CONFIRMED      # H x P x 4 = 128 x 1 x 4 = 512 B
    df = load_records(tmp_path, measure(("rtrl",)))
    assert verdict("003-dna-rtrl", df) == c.REFUTED        # H x P x 4 = 10.6 MiB


def test_document_arithmetic_is_checked_without_records():
    ev = CL["003-llm-rtrl"].evaluate(pd.DataFrame())       # 8 GB / 8 KB is ~10^6, not 3000
    assert ev.verdict == c.REFUTED
    ev = CL["003-dna-bptt"].evaluate(pd.DataFrame())       # 3e9 x 128 x 4 = 1.536 TB: holds
    assert ev.verdict == c.NOT_MEASURED


def test_bptt_per_token_confirmed_when_it_saves_only_hidden_states(tmp_path):
    def hidden_only(r):
        r["metrics"]["tensor_bytes_saved_peak"] = 512 * r["config"]["seq_len"]
    df = load_records(tmp_path, measure(("bptt",), tweak=hidden_only))
    assert verdict("002-bptt-growth", df) == c.CONFIRMED
    df = load_records(tmp_path, measure(("bptt",)))          # ~6 KB/token: 11.7x the documented
    assert verdict("002-bptt-growth", df) == c.PARTIAL


def test_h_value(tmp_path):
    def wrong(r):
        r["metrics"]["H"] = 64
    df = load_records(tmp_path, measure(("rtrl",), tweak=wrong))
    assert verdict("003-H128", df) == c.REFUTED


def test_flops_ratio_arithmetic_follows_config(tmp_path):
    def three_reads(r):
        r["config"]["model"]["topk_read"] = 3
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl"), tweak=three_reads))
    assert verdict("003-0.25x", df) == c.NOT_MEASURED           # (2/4) x (3/4) = 0.375: not the documents'
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl")))
    assert verdict("003-0.25x", df) == c.CONFIRMED

    def half(r):
        if r["config"]["learner"] == "sparse-rtrl":
            r["metrics"]["sensitivity_flops_per_step"] *= 2      # 0.5x of dense, not 0.25x
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl"), tweak=half))
    assert verdict("003-0.25x", df) == c.REFUTED
    assert verdict("001-write-sparsity", df) == c.REFUTED


def test_flops_ratio_partial_when_time_does_not_follow(tmp_path):
    def slow(r):
        if r["config"]["learner"] == "sparse-rtrl":
            r["metrics"]["sensitivity_ns_per_step"] *= 3
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl"), tweak=slow))
    assert verdict("001-write-sparsity", df) == c.PARTIAL


# ---------------------------------------------------------------- time
def test_tree_speedup_refuted_when_tree_is_slower(tmp_path):
    def slow_tree(r):
        if r["config"]["learner"] == "tree-rtrl":
            r["metrics"]["time_step_median_ns"] *= 20
    df = load_records(tmp_path, measure(("sparse-rtrl", "tree-rtrl"), tweak=slow_tree))
    assert verdict("002-tree-anbn", df) == c.REFUTED
    assert verdict("002-tree-1.5-2.7x", df) == c.REFUTED


def test_tree_speedup_partial_when_faster_but_off(tmp_path):
    def faster_tree(r):
        if r["config"]["learner"] == "tree-rtrl":
            r["metrics"]["time_step_median_ns"] //= 3      # 2.4x -> 7x
    df = load_records(tmp_path, measure(("sparse-rtrl", "tree-rtrl"), tweak=faster_tree))
    assert verdict("002-tree-anbn", df) == c.PARTIAL


def test_speedup_needs_pairs_in_the_same_run(tmp_path):
    recs = measure(("sparse-rtrl",)) + measure(("tree-rtrl",), run_id="another-run")
    df = load_records(tmp_path, recs)
    assert verdict("002-tree-anbn", df) == c.NOT_MEASURED


def test_time_linear_refuted_when_quadratic(tmp_path):
    def quad(r):
        T = r["config"]["seq_len"]
        r["metrics"]["time_step_median_ns"] = 1000 * T * T
    df = load_records(tmp_path, measure(("sparse-rtrl", "tree-rtrl"), tweak=quad))
    assert verdict("003-time-linear", df) == c.REFUTED


# ---------------------------------------------------------------- lengths, budgets, OOM
def test_bptt_impossible_refuted_when_it_ran(tmp_path):
    df = load_records(tmp_path, measure(("bptt",), lengths=(20_000,)))
    assert verdict("002-bptt-impossible-10k", df) == c.REFUTED


def test_bptt_impossible_confirmed_when_oom(tmp_path):
    recs = [synth.record("measure", "bptt", 20_000, {}, status="oom", budget_mb=64),
            *measure(("sparse-rtrl",), lengths=(20_000,))]
    df = load_records(tmp_path, recs)
    assert verdict("002-bptt-impossible-10k", df) == c.CONFIRMED
    assert verdict("000-bptt-fails-10k", df) == c.CONFIRMED


def test_oom_budget_refuted_when_bptt_never_runs_out(tmp_path):
    recs = [synth.record("measure", "bptt", T, synth.measure_metrics("bptt", T), budget_mb=4096)
            for T in (512, 1024, 2048, 4096)]
    df = load_records(tmp_path, recs)
    assert verdict("000-bptt-oom-1024", df) == c.REFUTED


def test_only_practical_refuted_by_checkpointing(tmp_path):
    df = load_records(tmp_path, measure(("ckpt-bptt", "tree-rtrl"), lengths=(20_000,)))
    assert verdict("002-only-practical", df) == c.REFUTED


def test_no_overhead_refuted_when_tree_doubles_state(tmp_path):
    def big(r):
        if r["config"]["learner"] in ("tree-rtrl", "sparse-rtrl"):
            r["metrics"]["tensor_bytes_learner_state"] *= 2
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl", "tree-rtrl"), tweak=big))
    assert verdict("002-no-overhead", df) == c.REFUTED


# ---------------------------------------------------------------- gradients
def test_documents_formula_confirmed_if_exact(tmp_path):
    recs = [synth.record("agree", "sparse-rtrl-readonly", T, synth.agree_metrics(1e-13), dtype="float64")
            for T in (16, 64)]
    df = load_records(tmp_path, recs)
    assert verdict("001-sparse-formula", df) == c.CONFIRMED


def test_exact_refuted_when_rtrl_is_not(tmp_path):
    recs = [synth.record("agree", "rtrl", T, synth.agree_metrics(1e-6), dtype="float64") for T in (16, 64)]
    df = load_records(tmp_path, recs)
    assert verdict("000-exact", df) == c.REFUTED
    assert verdict("001-exact-recursion", df) == c.REFUTED


def test_float32_rows_do_not_count_for_exactness(tmp_path):
    recs = [synth.record("agree", "rtrl", 16, synth.agree_metrics(1e-7), dtype="float32")]
    df = load_records(tmp_path, recs)
    assert verdict("001-exact-recursion", df) == c.NOT_MEASURED


def test_truncation_bias_refuted_when_tbptt_is_exact(tmp_path):
    recs = [synth.record("agree", "tbptt", 64, synth.agree_metrics(1e-14), dtype="float64", kwargs={"k": 8})]
    df = load_records(tmp_path, recs)
    assert verdict("001-tbptt-bias", df) == c.REFUTED


# ---------------------------------------------------------------- accuracy
def three_way_records(rtrl_accs):
    out = []
    for lr, mt, accs in (("bptt", "rnn", (0.30, 0.31, 0.29)), ("bptt", "moe", (0.20, 0.21, 0.19)),
                         ("sparse-rtrl", "moe", rtrl_accs)):
        for seed, a in enumerate(accs):
            out.append(synth.record("train", lr, 128, synth.train_metrics(a, steps=80), task="stream", seed=seed,
                                    model_type=mt, lr=2e-3, steps=80))
    return out


def test_three_way_winner(tmp_path):
    df = load_records(tmp_path, three_way_records((0.35, 0.36, 0.34)))
    assert verdict("003-128-winner", df) == c.CONFIRMED
    df = load_records(tmp_path, three_way_records((0.10, 0.11, 0.09)))
    assert verdict("003-128-winner", df) == c.REFUTED
    assert verdict("003-comparable", df) == c.REFUTED


def test_accuracy_needs_three_seeds(tmp_path):
    recs = [synth.record("train", "bptt", 16, synth.train_metrics(a), task="anbn", seed=s, lr=2e-3, steps=5000)
            for s, a in enumerate((0.95, 0.96))]
    df = load_records(tmp_path, recs)
    ev = CL["001-anbn-bptt-95"].evaluate(df)
    assert ev.verdict == c.NOT_MEASURED and "seeds" in ev.measured_text


def test_accuracy_not_measured_when_runs_too_short(tmp_path):
    recs = [synth.record("train", "bptt", 16, synth.train_metrics(a, steps=100), task="anbn", seed=s, lr=2e-3,
                         steps=100) for s, a in enumerate((0.5, 0.55, 0.52))]
    df = load_records(tmp_path, recs)
    assert verdict("001-anbn-bptt-95", df) == c.NOT_MEASURED
    recs = [dict(r, config=dict(r["config"], steps=6000)) for r in recs]
    df = load_records(tmp_path, recs)
    assert verdict("001-anbn-bptt-95", df) == c.REFUTED


# ---------------------------------------------------------------- GPU
def test_gpu_claims_measured_with_gpu_results(tmp_path):
    df = load_records(tmp_path, synth.gpu_records())
    assert verdict("000-gpu-speedup", df) == c.CONFIRMED      # fixture: cuda 10x faster
    assert verdict("003-gpu-1m", df) == c.NOT_MEASURED        # no OOM, no GPU capacity in records
    recs = synth.gpu_records() + [synth.record("measure", "bptt", 1_000_000, {}, status="oom", device="cuda",
                                               machine=synth.GPU_MACHINE, budget_mb=80_000)]
    df = load_records(tmp_path, recs)
    assert verdict("003-gpu-1m", df) == c.CONFIRMED


def test_flops_ratio_documents_update_vs_exact(tmp_path):
    def exact_costs_more(r):
        if r["config"]["learner"] == "sparse-rtrl":
            r["metrics"]["sensitivity_flops_per_step"] *= 2      # exact: 0.5x; the documents' update: 0.25x
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl", "sparse-rtrl-readonly"), tweak=exact_costs_more))
    ev = CL["003-0.25x"].evaluate(df)
    assert ev.verdict == c.PARTIAL and "sparse-rtrl-readonly: CONFIRMED" in ev.measured_text


def test_tree_rtrl_filling_its_buffer_is_not_growth_in_T(tmp_path):
    # Within its first n steps tree-rtrl's Jacobian buffer is still filling; past it, flat.
    def short_run(r):
        if r["config"]["learner"] == "tree-rtrl" and r["config"]["seq_len"] <= 16:
            r["metrics"]["tensor_bytes_peak"] //= 2
    recs = measure(("rtrl", "sparse-rtrl", "tree-rtrl"), lengths=(8, 64, 256, 1024), tweak=short_run)
    assert verdict("000-rtrl-80mb", load_records(tmp_path, recs)) == c.CONFIRMED

    def grows(r):
        if r["config"]["learner"] == "tree-rtrl" and r["config"]["seq_len"] >= 1024:
            r["metrics"]["tensor_bytes_peak"] *= 2
    recs = measure(("rtrl", "sparse-rtrl", "tree-rtrl"), lengths=(8, 64, 256, 1024), tweak=grows)
    assert verdict("000-rtrl-80mb", load_records(tmp_path / "b", recs)) == c.PARTIAL
