"""Where the time goes: one bar per config and learner, never two configs in one bar."""
import synth
from report_testlib import load_records

from rtrl_moe.report import phases


def _rec(learner, model, T, ph, step_ns, floor_ns):
    m = {"time_per_token_ns": step_ns, "time_step_median_ns": step_ns * T,
         "tensor_bytes_peak": 1, "phase_ns_per_step": ph, "floor_ns_per_step": floor_ns}
    return synth.record("measure", learner, T, m, model=model)


def test_bars_per_config_with_floor_fraction(tmp_path):
    small = dict(synth.MODEL, d_model=16, d_ff=32)
    ph = {"jacobian": 4e6, "update": 5e6, "readout": 1e6, "other": 0.5e6}
    recs = [_rec("sparse-rtrl", synth.MODEL, 64, ph, 10.5e6, 5e6),
            _rec("sparse-rtrl", synth.MODEL, 256, ph, 10.0e6, 5e6),
            _rec("sparse-rtrl", small, 256, {k: v / 4 for k, v in ph.items()}, 2.5e6, 1e6)]
    rows = phases.bars(load_records(tmp_path, recs))
    assert len(rows) == 2                                   # two configs, two bars
    big = [r for r in rows if "d_model 32" in r["config"]][0]
    assert big["T"] == 256 and big["update"] == 5.0 and big["floor_fraction"] == 0.5
    assert phases.figure(rows) is not None


def test_no_bars_without_phase_records(tmp_path):
    assert phases.bars(load_records(tmp_path, synth.measure_records())) == []
    assert phases.figure([]) is None


def test_a_plain_rnn_bar_names_its_config(tmp_path):
    rnn = {"d_in": 8, "d_out": 8, "hidden": 64, "cell": "tanh"}
    r = _rec("rtrl", rnn, 256, {"jacobian": 1e6, "update": 1e6, "readout": 0, "other": 0},
             2e6, 1e6)
    r["config"]["model_type"] = "rnn"
    rows = phases.bars(load_records(tmp_path, [r]))
    assert rows[0]["config"] == "cell tanh, hidden 64, B=1"
