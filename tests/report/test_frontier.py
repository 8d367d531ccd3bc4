"""The online-learner frontier: one row per learner and keywords, one model per table."""
import math

import synth
from report_testlib import load_records

from rtrl_moe.report import frontier

RNN = {"d_in": 8, "d_out": 8, "hidden": 64, "cell": "tanh"}


def _recs():
    out = []
    for lr, kw, cos in (("snap-1", {}, 0.83), ("tbptt", {"k": 4}, 0.9), ("tbptt", {"k": 16}, 0.99)):
        for T in (16, 256):
            r = synth.record("agree", lr, T, {"cosine": cos, "rel_err": 1 - cos}, dtype="float64",
                             model=RNN, model_type="rnn", kwargs=kw)
            r["config"]["label"] = "frontier-agree"
            out.append(r)
        m = {"time_per_token_ns": 2e6, "time_step_median_ns": 256 * 2e6,
             "tensor_bytes_learner_state": 1000, "tensor_bytes_peak": 5000}
        r = synth.record("measure", lr, 256, m, model=RNN, model_type="rnn", kwargs=kw)
        r["config"]["label"] = "frontier-cost"
        out.append(r)
        for seed, acc in ((0, 0.8), (1, 0.9), (2, 1.0)):
            r = synth.record("train", lr, 32, {"final_accuracy": acc, "chance_accuracy": 0.5,
                                               "final_loss": 0.1}, seed=seed, model=RNN,
                             model_type="rnn", kwargs=kw, steps=300)
            r["config"]["label"] = "frontier-train"
            out.append(r)
    return out


def test_rows_per_learner_and_window_with_intervals(tmp_path):
    tab = frontier.table(load_records(tmp_path, _recs()))
    assert list(tab) == ["rnn"]
    rows = {r["learner"]: r for r in tab["rnn"]}
    assert set(rows) == {"snap-1", "tbptt (k:4)", "tbptt (k:16)"}
    assert rows["snap-1"]["cos T=256"] == 0.83 and rows["tbptt (k:16)"]["cos T=16"] == 0.99
    acc, half = rows["snap-1"]["anbn acc"], rows["snap-1"]["anbn ±95%"]
    assert math.isclose(acc, 0.9) and math.isclose(half, 4.303 * 0.1 / math.sqrt(3))
    assert rows["snap-1"]["anbn chance"] == 0.5 and rows["snap-1"]["haystack seeds"] == 0
    fig = frontier.figure(tab)
    assert fig is not None
    acc = fig.axes[2]           # the accuracy panel: one point per learner with a time
    assert acc.get_ylabel().startswith("held-out accuracy")
    # points on one spot share one label (plotstyle.label_points): every learner is named once
    names = [n for t in acc.texts for line in t.get_text().split("\n") for n in line.split(", ")]
    assert sorted(names) == ["snap-1", "tbptt (k:16)", "tbptt (k:4)"]


def test_nothing_without_frontier_records(tmp_path):
    assert frontier.table(load_records(tmp_path, synth.measure_records())) == {}
    assert frontier.figure({}) is None


def test_interval_needs_two_seeds():
    assert math.isnan(frontier.interval([0.5])[1])
    m, h = frontier.interval([0.4, 0.6])
    assert m == 0.5 and math.isclose(h, 12.706 * math.sqrt(0.02) / math.sqrt(2))
