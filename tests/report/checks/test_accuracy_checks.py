"""Accuracy checks: each on targeted synthetic data, NOT MEASURED when rows are missing, REFUTED when the
data contradicts the claim, CONFIRMED when it agrees."""
from __future__ import annotations

import synth
from report_testlib import evidence, load_records, verdict

from rtrl_moe.report.evidence import CONFIRMED, NOT_MEASURED, REFUTED


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
    assert verdict("003-128-winner", df) == CONFIRMED
    df = load_records(tmp_path, three_way_records((0.10, 0.11, 0.09)))
    assert verdict("003-128-winner", df) == REFUTED
    assert verdict("003-comparable", df) == REFUTED


def test_accuracy_needs_three_seeds(tmp_path):
    recs = [synth.record("train", "bptt", 16, synth.train_metrics(a), task="anbn", seed=s, lr=2e-3, steps=5000)
            for s, a in enumerate((0.95, 0.96))]
    df = load_records(tmp_path, recs)
    ev = evidence("001-anbn-bptt-95", df)
    assert ev.verdict == NOT_MEASURED and "seeds" in ev.measured_text


def test_accuracy_not_measured_when_runs_too_short(tmp_path):
    recs = [synth.record("train", "bptt", 16, synth.train_metrics(a, steps=100), task="anbn", seed=s, lr=2e-3,
                         steps=100) for s, a in enumerate((0.5, 0.55, 0.52))]
    df = load_records(tmp_path, recs)
    assert verdict("001-anbn-bptt-95", df) == NOT_MEASURED
    recs = [dict(r, config=dict(r["config"], steps=6000)) for r in recs]
    df = load_records(tmp_path, recs)
    assert verdict("001-anbn-bptt-95", df) == REFUTED
