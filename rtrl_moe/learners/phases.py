"""The sensitivity update's FLOP floor for a learner, and a plain matmul to measure its rate.

Exact RTRL cannot beat the FLOPs of its sensitivity update, so the floor of a step is those
FLOPs at the rate this process reaches on one plain batched matmul of the update's shape:

    floor_ns = flops_per_step / matmul_rate(shape),    floor_fraction = floor_ns / step_ns.

``flops_per_step`` is what the learner counted (``learner.counters``), so for tree-rtrl it
includes the flushes that actually ran. Time the matmul in the same process as the learner
(and interleaved with it): the rate depends on the machine's load and the cache state.
"""
from __future__ import annotations

import time

import torch

from ..flops import matmul_shape


def floor_spec(learner, batch_size: int) -> dict:
    """``{"shape": (batch, m, k, n), "flops_per_step": float}`` after ``learner.gradient``.

    ``shape`` is the batched matmul that dominates the update (``rm.flops.matmul_shape``).
    """
    c = learner.counters
    if not c["steps"]:
        raise ValueError("run learner.gradient first: the floor uses the FLOPs it counted")
    return {"shape": tuple(int(v) for v in matmul_shape(learner.name, learner.model.cfg,
                                                        batch_size)),
            "flops_per_step": c["sensitivity_flops"] / c["steps"]}


def matmul_ns(shape, dtype=torch.float32, device="cpu", min_ns: int = 5_000_000,
              clock=time.perf_counter_ns) -> float:
    """Nanoseconds of one ``torch.bmm`` of ``shape`` = (batch, m, k, n): the median of 5 timed
    loops of at least ``min_ns`` each, after one warm-up call. ``clock`` as the learner's."""
    B, m, k, n = shape
    g = torch.Generator().manual_seed(0)
    a = torch.randn(B, m, k, generator=g, dtype=dtype).to(device)
    b = torch.randn(B, k, n, generator=g, dtype=dtype).to(device)
    out = torch.empty(B, m, n, dtype=dtype, device=device)
    sync = torch.cuda.synchronize if out.is_cuda else (lambda: None)
    torch.bmm(a, b, out=out)
    samples = []
    for _ in range(5):
        sync()
        t0, calls = clock(), 0
        while True:
            torch.bmm(a, b, out=out)
            calls += 1
            sync()
            dt = clock() - t0
            if dt >= min_ns:
                break
        samples.append(dt / calls)
    return sorted(samples)[2]


def floor_ns(spec: dict, matmul_time_ns: float) -> float:
    """The update's FLOPs at the rate of the plain matmul that took ``matmul_time_ns``."""
    B, m, k, n = spec["shape"]
    return spec["flops_per_step"] / (2.0 * B * m * k * n / matmul_time_ns)
