"""GPU checks: each on targeted synthetic data, NOT MEASURED when rows are missing, REFUTED when the
data contradicts the claim, CONFIRMED when it agrees."""
from __future__ import annotations

import synth
from report_testlib import load_records, verdict

from rtrl_moe.report.evidence import CONFIRMED, NOT_MEASURED


def test_gpu_claims_measured_with_gpu_results(tmp_path):
    df = load_records(tmp_path, synth.gpu_records())
    assert verdict("000-gpu-speedup", df) == CONFIRMED      # fixture: cuda 10x faster
    assert verdict("003-gpu-1m", df) == NOT_MEASURED        # no OOM, no GPU capacity in records
    recs = synth.gpu_records() + [synth.record("measure", "bptt", 1_000_000, {}, status="oom", device="cuda",
                                               machine=synth.GPU_MACHINE, budget_mb=80_000)]
    df = load_records(tmp_path, recs)
    assert verdict("003-gpu-1m", df) == CONFIRMED
