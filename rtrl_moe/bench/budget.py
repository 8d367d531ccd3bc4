"""Memory budgets of a point, and telling an out-of-memory failure from any other.

A budget (``PointConfig.budget_mb``) is applied after imports and model construction: on CUDA a
per-process memory fraction, on the CPU an address-space limit of (address space now + budget).
Running past it is stored as ``status: "oom"``. An allocation failure shows up either as an
exception in the worker (:func:`is_oom`) or, when the worker dies of it, in the worker's log
(:func:`log_says_oom`); both read the same :data:`OOM_PATTERNS`.
"""
from __future__ import annotations

from typing import Optional

#: lower-case fragments of allocation-failure messages (torch CPU/CUDA, libstdc++, Python)
OOM_PATTERNS = ("out of memory", "can't allocate memory", "cannot allocate memory",
                "cublas_status_alloc_failed", "std::bad_alloc", "bad_alloc",
                "failed to allocate", "memoryerror")


def log_says_oom(text: str) -> bool:
    low = text.lower()
    return any(p in low for p in OOM_PATTERNS)


def is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    try:
        import torch
        if isinstance(exc, getattr(torch, "OutOfMemoryError", ())):
            return True
    except Exception:
        pass
    msg = str(exc)
    return isinstance(exc, RuntimeError) and log_says_oom(msg)


# -- memory budget -------------------------------------------------------------------------------
class Budget:
    """Apply ``budget_mb``: CUDA per-process memory fraction, or on CPU an address-space limit
    of (address space now + budget).  :meth:`lift` restores the previous limits."""

    def __init__(self, budget_mb: Optional[float], device: str):
        self.budget_mb = budget_mb
        self.device = device
        self.info: dict = {}
        self._old_as = None
        self._old_frac = None

    def apply(self) -> dict:
        if not self.budget_mb:
            return {}
        if self.device.startswith("cuda"):
            import torch

            from .probes.gpu import apply_cuda_budget
            dev = torch.device(self.device)
            frac = apply_cuda_budget(self.budget_mb, dev)
            self._old_frac = dev
            self.info = {"budget_mechanism": "cuda_memory_fraction", "budget_fraction": frac}
        else:
            import resource

            from .probes.rss import address_space_bytes
            base = address_space_bytes()
            if base is None:
                raise RuntimeError("cannot read this process's address space size for the budget")
            self._old_as = resource.getrlimit(resource.RLIMIT_AS)
            limit = int(base + self.budget_mb * 2**20)
            hard = self._old_as[1]
            if hard != resource.RLIM_INFINITY and limit > hard:
                limit = hard
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
            self.info = {"budget_mechanism": "rlimit_as", "address_space_baseline": base,
                         "rlimit_as": limit}
        return self.info

    def lift(self) -> None:
        if self._old_as is not None:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, self._old_as)
            self._old_as = None
        if self._old_frac is not None:
            import torch
            torch.cuda.set_per_process_memory_fraction(1.0, self._old_frac)
            self._old_frac = None

