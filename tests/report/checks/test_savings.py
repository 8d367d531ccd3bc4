"""The third reading's checks: each can confirm and can refute (or, for arithmetic, refute)."""
from __future__ import annotations

import synth
from report_testlib import evidence, load_records, measure

from rtrl_moe.report.checks.savings import (
    fails_where_rtrl_runs,
    memory_savings,
    same_training_as_bptt,
    slot_fraction,
    trials_arithmetic,
)
from rtrl_moe.report.evidence import CONFIRMED, NOT_MEASURED, PARTIAL, REFUTED


def test_memory_savings_both_ways(tmp_path):
    # synthetic bptt grows 6 KB/token: at 10,000 about 60 MB against sparse-rtrl's flat ~11 MB
    df = load_records(tmp_path, measure(("bptt", "sparse-rtrl"), label="docs-memory"))
    assert memory_savings(10_000)(df).verdict == CONFIRMED
    assert memory_savings(10_000, min_ratio=100)(df).verdict == PARTIAL
    assert memory_savings(64)(df).verdict == REFUTED        # at 64 tokens bptt holds far less
    assert memory_savings(10_000)(load_records(tmp_path / "e", measure(("bptt",)))).verdict == NOT_MEASURED


def test_memory_savings_metrics_disagreeing_is_partial(tmp_path):
    def low_rss(r):
        if r["config"]["learner"] == "bptt":
            r["metrics"]["rss_peak"] = 1000 + r["config"]["seq_len"]       # RSS says bptt holds almost nothing
    df = load_records(tmp_path, measure(("bptt", "sparse-rtrl"), label="docs-memory", tweak=low_rss))
    assert memory_savings(10_000)(df).verdict == PARTIAL


def _budgeted(bptt_first_oom, rtrl_longest=8192):
    out = []
    for lr, lengths in (("bptt", (1024, 2048, 4096)), ("sparse-rtrl", (rtrl_longest,))):
        for T in lengths:
            bad = lr == "bptt" and bptt_first_oom is not None and T >= bptt_first_oom
            out.append(synth.record("measure", lr, T, synth.measure_metrics(lr, T), status="oom" if bad else "ok",
                                    budget_mb=256, label="docs-budget", run_id="b"))
    return out


def test_fails_where_rtrl_runs_both_ways(tmp_path):
    check = fails_where_rtrl_runs()
    assert check(load_records(tmp_path, _budgeted(2048))).verdict == CONFIRMED
    assert check(load_records(tmp_path / "b", _budgeted(None, rtrl_longest=4096))).verdict == REFUTED
    assert check(load_records(tmp_path / "c", measure(("bptt",)))).verdict == NOT_MEASURED
    # the claim: the training part is never measured, so at best PARTIAL
    assert evidence("001-enables-training", load_records(tmp_path / "d", _budgeted(2048))).verdict == PARTIAL
    assert evidence("001-enables-training", load_records(tmp_path / "e", _budgeted(None, 4096))).verdict == REFUTED


def test_same_training_as_bptt_both_ways(tmp_path):
    together = load_records(tmp_path, synth.trajectory_records("float64"))
    apart = load_records(tmp_path / "b", synth.trajectory_records("float64", split_at=20))
    assert same_training_as_bptt()(together).verdict == CONFIRMED
    assert same_training_as_bptt()(apart).verdict == PARTIAL
    assert evidence("002-not-fundamental", together).verdict == CONFIRMED


def test_slot_fraction_both_ways(tmp_path):
    df = load_records(tmp_path, measure(("sparse-rtrl",)))
    assert slot_fraction(0.5, 0.5)(df).verdict == CONFIRMED
    assert slot_fraction(0.25, 0.5)(df).verdict == REFUTED


def test_trials_arithmetic_both_ways():
    assert trials_arithmetic((0.233, 0.267, 0.300), 30, "t")(None).verdict == NOT_MEASURED
    assert trials_arithmetic((0.233, 0.250, 0.300), 30, "t")(None).verdict == REFUTED   # 0.25 x 30 = 7.5


def test_computes_less_both_ways(tmp_path):
    from rtrl_moe.report.checks.savings import computes_less
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl"), label="docs-dense-sparse"))
    assert computes_less()(df).verdict == CONFIRMED          # synthetic sparse-rtrl is 0.3x rtrl's time

    def slow(r):
        if r["config"]["learner"] == "sparse-rtrl":
            r["metrics"]["sensitivity_ns_per_step"] = 1e12
    df = load_records(tmp_path / "b", measure(("rtrl", "sparse-rtrl"), label="docs-dense-sparse", tweak=slow))
    assert computes_less()(df).verdict == REFUTED
    assert computes_less()(load_records(tmp_path / "c", measure(("bptt",)))).verdict == NOT_MEASURED
