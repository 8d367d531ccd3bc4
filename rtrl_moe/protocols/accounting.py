"""Tensor bytes on the CPU, the nearest measurable stand-in for the scripts'
``torch.cuda.max_memory_allocated``: parameters, gradients, what autograd saved for backward
(each storage counted once) and what an RTRL learner holds. Exact and deterministic; it misses
the allocator's rounding and the transient buffers of single kernels, which a CUDA peak counts.
"""
from __future__ import annotations

import time
from contextlib import contextmanager

import torch


def tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def param_bytes(model) -> int:
    return tensor_bytes(model.parameters())


@contextmanager
def saved_tensors():
    """Within the block, ``out["bytes"]`` is the bytes autograd saved (each storage once)."""
    seen: dict = {}
    out = {"bytes": 0}

    def pack(t):
        try:
            s = t.untyped_storage()
            key = (s.data_ptr(), s.nbytes())
            if key not in seen:
                seen[key] = s.nbytes()
                out["bytes"] += s.nbytes()
        except RuntimeError:       # a tensor without storage (a wrapper): nothing to count
            pass
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        yield out


def timed(fn, *args, **kwargs):
    """``(result, seconds)`` of one call, as the scripts time (``time.time`` around it)."""
    t0 = time.perf_counter()
    r = fn(*args, **kwargs)
    return r, time.perf_counter() - t0
