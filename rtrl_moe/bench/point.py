"""Run one measurement point in this process.

:func:`execute` runs a :class:`~rtrl_moe.bench.config.PointConfig` and returns
``{"status", "message", "config", "metrics", ...}``; it never raises: running out of memory is
``status "oom"`` (with the budget), any other exception ``"error"`` (with the message and the
traceback), a CUDA point on a machine without CUDA ``"skipped"`` (with the reason).
:func:`run_point` wraps the result into a full results record (docs/RESULTS.md).  A point is
normally run in a fresh subprocess (:func:`rtrl_moe.bench.worker.run_point_isolated`); running
it in-process (asv, tests) is fine when the caller accepts that a hard crash takes it down.

What each kind measures is in :mod:`rtrl_moe.bench.kinds`; the library is reached only through
its public API (docs/API.md), by way of :mod:`rtrl_moe.build`.
"""
from __future__ import annotations

import os
import signal
import time
import traceback
from typing import Any, Optional

from . import spec
from .budget import Budget, is_oom
from .config import TEST_HOOK_ENV, ConfigError, PointConfig


def _run_test_hook(hook: str, budget: Budget) -> None:
    if os.environ.get(TEST_HOOK_ENV) != "1":
        raise ConfigError(f"test_hook {hook!r} is honoured only with {TEST_HOOK_ENV}=1 (tests)")
    if hook == "oom":
        import torch
        budget.apply()
        mb = budget.budget_mb
        n = int((4 * mb + 64) * 2**20) if mb else 1 << 50
        torch.empty(n, dtype=torch.uint8).fill_(1)
        raise AssertionError("test hook 'oom' did not run out of memory")
    if hook == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
        time.sleep(5)
        os.abort()
    if hook == "hang":
        time.sleep(3600)
    if hook == "raise":
        raise RuntimeError("test hook: deliberate failure")


def execute(cfg: PointConfig) -> dict:
    """Run ``cfg`` here; ``{"status", "message", "config", "metrics", "traceback"?}``."""
    budget = Budget(cfg.budget_mb, cfg.device)
    t0 = time.perf_counter()
    out: dict = {"status": "ok", "message": None, "config": spec.resolved_config(cfg),
                 "metrics": {}}
    try:
        import torch
        if cfg.threads:
            torch.set_num_threads(int(cfg.threads))
        if cfg.device.startswith("cuda") and not torch.cuda.is_available():
            out.update(status="skipped", message="CUDA not available on this machine "
                       f"(torch {torch.__version__}, torch.version.cuda={torch.version.cuda})")
            return out
        spec.learner_class(cfg)
        # the record names the resolved model config whatever happens after this line
        out["config"] = spec.resolved_config(cfg, spec.model_config(cfg))
        if cfg.test_hook:
            _run_test_hook(cfg.test_hook, budget)
        from .kinds import RUNNERS
        out["metrics"] = RUNNERS[cfg.kind](cfg, budget)
    except BaseException as e:  # noqa: BLE001 -- a point's failure is data
        budget.lift()
        if isinstance(e, KeyboardInterrupt):
            raise
        if is_oom(e):
            b = f" under budget {cfg.budget_mb} MB" if cfg.budget_mb else " (no budget set)"
            out.update(status="oom", message=f"out of memory{b}: {type(e).__name__}: "
                                             f"{str(e)[:400]}")
        else:
            out.update(status="error", message=f"{type(e).__name__}: {str(e)[:1000]}")
        out["traceback"] = traceback.format_exc()[-4000:]
        out["metrics"] = {}
    finally:
        out["elapsed_s"] = time.perf_counter() - t0
    return out


def run_point(cfg: PointConfig, *, run_id: Optional[str] = None, **extra: Any) -> dict:
    """Run ``cfg`` in this process and return a full results record."""
    from ..records import make_record
    from .spec import code_of
    r = execute(cfg)
    rec_extra = {"point_key": cfg.key(), "wall_s": r.get("elapsed_s"), "isolated": False,
                 "code": code_of(cfg)}
    if "traceback" in r:
        rec_extra["traceback"] = r["traceback"]
    rec_extra.update(extra)
    return make_record(config=r["config"], status=r["status"], metrics=r["metrics"],
                       message=r["message"], run_id=run_id, **rec_extra)
