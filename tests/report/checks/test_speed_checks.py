"""Speed checks: each on targeted synthetic data, NOT MEASURED when rows are missing, REFUTED when the
data contradicts the claim, CONFIRMED when it agrees."""
from __future__ import annotations

from report_testlib import evidence, load_records, measure, verdict

from rtrl_moe.report.evidence import CONFIRMED, NOT_MEASURED, PARTIAL, REFUTED

# the docs preset's timing pieces (the declared workloads of the speed claims)
TREE = dict(label="docs-tree-anbn", lengths=(16, 64, 96, 256), seeds=(0, 1, 2))
TIME = dict(label="docs-time", lengths=(32, 128, 512, 2048), seeds=(0, 1, 2))


def test_tree_speedup_refuted_when_tree_is_slower(tmp_path):
    def slow_tree(r):
        if r["config"]["learner"] == "tree-rtrl":
            r["metrics"]["time_step_median_ns"] *= 20
    df = load_records(tmp_path, measure(("sparse-rtrl", "tree-rtrl"), tweak=slow_tree, **TREE))
    assert verdict("002-tree-anbn", df) == REFUTED
    assert verdict("002-tree-1.5-2.7x", df) == REFUTED


def test_tree_speedup_partial_when_faster_but_off(tmp_path):
    def faster_tree(r):
        if r["config"]["learner"] == "tree-rtrl":
            r["metrics"]["time_step_median_ns"] //= 3      # 2.4x -> 7x
    df = load_records(tmp_path, measure(("sparse-rtrl", "tree-rtrl"), tweak=faster_tree, **TREE))
    assert verdict("002-tree-anbn", df) == PARTIAL


def test_speedup_needs_pairs_in_the_same_run(tmp_path):
    recs = measure(("sparse-rtrl",), **TREE) + measure(("tree-rtrl",), run_id="another-run", **TREE)
    df = load_records(tmp_path, recs)
    assert verdict("002-tree-anbn", df) == NOT_MEASURED


def test_time_linear_refuted_when_quadratic(tmp_path):
    def quad(r):
        T = r["config"]["seq_len"]
        r["metrics"]["time_step_median_ns"] = 1000 * T * T
    df = load_records(tmp_path, measure(("sparse-rtrl", "bptt"), tweak=quad, **TIME))
    assert verdict("003-time-linear", df) == REFUTED


def test_flops_ratio_arithmetic_follows_config(tmp_path):
    def three_reads(r):
        r["config"]["model"]["topk_read"] = 3
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl"), tweak=three_reads))
    assert verdict("003-0.25x", df) == NOT_MEASURED           # (2/4) x (3/4) = 0.375: not the documents'
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl")))
    assert verdict("003-0.25x", df) == CONFIRMED

    def no_gain(r):
        # the analytic FLOP ratio stays 0.25x; the measured time does not drop at all (~3.6x the
        # arithmetic) and then rises past dense: time decides, so PARTIAL, then REFUTED
        if r["config"]["learner"] == "sparse-rtrl":
            r["metrics"]["sensitivity_ns_per_step"] *= 3.3
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl"), tweak=no_gain))
    assert verdict("003-0.25x", df) == PARTIAL

    def much_slower(r):
        if r["config"]["learner"] == "sparse-rtrl":
            r["metrics"]["sensitivity_ns_per_step"] *= 40
    df = load_records(tmp_path / "b", measure(("rtrl", "sparse-rtrl"), tweak=much_slower))
    assert verdict("003-0.25x", df) == REFUTED
    assert verdict("001-write-sparsity", df) == REFUTED


def test_flops_ratio_partial_when_time_does_not_follow(tmp_path):
    def slow(r):
        if r["config"]["learner"] == "sparse-rtrl":
            r["metrics"]["sensitivity_ns_per_step"] *= 3
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl"), tweak=slow))
    assert verdict("001-write-sparsity", df) == PARTIAL


def test_flops_ratio_documents_update_vs_exact(tmp_path):
    def exact_costs_more(r):
        if r["config"]["learner"] == "sparse-rtrl":
            r["metrics"]["sensitivity_ns_per_step"] *= 8      # exact: ~2.2x of dense in time; the documents': 0.25x
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl", "sparse-rtrl-readonly"), tweak=exact_costs_more))
    ev = evidence("003-0.25x", df)
    assert ev.verdict == PARTIAL and "sparse-rtrl-readonly: CONFIRMED" in ev.measured_text


def test_speed_ratio_needs_three_seed_pairs(tmp_path):
    one = dict(TREE, seeds=(0,))
    df = load_records(tmp_path, measure(("sparse-rtrl", "tree-rtrl"), **dict(one, lengths=(16,))))
    ev = evidence("002-tree-anbn", df)
    assert ev.verdict == NOT_MEASURED and ">= 3 seed pairs" in ev.measured_text


def test_timing_under_load_is_flagged(tmp_path):
    def loaded(r):
        r["metrics"]["load_avg_1m"], r["metrics"]["threads"] = 3.0, 1
    df = load_records(tmp_path, measure(("sparse-rtrl", "tree-rtrl"), tweak=loaded, **TREE))
    ev = evidence("002-tree-anbn", df)
    assert "FLAG" in ev.measured_text and "under load" in ev.measured_text


def test_time_trend_needs_four_lengths(tmp_path):
    df = load_records(tmp_path, measure(("sparse-rtrl", "bptt"), **dict(TIME, lengths=(32, 128, 512))))
    assert verdict("003-time-linear", df) == NOT_MEASURED
