"""Timing: ``time.perf_counter_ns``, synchronising CUDA before reading the clock.

:func:`time_calls` runs ``fn`` ``warmup`` times untimed, then ``repeats`` timed calls and
returns the list of nanoseconds; :func:`summarize` gives the median and the interquartile
range (75th - 25th percentile, linear interpolation).  :func:`matmul_flops_per_s` measures the
throughput of a plain batched matmul (``torch.bmm``) of a given shape in this process.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable, Optional, Sequence


def _percentile(sorted_vals: Sequence[float], q: float) -> float:
    if not sorted_vals:
        raise ValueError("no values")
    if len(sorted_vals) == 1:
        return float(sorted_vals[0])
    pos = (len(sorted_vals) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return float(sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (pos - lo))


def summarize(ns: Sequence[int]) -> dict:
    s = sorted(ns)
    return {"median": float(statistics.median(s)),
            "iqr": _percentile(s, 0.75) - _percentile(s, 0.25),
            "min": float(s[0]), "max": float(s[-1]), "n": len(s)}


def make_sync(device) -> Callable[[], None]:
    dev = str(device)
    if dev.startswith("cuda"):
        import torch
        return lambda: torch.cuda.synchronize(dev)
    return lambda: None


def time_calls(fn: Callable[[], object], repeats: int, warmup: int = 0,
               sync: Optional[Callable[[], None]] = None) -> list[int]:
    sync = sync or (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    out = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter_ns()
        fn()
        sync()
        out.append(time.perf_counter_ns() - t0)
    return out


def matmul_flops_per_s(shape: tuple[int, int, int, int], dtype, device="cpu",
                       repeats: int = 5, min_time_s: float = 0.02,
                       max_bytes: int = 1 << 30) -> dict:
    """FLOP/s of ``torch.bmm([B, M, K], [B, K, N])`` (2*B*M*K*N flops per call).

    Each timed sample loops the bmm enough times to take at least ``min_time_s``.  Where the
    operands would exceed ``max_bytes``, N is capped (and the capped shape reported).
    """
    import torch
    B, M, K, N = (max(1, int(v)) for v in shape)
    elt = torch.empty((), dtype=dtype).element_size()
    per_n = B * (K + M) * elt
    capped = False
    if B * M * K * elt + per_n * N > max_bytes:
        N = max(1, (max_bytes - B * M * K * elt) // per_n)
        capped = True
    g = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(B, M, K, generator=g, dtype=dtype).to(device)
    b = torch.randn(B, K, N, generator=g, dtype=dtype).to(device)
    out = torch.empty(B, M, N, dtype=dtype, device=device)
    sync = make_sync(device)

    def once():
        torch.bmm(a, b, out=out)

    # calibrate inner loop count
    inner = 1
    while True:
        sync()
        t0 = time.perf_counter_ns()
        for _ in range(inner):
            once()
        sync()
        dt = time.perf_counter_ns() - t0
        if dt >= min_time_s * 1e9 or inner >= 1 << 16:
            break
        inner = min(1 << 16, max(inner * 2, int(inner * min_time_s * 1e9 / max(dt, 1)) + 1))
    ns = time_calls(lambda: [once() for _ in range(inner)], repeats=repeats, warmup=0, sync=sync)
    flops = 2.0 * B * M * K * N * inner
    med = summarize(ns)["median"]
    return {"matmul_flops_per_s": flops / (med / 1e9), "matmul_shape": [B, M, K, N],
            "matmul_shape_capped": capped, "matmul_inner_loops": inner}
