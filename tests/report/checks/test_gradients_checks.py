"""Gradient checks: each on targeted synthetic data, NOT MEASURED when rows are missing, REFUTED when the
data contradicts the claim, CONFIRMED when it agrees."""
from __future__ import annotations

import synth
from report_testlib import load_records, verdict

from rtrl_moe.report.evidence import CONFIRMED, NOT_MEASURED, REFUTED


def test_documents_formula_confirmed_if_exact(tmp_path):
    recs = [synth.record("agree", "sparse-rtrl-readonly", T, synth.agree_metrics(1e-13), dtype="float64")
            for T in (16, 64)]
    df = load_records(tmp_path, recs)
    assert verdict("001-sparse-formula", df) == CONFIRMED


def test_exact_refuted_when_rtrl_is_not(tmp_path):
    recs = [synth.record("agree", "rtrl", T, synth.agree_metrics(1e-6), dtype="float64") for T in (16, 64)]
    df = load_records(tmp_path, recs)
    assert verdict("000-exact", df) == REFUTED
    assert verdict("001-exact-recursion", df) == REFUTED


def test_float32_rows_do_not_count_for_exactness(tmp_path):
    recs = [synth.record("agree", "rtrl", 16, synth.agree_metrics(1e-7), dtype="float32")]
    df = load_records(tmp_path, recs)
    assert verdict("001-exact-recursion", df) == NOT_MEASURED


def test_truncation_bias_refuted_when_tbptt_is_exact(tmp_path):
    recs = [synth.record("agree", "tbptt", 64, synth.agree_metrics(1e-14), dtype="float64", kwargs={"k": 8},
                         label="docs-agree")]
    df = load_records(tmp_path, recs)
    assert verdict("001-tbptt-bias", df) == REFUTED
    # the quick preset's small model is not the declared workload any more
    small = dict(synth.MODEL, d_model=8, d_ff=16)
    recs = [dict(r, config=dict(r["config"], label="agree", model=small)) for r in recs]
    assert verdict("001-tbptt-bias", load_records(tmp_path / "small", recs)) == NOT_MEASURED
