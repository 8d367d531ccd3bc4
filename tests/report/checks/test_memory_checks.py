"""Memory checks: each on targeted synthetic data, NOT MEASURED when rows are missing, REFUTED when the
data contradicts the claim, CONFIRMED when it agrees."""
from __future__ import annotations

import pandas as pd
from report_testlib import evidence, load_records, measure, verdict

from rtrl_moe.report.evidence import CONFIRMED, NOT_MEASURED, PARTIAL, REFUTED


def test_constant_memory_refuted_when_rtrl_grows(tmp_path):
    def grow(r):
        r["metrics"]["tensor_bytes_peak"] += 5000 * r["config"]["seq_len"]
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl", "tree-rtrl"), tweak=grow))
    assert verdict("000-rtrl-80mb", df) == REFUTED
    assert verdict("001-rtrl-10k", df) == REFUTED


def test_constant_memory_partial_when_one_learner_grows(tmp_path):
    def grow(r):
        if r["config"]["learner"] == "tree-rtrl":
            r["metrics"]["tensor_bytes_peak"] += 5000 * r["config"]["seq_len"]
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl", "tree-rtrl"), tweak=grow))
    assert verdict("000-rtrl-80mb", df) == PARTIAL


def test_constant_memory_confirmed_at_50k(tmp_path):
    df = load_records(tmp_path, measure(("sparse-rtrl",), lengths=(1000, 10_000, 50_000)))
    assert verdict("000-const-50k", df) == CONFIRMED
    # constant, but ~11 MiB against a documented 82.3 MB: within 10x, so at best PARTIAL
    assert verdict("000-peak-82mb", df) == PARTIAL


def test_constant_memory_needs_two_lengths(tmp_path):
    df = load_records(tmp_path, measure(("rtrl",), lengths=(64,)))
    assert verdict("000-rtrl-80mb", df) == NOT_MEASURED


def test_bptt_growth_refuted_when_constant(tmp_path):
    def flat(r):
        r["metrics"]["tensor_bytes_peak"] = 1_000_000
    df = load_records(tmp_path, measure(("bptt",), tweak=flat))
    assert verdict("000-bptt-linear", df) == REFUTED


def test_512_bytes_confirmed_only_if_h_times_p_is_that_small(tmp_path):
    def tiny(r):
        r["metrics"]["n_state_params"] = 1
        if r["config"]["learner"] in ("rtrl", "sparse-rtrl", "tree-rtrl"):
            r["metrics"]["tensor_bytes_learner_state"] = 512
    df = load_records(tmp_path, measure(("rtrl",), tweak=tiny))
    assert verdict("003-dna-rtrl", df) == CONFIRMED      # H x P x 4 = 128 x 1 x 4 = 512 B
    df = load_records(tmp_path, measure(("rtrl",)))
    assert verdict("003-dna-rtrl", df) == REFUTED        # H x P x 4 = 10.6 MiB


def test_document_arithmetic_is_checked_without_records():
    ev = evidence("003-llm-rtrl", pd.DataFrame())       # 8 GB / 8 KB is ~10^6, not 3000
    assert ev.verdict == REFUTED
    ev = evidence("003-dna-bptt", pd.DataFrame())       # 3e9 x 128 x 4 = 1.536 TB: holds
    assert ev.verdict == NOT_MEASURED


def test_bptt_per_token_confirmed_when_it_saves_only_hidden_states(tmp_path):
    def hidden_only(r):
        r["metrics"]["tensor_bytes_saved_peak"] = 512 * r["config"]["seq_len"]
    df = load_records(tmp_path, measure(("bptt",), tweak=hidden_only))
    assert verdict("002-bptt-growth", df) == CONFIRMED
    df = load_records(tmp_path, measure(("bptt",)))          # ~6 KB/token: 11.7x the documented
    assert verdict("002-bptt-growth", df) == REFUTED        # beyond 10x: the magnitude refutes it


def test_h_value(tmp_path):
    def wrong(r):
        r["metrics"]["H"] = 64
    df = load_records(tmp_path, measure(("rtrl",), tweak=wrong))
    assert verdict("003-H128", df) == REFUTED


def test_no_overhead_refuted_when_tree_doubles_state(tmp_path):
    def big(r):
        if r["config"]["learner"] in ("tree-rtrl", "sparse-rtrl"):
            r["metrics"]["tensor_bytes_learner_state"] *= 2
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl", "tree-rtrl"), tweak=big))
    assert verdict("002-no-overhead", df) == REFUTED


def test_growth_at_short_lengths_counts(tmp_path):
    # no window is dropped after the fact: growth between the shortest lengths is growth in T
    def short_run(r):
        if r["config"]["learner"] == "sparse-rtrl" and r["config"]["seq_len"] <= 16:
            r["metrics"]["tensor_bytes_peak"] //= 2
    recs = measure(("rtrl", "sparse-rtrl"), lengths=(8, 64, 256, 1024), tweak=short_run)
    assert verdict("002-rtrl-unchanged", load_records(tmp_path, recs)) == PARTIAL
    recs = measure(("rtrl", "sparse-rtrl"), lengths=(8, 64, 256, 1024))
    assert verdict("002-rtrl-unchanged", load_records(tmp_path / "b", recs)) == CONFIRMED
