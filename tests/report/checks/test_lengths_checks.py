"""Length, budget and OOM checks: each on targeted synthetic data, NOT MEASURED when rows are missing, REFUTED when the
data contradicts the claim, CONFIRMED when it agrees."""
from __future__ import annotations

import synth
from report_testlib import evidence, load_records, measure, verdict

from rtrl_moe.report.evidence import CONFIRMED, PARTIAL, REFUTED


def test_bptt_impossible_refuted_when_it_ran(tmp_path):
    df = load_records(tmp_path, measure(("bptt",), lengths=(20_000,)))
    assert verdict("002-bptt-impossible-10k", df) == REFUTED


def test_bptt_impossible_confirmed_when_oom(tmp_path):
    recs = [synth.record("measure", "bptt", 20_000, {}, status="oom", budget_mb=64),
            *measure(("sparse-rtrl",), lengths=(20_000,))]
    df = load_records(tmp_path, recs)
    assert verdict("002-bptt-impossible-10k", df) == CONFIRMED
    assert verdict("000-bptt-fails-10k", df) == CONFIRMED


def _bptt(per_token, lengths=(32, 128, 512, 2048)):
    def tw(r):
        r["metrics"]["tensor_bytes_peak"] = 1_000_000 + per_token * r["config"]["seq_len"]
    return measure(("bptt",), lengths=lengths, tweak=tw)


def test_oom_crossover_refuted_when_no_stated_budget_is_near(tmp_path):
    # ~6 KB/token: a 16 GiB device holds ~2.8M tokens, far from the documented 1024
    df = load_records(tmp_path, _bptt(6000))
    ev = evidence("000-bptt-oom-1024", df)
    assert ev.verdict == REFUTED and "no stated budget" in ev.measured_text


def test_oom_crossover_confirmed_when_a_device_runs_out_near_1024(tmp_path):
    # 16 MiB/token: a 16 GiB device is full at T* ~ 1024
    df = load_records(tmp_path, _bptt(16 * 2 ** 20))
    ev = evidence("000-bptt-oom-1024", df)
    assert ev.verdict == CONFIRMED and "16 GiB device" in ev.measured_text


def test_oom_crossover_partial_when_the_fit_misses_the_direct_run(tmp_path):
    # the fit says a 256 MiB budget is reached at ~16 tokens, but the direct run ran to 8192
    recs = _bptt(16 * 2 ** 20) + [synth.record("measure", "bptt", T, synth.measure_metrics("bptt", T), budget_mb=256,
                                               label="docs-budget", status="ok" if T < 8192 else "oom")
                                  for T in (512, 2048, 8192)]
    ev = evidence("000-bptt-oom-1024", load_records(tmp_path, recs))
    assert ev.verdict == PARTIAL


def test_only_practical_refuted_by_checkpointing(tmp_path):
    df = load_records(tmp_path, measure(("ckpt-bptt", "tree-rtrl"), lengths=(20_000,)))
    assert verdict("002-only-practical", df) == REFUTED
