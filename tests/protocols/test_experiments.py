"""Every documented experiment at a tiny size: it runs and returns its figures."""
import pytest
import torch

from rtrl_moe.protocols import PIECES

TINY = {
    "anbn_classify9": dict(steps=20, n=10, dense=True),
    "anbn_classify9_lr1e2": dict(steps=20, n=10),
    "haystack8_bptt": dict(steps=10, n=5),
    "haystack8_rtrl": dict(steps=3, n=2),
    "proof_untrained_trials": dict(lengths=[8, 10], trials=2),
    "tree_speed_haystack": dict(seqs=1, seq_len=8),
    "demo_memory_advantage": dict(lengths=[32, 128]),
    "train_anbn_bptt": dict(steps=20),
    "train_anbn_rtrl": dict(steps=4, acc_steps=2),
}


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("name", sorted(TINY))
def test_piece_runs_tiny(name):
    m = PIECES[name].fn(0, "bench", **TINY[name])
    assert isinstance(m, dict) and m


def test_anbn_classify9_reports_its_windows_and_chance():
    m = PIECES["anbn_classify9"].fn(0, "bench", steps=20, n=10, dense=True)
    for k in ("acc_first10", "acc_last10", "dense_acc_last10", "heldout_accuracy"):
        assert 0.0 <= m[k] <= 1.0
    assert m["chance_accuracy"] == 0.5 and m["heldout_inputs"] == 9 and m["steps_run"] == 20


def test_untrained_trials_are_fractions_of_the_trials():
    m = PIECES["proof_untrained_trials"].fn(1, "bench", lengths=[8], trials=4)
    for arm in ("rnn", "moe_bptt", "moe_rtrl"):
        assert m[f"acc_{arm}_T8"] in (0.0, 0.25, 0.5, 0.75, 1.0)
    assert m["chance_accuracy"] == 0.25


def test_demo_memory_advantage_measures_what_the_script_computes():
    m = PIECES["demo_memory_advantage"].fn(0, "bench", lengths=[32, 1024])
    assert m["history_mb_measured"] == m["history_mb_arithmetic"]
    assert m["history_mb_arithmetic"][0] == 32 * 128 * 4 / 2**20
    assert m["rtrl_mb_constant"] == 128 * 4 / 2**20
    assert m["rtrl_exact_sensitivity_mb"] > 1000 * m["rtrl_mb_constant"]


def test_speed_ratio_is_dense_over_sparse():
    m = PIECES["tree_speed_haystack"].fn(0, "bench", seqs=1, seq_len=8)
    assert m["ratio_dense_over_sparse"] == pytest.approx(m["time_rtrl_s"] / m["time_sparse-rtrl_s"])


def test_benchmark_memory_one_call_grows_with_T():
    m = PIECES["benchmark_memory_short"].fn(0, "bench", lengths=[32, 256], rtrl_tokens=1)
    assert m["bptt_full_bytes"][1] > m["bptt_full_bytes"][0]
    assert m["rtrl_state_bytes"] > 0 and len(m["ratio_bptt_over_rtrl"]) == 2
