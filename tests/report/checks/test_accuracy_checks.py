"""Accuracy checks: each on targeted synthetic data, NOT MEASURED when rows are missing, REFUTED when the
data contradicts the claim, CONFIRMED when it agrees."""
from __future__ import annotations

import synth
from report_testlib import evidence, load_records, verdict

from rtrl_moe.report.evidence import CONFIRMED, NOT_MEASURED, PARTIAL, REFUTED


def three_way_records(rtrl_accs, steps=80, rnn=(0.30, 0.31, 0.29, 0.30, 0.30), moe=(0.20, 0.21, 0.19, 0.20, 0.20)):
    out = []
    for lr, mt, accs in (("bptt", "rnn", rnn), ("bptt", "moe", moe), ("sparse-rtrl", "moe", rtrl_accs)):
        for seed, a in enumerate(accs):
            out.append(synth.record("train", lr, 128, synth.train_metrics(a, steps=steps), task="stream", seed=seed,
                                    model_type=mt, lr=2e-3, steps=steps, label="train-003"))
    return out


def test_three_way_winner(tmp_path):
    df = load_records(tmp_path, three_way_records((0.35, 0.36, 0.34, 0.35, 0.35)))
    assert verdict("003-128-winner", df) == CONFIRMED
    df = load_records(tmp_path, three_way_records((0.10, 0.11, 0.09, 0.10, 0.10)))
    assert verdict("003-128-winner", df) == REFUTED
    assert verdict("003-comparable", df) == REFUTED


def test_winner_needs_five_seeds_and_the_documented_steps(tmp_path):
    three = three_way_records((0.35, 0.36, 0.34), rnn=(0.30, 0.31, 0.29), moe=(0.20, 0.21, 0.19))
    assert verdict("003-128-winner", load_records(tmp_path, three)) == PARTIAL          # 3 seeds: at best PARTIAL
    short = three_way_records((0.35, 0.36, 0.34, 0.35, 0.35), steps=40)
    assert verdict("003-128-winner", load_records(tmp_path / "s", short)) == PARTIAL    # 40 < 80 steps


def _lr_runs(acc_2e3, acc_1e2):
    return [synth.record("train", "bptt", 16, synth.train_metrics(a), task="anbn", seed=s, lr=lr, steps=5000)
            for lr, accs in ((2e-3, acc_2e3), (1e-2, acc_1e2)) for s, a in enumerate(accs)]


def test_lr_claim_by_interval(tmp_path):
    good = (0.97, 0.99, 1.0, 0.98, 0.99)
    assert verdict("002-lr", load_records(tmp_path, _lr_runs(good, (0.47, 0.5, 0.45, 0.48, 0.49)))) == CONFIRMED
    # overlapping intervals: "not 1e-2" is not shown, but not refuted either
    spread = (0.6, 0.99, 0.7, 1.0, 0.8)
    assert verdict("002-lr", load_records(tmp_path / "b", _lr_runs(good, spread))) == PARTIAL
    assert verdict("002-lr", load_records(tmp_path / "c", _lr_runs((0.5, 0.6, 0.55, 0.5, 0.52), good))) == REFUTED


def test_similar_refuted_when_far_apart_and_haystack_gap_stated(tmp_path):
    recs = [synth.record("train", lr, 16, synth.train_metrics(a), task="anbn", seed=s, lr=2e-3, steps=5000)
            for lr, accs in (("bptt", (0.97, 0.99, 1.0, 0.98, 0.99)), ("sparse-rtrl", (0.5, 0.52, 0.49, 0.5, 0.51)))
            for s, a in enumerate(accs)]
    recs = [dict(r, config=dict(r["config"], label="train-pair")) for r in recs]
    ev = evidence("000-similar-accuracy", load_records(tmp_path, recs))
    assert ev.verdict == REFUTED
    assert "haystack: NOT MEASURED" in ev.measured_text


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


def test_short_runs_cannot_confirm(tmp_path):
    recs = [synth.record("train", "bptt", 16, synth.train_metrics(a, steps=1000), task="anbn", seed=s, lr=2e-3,
                         steps=1000) for s, a in enumerate((0.95, 0.96, 0.94))]
    assert verdict("001-anbn-bptt-95", load_records(tmp_path, recs)) == PARTIAL


def _runs(learner, accs, label, steps=5000, task="anbn", T=32):
    return [synth.record("train", learner, T, synth.train_metrics(a, steps=steps), task=task, seed=s, lr=2e-3,
                         steps=steps, label=label) for s, a in enumerate(accs)]


def test_similar_never_sets_runs_of_two_pieces_side_by_side(tmp_path):
    # bptt only at 5,000 steps, sparse-rtrl only at 300: not the same setup, so not compared
    recs = _runs("bptt", (0.97, 0.99, 1.0, 0.98, 0.99), "train-anbn-5k") + \
        _runs("sparse-rtrl", (0.5, 0.52, 0.49, 0.5, 0.51), "train-pair", steps=300)
    ev = evidence("000-similar-accuracy", load_records(tmp_path, recs))
    assert ev.verdict == NOT_MEASURED


def _proxy_case(level=(0.97, 0.99, 0.96, 0.98, 0.99), pair_rtrl=(0.8, 0.82, 0.79, 0.81, 0.8), split64=None):
    return (_runs("bptt", level, "train-anbn-5k") + _runs("bptt", (0.8, 0.81, 0.8, 0.79, 0.82), "train-pair", 300) +
            _runs("sparse-rtrl", pair_rtrl, "train-pair", 300) + synth.trajectory_records("float64", split64) +
            synth.trajectory_records("float32", 120))


def test_rtrl_level_by_the_bptt_proxy(tmp_path):
    ev = evidence("001-anbn-rtrl-95", load_records(tmp_path, _proxy_case()))
    assert ev.verdict == CONFIRMED and "by proxy" in ev.measured_text
    assert "float64: together over all 200 steps" in ev.measured_text
    assert "float32: separate at step 120" in ev.measured_text
    # the proxy reads a miss as a miss
    low = _proxy_case(level=(0.6, 0.62, 0.61, 0.6, 0.59))
    assert verdict("001-anbn-rtrl-95", load_records(tmp_path / "low", low)) == REFUTED


def test_rtrl_proxy_refused_when_not_shown(tmp_path):
    # float64 same-seed trajectories part: the gradients differ beyond rounding
    ev = evidence("001-anbn-rtrl-95", load_records(tmp_path, _proxy_case(split64=50)))
    assert ev.verdict == NOT_MEASURED and "separate at step 50" in ev.measured_text
    # at the affordable setting sparse-rtrl is far below bptt: no proxy
    ev = evidence("001-anbn-rtrl-95", load_records(tmp_path / "b", _proxy_case(pair_rtrl=(0.3, 0.31, 0.3, 0.29, 0.3))))
    assert ev.verdict == NOT_MEASURED and "REFUTED" in ev.measured_text
    # no trajectories at all
    recs = [r for r in _proxy_case() if r["config"]["label"] != "train-trajectory"]
    assert verdict("001-anbn-rtrl-95", load_records(tmp_path / "c", recs)) == NOT_MEASURED


def test_another_presets_training_runs_do_not_join_the_claims(tmp_path):
    # the frontier preset trains a different RNN (hidden 64): beside train-003's RNN it would be a
    # second RNN config in the workload, which must not be pooled (nor turn the claim into an error)
    base = three_way_records((0.35, 0.36, 0.34, 0.35, 0.35))
    other = [synth.record("train", "bptt", 128, synth.train_metrics(0.9), task="stream", seed=s, model_type="rnn",
                          lr=2e-3, steps=80, label="frontier-train",
                          model={"d_in": 8, "d_out": 8, "hidden": 32, "cell": "tanh"}) for s in range(3)]
    assert verdict("003-128-winner", load_records(tmp_path, base + other)) == CONFIRMED
