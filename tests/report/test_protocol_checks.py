"""The as-documented checks on synthetic protocol records: each comes out CONFIRMED and
REFUTED on data made for it, an interval that holds the documented figure never refutes it,
fewer than 5 seeds never decide, and both arms at chance are uninformative."""
import json

import pytest

from rtrl_moe.records import append_record, make_record
from rtrl_moe.report import protocol_checks as pc
from rtrl_moe.report.data import load
from rtrl_moe.report.evidence import CONFIRMED, NOT_MEASURED, NOT_SUPPORTED, PARTIAL, REFUTED

GIT = {"commit": "0" * 40, "dirty": False}
MACHINE = {"machine_id": "test-machine"}


def frame(tmp_path, points):
    """points: [(piece, seed, metrics)] -> the report's DataFrame of those records."""
    out = tmp_path / "protocols.jsonl"
    for piece, seed, metrics in points:
        cfg = {"kind": "protocol", "label": f"protocol-{piece}", "protocol": piece, "seed": seed,
               "arch": "upstream", "model_type": "upstream-moe", "model": {"d_model": 32}}
        append_record(out, make_record(config=cfg, status="ok", metrics=metrics, git=GIT,
                                       machine=MACHINE, point_key=f"{piece}|{seed}"))
    df, _ = load(tmp_path)
    return df


def seeds(piece, key, values, **extra):
    return [(piece, i, {key: v, **extra}) for i, v in enumerate(values)]


ACC = [  # (check, piece, metric, confirming values, refuting values)
    (pc._last100, "anbn_classify9", "acc_last100", [1.0, 1.0, 0.99, 1.0, 1.0], [0.5, 0.52, 0.49, 0.51, 0.5]),
    (pc._first100, "anbn_classify9", "acc_first100", [0.64, 0.68, 0.66, 0.65, 0.67], [0.5, 0.49, 0.51, 0.5, 0.5]),
    (pc.check_anbn_classify9_lr1e2, "anbn_classify9_lr1e2", "acc_last150", [0.47, 0.5, 0.46, 0.49, 0.48], [1.0] * 5),
    (pc.check_haystack8_bptt, "haystack8_bptt", "acc_last50", [1.0] * 5, [0.25, 0.26, 0.24, 0.25, 0.24]),
    (pc.check_haystack8_rtrl, "haystack8_rtrl", "acc_last50", [0.22, 0.26, 0.24, 0.25, 0.23], [1.0] * 5),
    (pc.check_train_anbn_bptt, "train_anbn_bptt", "acc_last100", [0.95, 0.96, 0.94, 0.95, 0.97], [0.6, 0.62, 0.61, 0.6, 0.59]),
    (pc.check_train_anbn_rtrl, "train_anbn_rtrl", "acc_last100", [0.95] * 5, [0.5, 0.51, 0.5, 0.49, 0.5]),
]


@pytest.mark.parametrize("check,piece,metric,good,bad", ACC)
def test_accuracy_checks_confirm_and_refute(tmp_path, check, piece, metric, good, bad):
    ok = check(frame(tmp_path / "a", seeds(piece, metric, good, chance_accuracy=0.5)))
    assert ok.verdict == CONFIRMED, ok.measured_text
    assert "95% interval" in ok.measured_text and ok.rows[0]["per_seed"].count("seed") == 5
    no = check(frame(tmp_path / "b", seeds(piece, metric, bad, chance_accuracy=0.5)))
    assert no.verdict == REFUTED, no.measured_text


def test_an_interval_that_holds_the_figure_never_refutes(tmp_path):
    # mean 70%, far from 100%, but five noisy seeds: the interval reaches 100%
    ev = pc._last100(frame(tmp_path, seeds("anbn_classify9", "acc_last100",
                                           [0.6, 1.0, 0.2, 1.0, 0.7], chance_accuracy=0.5)))
    assert ev.verdict == CONFIRMED


def test_fewer_than_five_seeds_decide_nothing(tmp_path):
    ev = pc._last100(frame(tmp_path / "a", seeds("anbn_classify9", "acc_last100", [0.5] * 4)))
    assert ev.verdict == PARTIAL
    ev = pc._last100(frame(tmp_path / "b", seeds("anbn_classify9", "acc_last100", [1.0] * 4)))
    assert ev.verdict == PARTIAL


def test_no_records_names_the_piece(tmp_path):
    df = frame(tmp_path, seeds("haystack8_bptt", "acc_last50", [1.0] * 5))
    for check, piece in ((pc.check_haystack8_rtrl, "haystack8_rtrl"),
                         (pc.check_tree_speed_haystack, "tree_speed_haystack"),
                         (pc.check_rnn_vs_moe_rtrl_128, "rnn_vs_moe_rtrl_128"),
                         (pc.check_demo_memory_advantage, "demo_memory_advantage"),
                         (pc.check_benchmark_memory_short, "benchmark_memory_short")):
        ev = check(df)
        assert ev.verdict == NOT_MEASURED and piece in ev.measured_text


@pytest.mark.parametrize("check,piece,doc", [
    (pc.check_tree_speed_anbn_10steps, "tree_speed_anbn_10steps", 2.72),
    (pc.check_tree_speed_haystack, "tree_speed_haystack", 1.51)])
def test_speed_ratio_bands(tmp_path, check, piece, doc):
    key = "ratio_dense_over_sparse"
    assert check(frame(tmp_path / "a", seeds(piece, key, [doc * 1.3] * 5))).verdict == CONFIRMED
    assert check(frame(tmp_path / "b", seeds(piece, key, [doc * 12] * 5))).verdict == REFUTED
    assert check(frame(tmp_path / "c", seeds(piece, key, [doc / 20] * 5))).verdict == REFUTED
    assert check(frame(tmp_path / "d", seeds(piece, key, [doc * 4] * 5))).verdict == PARTIAL
    assert check(frame(tmp_path / "e", seeds(piece, key, [doc * 12] * 3))).verdict == PARTIAL


def test_a_faster_claim_measured_slower_is_not_confirmed(tmp_path):
    # 0.8x is within 0.5x..2x of 1.51x, but the sparse arm is slower: the direction fails
    ev = pc.check_tree_speed_haystack(frame(tmp_path, seeds(
        "tree_speed_haystack", "ratio_dense_over_sparse", [0.8] * 5)))
    assert ev.verdict == REFUTED and "other side of 1" in ev.measured_text


def test_the_tree_range_needs_both(tmp_path):
    df = frame(tmp_path, seeds("tree_speed_anbn_10steps", "ratio_dense_over_sparse", [2.7] * 5)
               + seeds("tree_speed_haystack", "ratio_dense_over_sparse", [30.0] * 5))
    assert pc.check_tree_range(df).verdict == REFUTED


def test_lower_bound_memory_refutes_only_when_ours_exceeds(tmp_path):
    mb = 2 ** 20
    big = frame(tmp_path / "a", seeds("demo_extreme_short", "total_bytes", [300 * mb] * 5))
    assert pc.check_demo_extreme_peak(big).verdict == REFUTED
    small = frame(tmp_path / "b", seeds("demo_extreme_short", "total_bytes", [60 * mb] * 5))
    assert pc.check_demo_extreme_peak(small).verdict == PARTIAL


def demo_metrics(hist=None):
    lengths = [32, 128, 512, 1024]
    arith = [T * 128 * 4 / 2 ** 20 for T in lengths]
    return {"lengths": lengths, "history_mb_arithmetic": arith,
            "history_mb_measured": hist or arith, "saved_for_backward_mb": [1.0] * 4,
            "rtrl_mb_constant": 128 * 4 / 2 ** 20, "extrapolate_lengths": [10_000, 100_000],
            "history_mb_extrapolated": [T * 128 * 4 / 2 ** 20 for T in (10_000, 100_000)],
            "rtrl_exact_sensitivity_mb": 16.6, "n_state_params": 33920, "H": 128}


def test_arithmetic_checks(tmp_path):
    df = frame(tmp_path / "a", [("demo_memory_advantage", 0, demo_metrics())])
    ev = pc.check_demo_memory_advantage(df)
    assert ev.verdict == CONFIRMED and "arithmetic" in ev.measured_text
    assert pc.check_demo_extrapolated(df).verdict == CONFIRMED
    c = pc.check_demo_rtrl_constant(df)
    assert c.verdict == CONFIRMED and "constant" in c.measured_text
    bad = demo_metrics()
    bad["history_mb_arithmetic"] = [2 * v for v in bad["history_mb_arithmetic"]]
    bad["history_mb_measured"] = bad["history_mb_arithmetic"]
    assert pc.check_demo_memory_advantage(
        frame(tmp_path / "b", [("demo_memory_advantage", 0, bad)])).verdict == REFUTED
    ex = frame(tmp_path / "c", [("demo_extreme_short", 0, {"script_bptt_mb_10k": 2.44})])
    ev = pc.check_demo_extreme_bptt_2500(ex)
    assert ev.verdict == REFUTED and "arithmetic" in ev.measured_text
    ok = frame(tmp_path / "d", [("demo_extreme_short", 0, {"script_bptt_mb_10k": 2480.0})])
    assert pc.check_demo_extreme_bptt_2500(ok).verdict == CONFIRMED


def test_a_comparison_at_chance_is_uninformative(tmp_path):
    df = frame(tmp_path, seeds("train_anbn_bptt", "acc_last100", [0.5, 0.51, 0.49, 0.5, 0.5])
               + seeds("train_anbn_rtrl", "acc_last100", [0.5, 0.5, 0.51, 0.49, 0.5]))
    ev = pc.check_train_anbn_similar(df)
    assert ev.verdict == NOT_SUPPORTED and "uninformative" in ev.measured_text


def test_similar_and_beats(tmp_path):
    df = frame(tmp_path / "a", seeds("train_anbn_bptt", "acc_last100", [0.95, 0.96, 0.94, 0.95, 0.95])
               + seeds("train_anbn_rtrl", "acc_last100", [0.95, 0.94, 0.96, 0.95, 0.95]))
    assert pc.check_train_anbn_similar(df).verdict == CONFIRMED
    df = frame(tmp_path / "b", seeds("train_anbn_bptt", "acc_last100", [0.95, 0.96, 0.94, 0.95, 0.95])
               + seeds("train_anbn_rtrl", "acc_last100", [0.6, 0.61, 0.59, 0.6, 0.6]))
    assert pc.check_train_anbn_similar(df).verdict == REFUTED
    df = frame(tmp_path / "c", seeds("anbn_classify9", "acc_last100", [1.0, 0.99, 1.0, 1.0, 0.98])
               + seeds("anbn_classify9_lr1e2", "acc_last150", [0.5, 0.48, 0.47, 0.52, 0.5]))
    assert pc.check_lr(df).verdict == CONFIRMED


def proof_points(values):
    """values: arm -> five accuracies, the same at every T."""
    return [("proof_untrained_trials", i,
             {"chance_accuracy": 0.25, **{f"acc_{a}_T{T}": values[a][i]
                                          for a in pc.ARMS for T in pc.PROOF_TABLE}})
            for i in range(5)]


def test_the_untrained_table(tmp_path):
    chance = {a: [0.2, 0.3, 0.27, 0.23, 0.25] for a in pc.ARMS}
    df = frame(tmp_path / "a", proof_points(chance))
    ev = pc.check_proof_T(32)(df)          # every arm's interval holds chance: untrained noise
    assert ev.verdict == NOT_SUPPORTED and "neither reproduce nor fail" in ev.measured_text
    assert pc.check_proof_T(128)(df).verdict == NOT_SUPPORTED
    assert pc.check_proof_comparable(df).verdict == NOT_SUPPORTED
    trained = {a: [0.9, 0.92, 0.91, 0.9, 0.93] for a in pc.ARMS}
    df = frame(tmp_path / "b", proof_points(trained))
    assert pc.check_proof_T(32)(df).verdict == REFUTED


def test_every_piece_and_claim_is_wired():
    claims = {c["id"] for c in json.load(open("reports/claims.json"))}
    for piece, doc in pc.DOCUMENTED.items():
        assert piece in pc.CHECKS
        assert doc["basis"] in ("measured", "arithmetic", "constant")
    from rtrl_moe.report.claims import CLAIMS
    named = {p for cl in CLAIMS for p in cl.pieces}
    assert set(pc.DOCUMENTED) <= named, set(pc.DOCUMENTED) - named
    for cl in CLAIMS:
        assert cl.id in claims and all(p in pc.CHECKS or p == "upstream_exactness" for p in cl.pieces), cl.id
    from rtrl_moe.protocols import PRESET

    # every preset piece has a check in one of the report's protocol modules
    from rtrl_moe.report.as_documented import _protocols
    assert set(PRESET) <= set(_protocols()[0])


def test_the_threeway_winner_at_chance_is_uninformative(tmp_path):
    pts = [("rnn_vs_moe_rtrl_128", i, {"chance_accuracy": 0.25, "acc_rnn_last20": v,
                                       "acc_moe_bptt_last20": v, "acc_moe_rtrl_last20": v})
           for i, v in enumerate([0.25, 0.2, 0.3, 0.25, 0.25])]
    ev = pc.check_rnn_vs_moe_rtrl_128(frame(tmp_path, pts))
    assert "uninformative" in ev.measured_text and ev.verdict in (PARTIAL, REFUTED)
    pts = [("rnn_vs_moe_rtrl_128", i, {"chance_accuracy": 0.25, "acc_rnn_last20": 0.3,
                                       "acc_moe_bptt_last20": 0.2, "acc_moe_rtrl_last20": v})
           for i, v in enumerate([0.9, 0.95, 0.92, 0.9, 0.93])]
    assert pc.check_rnn_vs_moe_rtrl_128(frame(tmp_path / "b", pts)).verdict == REFUTED
