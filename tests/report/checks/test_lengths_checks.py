"""Length, budget and OOM checks: each on targeted synthetic data, NOT MEASURED when rows are missing, REFUTED when the
data contradicts the claim, CONFIRMED when it agrees."""
from __future__ import annotations

import synth
from report_testlib import load_records, measure, verdict

from rtrl_moe.report.evidence import CONFIRMED, REFUTED


def test_bptt_impossible_refuted_when_it_ran(tmp_path):
    df = load_records(tmp_path, measure(("bptt",), lengths=(20_000,)))
    assert verdict("002-bptt-impossible-10k", df) == REFUTED


def test_bptt_impossible_confirmed_when_oom(tmp_path):
    recs = [synth.record("measure", "bptt", 20_000, {}, status="oom", budget_mb=64),
            *measure(("sparse-rtrl",), lengths=(20_000,))]
    df = load_records(tmp_path, recs)
    assert verdict("002-bptt-impossible-10k", df) == CONFIRMED
    assert verdict("000-bptt-fails-10k", df) == CONFIRMED


def test_oom_budget_refuted_when_bptt_never_runs_out(tmp_path):
    recs = [synth.record("measure", "bptt", T, synth.measure_metrics("bptt", T), budget_mb=4096, label="docs-budget")
            for T in (512, 1024, 2048, 4096)]
    df = load_records(tmp_path, recs)
    assert verdict("000-bptt-oom-1024", df) == REFUTED


def test_only_practical_refuted_by_checkpointing(tmp_path):
    df = load_records(tmp_path, measure(("ckpt-bptt", "tree-rtrl"), lengths=(20_000,)))
    assert verdict("002-only-practical", df) == REFUTED
