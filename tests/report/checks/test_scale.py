"""Scale checks (report/checks/scale.py) on synthetic records of the docs-scale preset's pieces: each
rule made to come out CONFIRMED and REFUTED (and PARTIAL / NOT MEASURED where the rule has them)."""
from __future__ import annotations

import math

import synth
from report_testlib import evidence, load_records, measure, verdict

from rtrl_moe.report.evidence import CONFIRMED, NOT_MEASURED, PARTIAL, REFUTED

SCALE = "docs-scale-memory"


def mem_point(learner, T, status="ok", ms_per_token=14.0, grow=0.0, budget_mb=None, label=SCALE):
    """A single-pass memory point as the docs-scale preset writes it: no timed step, wall_s instead."""
    m = synth.measure_metrics(learner, T) if status == "ok" else {}
    if m:
        for k in ("time_step_median_ns", "time_step_iqr_ns", "time_per_token_ns"):
            m[k] = None
        m["tensor_bytes_peak"] = int(m["tensor_bytes_peak"] + grow * T)
    r = synth.record("measure", learner, T, m, status=status, budget_mb=budget_mb, label=label)
    r["wall_s"] = 5.0 + ms_per_token * T / 1e3
    return r


def scale_run(**kw):
    return [mem_point("sparse-rtrl", T, **kw) for T in (10_000, 50_000, 100_000)]


# -------------------------------------------------------------------- practical up to 100K
def test_practical_confirmed_when_it_completes_flat(tmp_path):
    ev = evidence("000-100k-practical", load_records(tmp_path, scale_run()))
    assert ev.verdict == CONFIRMED, ev.measured_text
    assert "tensor bytes +0.0%" in ev.measured_text and "ms/token" in ev.measured_text


def test_practical_refuted_when_100k_runs_out(tmp_path):
    recs = scale_run()[:2] + [mem_point("sparse-rtrl", 100_000, status="oom")]
    assert verdict("000-100k-practical", load_records(tmp_path, recs)) == REFUTED


def test_practical_partial_when_memory_grows(tmp_path):
    ev = evidence("000-100k-practical", load_records(tmp_path, scale_run(grow=5.0)))   # +5 B/token: ~4%
    assert ev.verdict == PARTIAL and "grows: tensor bytes" in ev.measured_text


def test_practical_partial_when_time_per_token_grows(tmp_path):
    recs = [mem_point("sparse-rtrl", 10_000), mem_point("sparse-rtrl", 100_000, ms_per_token=28.0)]
    ev = evidence("000-100k-practical", load_records(tmp_path, recs))
    assert ev.verdict == PARTIAL and "ns/token" in ev.measured_text.split("grows:")[-1]


def test_practical_not_measured_below_100k_says_how_long_it_would_take(tmp_path):
    ev = evidence("000-100k-practical", load_records(tmp_path, scale_run()[:2]))
    assert ev.verdict == NOT_MEASURED and any("would take" in n for n in ev.notes)


# -------------------------------------------------------------------- BPTT fails at 10,000
def test_bptt_fails_refuted_when_it_completes_unbudgeted(tmp_path):
    recs = [mem_point("bptt", 10_000), mem_point("bptt", 10_000, status="oom", budget_mb=256,
                                                label="docs-scale-budget"), mem_point("sparse-rtrl", 10_000)]
    ev = evidence("000-bptt-fails-10k", load_records(tmp_path, recs))
    assert ev.verdict == REFUTED
    assert "B/token" in ev.measured_text and "under a budget below about" in ev.measured_text
    assert "budget 256 MiB): oom" in ev.measured_text


def test_bptt_fails_confirmed_under_a_named_budget(tmp_path):
    recs = [mem_point("bptt", 10_000, status="oom", budget_mb=256, label="docs-scale-budget"),
            mem_point("sparse-rtrl", 10_000)]
    ev = evidence("000-bptt-fails-10k", load_records(tmp_path, recs))
    assert ev.verdict == CONFIRMED and "budget 256 MiB" in ev.measured_text


def test_bptt_impossible_reads_above_10000_only(tmp_path):
    at = [mem_point("bptt", 10_000)]
    assert verdict("002-bptt-impossible-10k", load_records(tmp_path, at)) == NOT_MEASURED
    past = at + [mem_point("bptt", 20_000)]
    ev = evidence("002-bptt-impossible-10k", load_records(tmp_path / "b", past))
    assert ev.verdict == REFUTED and "T=20,000" in ev.measured_text.replace("20000", "20,000")
    oom = [mem_point("bptt", 20_000, status="oom")]
    assert verdict("002-bptt-impossible-10k", load_records(tmp_path / "c", oom)) == CONFIRMED


# -------------------------------------------------------------------- O(log n) range products
def tree_n(cost, sizes=(4, 8, 16, 32, 64, 128), T=256, seeds=(0, 1, 2)):
    out = []
    for seed in seeds:
        for n in sizes:
            m = synth.measure_metrics("tree-rtrl", T)
            m["time_per_token_ns"] = cost(n) * (1 + 0.001 * seed)
            m["time_step_median_ns"] = m["time_per_token_ns"] * T
            m["sensitivity_flops_per_step"] = 1e8 + 4e6 * math.log2(n)
            out.append(synth.record("measure", "tree-rtrl", T, m, kwargs={"n": n}, seed=seed, label="docs-tree-n"))
    return out


def test_tree_logn_confirmed_when_time_grows_like_log_n(tmp_path):
    ev = evidence("002-tree-logn", load_records(tmp_path, tree_n(lambda n: 10e6 + 1e6 * math.log2(n))))
    assert ev.verdict == CONFIRMED, ev.measured_text
    assert "r2 1.000" in ev.measured_text and any("sensitivity FLOPs" in n for n in ev.notes)


def test_tree_logn_refuted_when_time_grows_like_n(tmp_path):
    ev = evidence("002-tree-logn", load_records(tmp_path, tree_n(lambda n: 10e6 + 0.2e6 * n)))
    assert ev.verdict == REFUTED and "grows like n" in ev.measured_text


def test_tree_logn_partial_when_flat(tmp_path):
    ev = evidence("002-tree-logn", load_records(tmp_path, tree_n(lambda n: 10e6 + 1e3 * math.log2(n))))
    assert ev.verdict == PARTIAL and "flat" in ev.measured_text


def test_tree_logn_needs_four_sizes_with_a_wrapped_buffer(tmp_path):
    # n = 256 and 512 at T = 256 never wrap: left out, leaving 3 sizes
    recs = tree_n(lambda n: 10e6 + 1e6 * math.log2(n), sizes=(4, 8, 16, 256, 512))
    ev = evidence("002-tree-logn", load_records(tmp_path, recs))
    assert ev.verdict == NOT_MEASURED and any("T < 2n" in n for n in ev.notes)


# -------------------------------------------------------------------- dense vs sparse (FLOP-ratio claims)
PAIRS = dict(label="docs-dense-sparse", lengths=(64,), seeds=(0, 1, 2))


def _sparse_time(factor):
    def tw(r):
        if r["config"]["learner"] != "rtrl":
            r["metrics"]["sensitivity_ns_per_step"] *= factor
    return tw


def test_flop_ratio_claims_on_the_dense_sparse_piece(tmp_path):
    # synth: sparse updates take 600/2000 of dense time; x 0.83 -> 0.25x, the documented ratio
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl", "sparse-rtrl-readonly"), tweak=_sparse_time(0.83),
                                        **PAIRS))
    for cid in ("001-write-sparsity", "003-0.25x"):
        ev = evidence(cid, df)
        assert ev.verdict == CONFIRMED, (cid, ev.measured_text)
        assert "analytic FLOP ratio" in ev.measured_text
    df = load_records(tmp_path / "b", measure(("rtrl", "sparse-rtrl", "sparse-rtrl-readonly"),
                                              tweak=_sparse_time(40), **PAIRS))
    assert verdict("001-write-sparsity", df) == REFUTED and verdict("003-0.25x", df) == REFUTED


# -------------------------------------------------------------------- the never-implemented jacrev optimisation
def test_jacrev_is_not_measured_but_shows_the_jacobian_share(tmp_path):
    def phases(r):
        r["metrics"]["phase_ns_per_step"] = {"jacobian": 3e6, "update": 6e6, "readout": 1e6, "other": 0.0}
    df = load_records(tmp_path, measure(("rtrl", "sparse-rtrl"), tweak=phases, **PAIRS))
    ev = evidence("001-jacrev-opt", df)
    assert ev.verdict == NOT_MEASURED
    assert any("30.0% of the step" in n for n in ev.notes) and any("W / H = 64 / 128" in n for n in ev.notes)
