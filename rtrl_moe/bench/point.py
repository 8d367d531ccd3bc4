"""Run one measurement point in this process.

:func:`execute` runs a :class:`~rtrl_moe.bench.config.PointConfig` and returns
``{"status", "message", "config", "metrics", ...}``; it never raises: running out of memory is
``status "oom"`` (with the budget), any other exception ``"error"`` (with the message and the
traceback), a CUDA point on a machine without CUDA ``"skipped"`` (with the reason).
:func:`run_point` wraps the result into a full results record (docs/RESULTS.md).  A point is
normally run in a fresh subprocess (:func:`rtrl_moe.bench.isolate.run_point_isolated`); running
it in-process (asv, tests) is fine when the caller accepts that a hard crash takes it down.

The library is reached only through its public API (docs/API.md).

kind "measure" -- one training step over the whole sequence is ``opt.zero_grad();
grads = learner.gradient(task.stream()); p.grad = grads[name]; opt.step()`` (Adam).  Steps:

1. model, learner and optimizer built; a discarded gradient over the first few steps (lazy
   one-off initialisation); RSS baseline; memory budget applied;
2. memory pass (the first warm-up step), ``tensor_tracking``:
   * "hooks": autograd's saved tensors through ``saved_tensors_hooks`` (each storage once,
     live peak) and ``learner.state_bytes()`` sampled at every step;
   * "live" (automatic for ckpt-bptt, whose checkpoint hooks hide the recomputed segment from
     ours, and for learners that use torch.func, which refuses to run under saved-tensor
     hooks): every tensor the ``gradient()`` call creates, through a dispatch mode; the
     transient peak is the live peak minus the gradients and the learner state.  Streaming
     learners may be tracked over their first ``track_steps`` steps, the state at every step of
     the whole sequence.  ``tensor_bytes_method`` says which was used;
3. ``warmup - 1`` more untimed steps, then ``repeats`` timed steps (median, IQR);
4. RSS / CUDA / NVML peaks read, budget lifted;
5. profiled pass over at most ``PROFILE_STEPS`` steps with ``learner.profile = True`` for the
   sensitivity-update FLOPs and time, then ``torch.bmm`` of the update's shape
   (``rtrl_moe.flops.matmul_shape``) for ``matmul_flops_per_s``.

``tensor_bytes_peak = params + grads + optimizer state + learner state + saved (or transient)
peak``: the sum of each component's own peak (an upper bound on the simultaneous peak,
deterministic).
"""
from __future__ import annotations

import copy
import gc
import itertools
import math
import os
import signal
import time
import traceback
from typing import Any, Optional

from .config import TEST_HOOK_ENV, ConfigError, PointConfig

PROFILE_STEPS = 256
PREFIX_WARMUP_STEPS = 4
#: learners whose saved tensors our hooks cannot see (checkpoint installs its own hooks)
LIVE_TRACKING_LEARNERS = ("ckpt-bptt",)
OOM_PATTERNS = ("out of memory", "can't allocate memory", "cannot allocate memory",
                "cublas_status_alloc_failed", "std::bad_alloc", "bad_alloc",
                "failed to allocate")


# -- building blocks from the public API -------------------------------------------------------
def model_config_class(model_type: str):
    import rtrl_moe as rm
    return rm.MoEConfig if model_type == "moe" else rm.RNNConfig


def model_config_fields(model_type: str) -> list[str]:
    import dataclasses
    return [f.name for f in dataclasses.fields(model_config_class(model_type))]


def check_model_overrides(model_type: str, overrides: dict) -> None:
    known = model_config_fields(model_type)
    unknown = [k for k in overrides if k not in known]
    if unknown:
        raise ConfigError(f"unknown model config key(s) {', '.join(map(repr, unknown))} for "
                          f"model '{model_type}'; known: {', '.join(known)}")


def check_names(cfg: PointConfig) -> None:
    """Learner / task / model keys exist (needs the library)."""
    import rtrl_moe as rm
    if cfg.learner not in rm.LEARNERS:
        raise ConfigError(f"unknown learner {cfg.learner!r}; choose one of "
                          f"{', '.join(rm.LEARNERS)}")
    if cfg.task not in rm.TASKS:
        raise ConfigError(f"unknown task {cfg.task!r}; choose one of {', '.join(rm.TASKS)}")
    check_model_overrides(cfg.model_type, cfg.model)


def torch_dtype(name: str):
    import torch
    return {"float32": torch.float32, "float64": torch.float64}[name]


def build_task(cfg: PointConfig):
    import rtrl_moe as rm
    return rm.make_task(cfg.task, seq_len=cfg.seq_len, batch_size=cfg.batch, seed=cfg.seed,
                        **cfg.task_kwargs)


def build_model(cfg: PointConfig, task):
    """Model on cfg.device / cfg.dtype, initialised from ``torch.manual_seed(cfg.seed)``."""
    import torch

    import rtrl_moe as rm
    check_model_overrides(cfg.model_type, cfg.model)
    over = dict(cfg.model)
    for k, v in (("d_in", task.d_in), ("d_out", task.d_out)):
        if k in over and over[k] != v:
            raise ConfigError(f"model {k}={over[k]} does not match task {cfg.task!r} ({k}={v})")
        over[k] = v
    mcfg = model_config_class(cfg.model_type)(**over)
    torch.manual_seed(cfg.seed)
    model = rm.RecurrentMoE(mcfg) if cfg.model_type == "moe" else rm.RecurrentRNN(mcfg)
    model = model.to(device=cfg.device, dtype=torch_dtype(cfg.dtype))
    return model, mcfg


def config_dict(mcfg) -> dict:
    import dataclasses
    return mcfg.to_dict() if hasattr(mcfg, "to_dict") else dataclasses.asdict(mcfg)


def resolved_config(cfg: PointConfig, mcfg=None) -> dict:
    d = cfg.to_dict()
    d["model_overrides"] = dict(cfg.model)
    if mcfg is not None:
        d["model"] = config_dict(mcfg)
    return d


def sensitivity_bmm_shape(learner: str, model_type: str, mcfg: dict, H: int, P: int,
                          batch: int) -> tuple[int, int, int, int]:
    """``(B, M, K, N)`` of the sensitivity update's batched matmul ``J[M, K] @ P[K, N]``.

    Dense RTRL: ``J_h [H, H] @ P [H, P]``.  Sparse: rows of the written slots, columns of the
    read and written slots (``topk_read`` only for ``sparse-rtrl-readonly``).
    """
    if model_type == "moe" and learner in ("sparse-rtrl", "tree-rtrl", "sparse-rtrl-readonly"):
        d = mcfg["d_model"]
        m = mcfg["topk_read"] if learner == "sparse-rtrl-readonly" else \
            min(mcfg["n_slots"], mcfg["topk_read"] + mcfg["topk_write"])
        return (batch, mcfg["topk_write"] * d, m * d, P)
    return (batch, H, H, P)


def is_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    try:
        import torch
        if isinstance(exc, getattr(torch, "OutOfMemoryError", ())):
            return True
    except Exception:
        pass
    msg = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(p in msg for p in OOM_PATTERNS)


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

            from .memory import apply_cuda_budget
            dev = torch.device(self.device)
            frac = apply_cuda_budget(self.budget_mb, dev)
            self._old_frac = dev
            self.info = {"budget_mechanism": "cuda_memory_fraction", "budget_fraction": frac}
        else:
            import resource

            from .memory import address_space_bytes
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


# -- the training step and its accounting --------------------------------------------------------
class _Trainer:
    def __init__(self, cfg: PointConfig, task, model, learner, opt):
        self.cfg, self.task, self.model, self.learner, self.opt = cfg, task, model, learner, opt
        self.state_max = 0

    def stream(self, index: int = 0, track_state: bool = False, limit: Optional[int] = None):
        it = self.task.stream(index)
        if limit is not None:
            it = itertools.islice(it, limit)
        for x_t, y_t in it:
            if track_state:
                self._sample_state()
            yield x_t, y_t

    def _sample_state(self):
        try:
            b = int(self.learner.state_bytes())
        except Exception:
            return
        if b > self.state_max:
            self.state_max = b

    def learner_streams(self) -> bool:
        """True for learners that hold no per-step tensors (a tracking window is valid)."""
        return bool(getattr(self.learner, "streaming", False))

    def prefix_warmup(self, n: int = PREFIX_WARMUP_STEPS) -> None:
        """Gradient over the first few steps, discarded: lazy one-off initialisation (autograd
        engine, torch.func, kernels, code pages, threads) happens before the RSS baseline and
        the address-space budget, so neither measures it."""
        import torch
        dtype = torch_dtype(self.cfg.dtype)
        (torch.ones(64, 64, dtype=dtype) @ torch.ones(64, 64, dtype=dtype)).sum().item()
        self.learner.gradient(self.stream(limit=min(n, self.cfg.seq_len)))
        self.opt.zero_grad(set_to_none=True)
        gc.collect()

    def step(self, stream) -> None:
        self.opt.zero_grad(set_to_none=True)
        self._apply(self.learner.gradient(stream))

    def _apply(self, grads) -> None:
        for name, p in self.model.named_parameters():
            p.grad = grads[name]
        self.opt.step()

    def accounted_step(self) -> dict:
        """One training step with exact tensor accounting (the memory pass)."""
        from .memory import (
            LiveTensorTracker,
            SavedTensorTracker,
            hooks_refused,
            optimizer_state_tensors,
            unique_bytes,
        )
        params = list(self.model.parameters())
        out: dict = {}
        mode = self.cfg.tensor_tracking
        if mode == "auto":
            mode = "live" if self.cfg.learner in LIVE_TRACKING_LEARNERS else "hooks"
        reason = None
        if mode == "hooks":
            try:
                with SavedTensorTracker(exclude=params) as tr:
                    self.step(self.stream(track_state=True))
                out["tensor_bytes_method"] = "saved_tensors_hooks"
                out["tensor_bytes_saved_peak"] = int(tr.peak)
                out["saved_tensors_packed"] = tr.n_packed
                out["saved_tensors_live_after"] = int(tr.current)
                out["tensor_bytes_tracked_steps"] = self.cfg.seq_len
                transient = int(tr.peak)
            except RuntimeError as e:
                if not hooks_refused(e):
                    raise
                # torch.func inside the learner: the step stopped before the optimizer step,
                # so the parameters are unchanged; run it again under the live-tensor tracker
                self.opt.zero_grad(set_to_none=True)
                self.state_max = 0
                mode = "live"
                reason = ("saved_tensors_hooks refused by torch.func in the learner; transient "
                          "peak from live tensors instead")
        elif self.cfg.tensor_tracking == "auto":
            reason = ("torch.utils.checkpoint's own saved-tensor hooks hide the recomputed "
                      "segment from ours; transient peak from live tensors instead")
        if mode == "live":
            window = self.cfg.track_steps
            full = window is None or window >= self.cfg.seq_len or not self.learner_streams()
            self.opt.zero_grad(set_to_none=True)
            self.state_max = 0
            gc.collect()
            # the gradient only: the optimizer's state is created after the peak and is
            # counted on its own (tensor_bytes_optimizer)
            with LiveTensorTracker(exclude=params) as lt:
                grads = self.learner.gradient(self.stream(track_state=True,
                                                          limit=None if full else window))
            self._sample_state()
            held = unique_bytes(grads.values()) + self.state_max
            self._apply(grads)
            del grads
            gc.collect()
            if not full:
                # the whole sequence once more, untracked, sampling the learner state each step
                self.step(self.stream(track_state=True))
            out["tensor_bytes_method"] = "dispatch_live"
            out["tensor_bytes_saved_peak"] = None
            out["tensor_bytes_live_peak"] = int(lt.peak)
            out["tensor_bytes_transient_peak"] = int(max(0, lt.peak - held))
            out["tensor_bytes_tracked_steps"] = self.cfg.seq_len if full else window
            out["saved_tracking"] = reason or "tensor_tracking='live' requested"
            transient = out["tensor_bytes_transient_peak"]
        self._sample_state()
        comp = {
            "tensor_bytes_params": unique_bytes(params),
            "tensor_bytes_grads": unique_bytes(p.grad for p in params),
            "tensor_bytes_optimizer": unique_bytes(optimizer_state_tensors(self.opt)),
            "tensor_bytes_learner_state": int(self.state_max),
        }
        out.update(comp)
        out["tensor_bytes_peak"] = int(sum(comp.values()) + transient)
        return out


def _counters(learner) -> dict:
    c = getattr(learner, "counters", None) or {}
    return {k: int(c.get(k, 0) or 0) for k in ("sensitivity_flops", "sensitivity_ns", "steps")}


def _delta(before: dict, after: dict) -> dict:
    """Counters of the last gradient() call, whether the learner resets them or accumulates."""
    if after["steps"] > before["steps"] and before["steps"] > 0 and \
            after["sensitivity_flops"] >= before["sensitivity_flops"]:
        # accumulating counters; a reset-per-call learner would show steps == before's
        return {k: after[k] - before[k] for k in after}
    return dict(after)


def _env_metrics() -> dict:
    import torch
    return {"threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads()}


def _model_metrics(model, learner_name: str) -> dict:
    import rtrl_moe as rm
    out = {"n_params": int(sum(p.numel() for p in model.parameters()))}
    try:
        out["n_state_params"] = int(rm.flops.state_param_count(model))
    except Exception:
        out["n_state_params"] = None
    try:
        out["H"] = int(model.init_state(1).shape[-1])
    except Exception:
        out["H"] = None
    # written so that the report can tell an expert-heavy config without building a model
    out["n_expert_params"] = (int(rm.flops.expert_param_count(model))
                              if hasattr(model, "expert_param_groups") else None)
    return out


# -- kinds ---------------------------------------------------------------------------------------
def _measure(cfg: PointConfig, res: dict, budget: Budget) -> dict:
    import torch

    import rtrl_moe as rm

    from .memory import CudaMonitor, NvmlSampler, RssMonitor, cuda_device_ids
    from .timing import make_sync, matmul_flops_per_s, summarize, time_calls

    dev = torch.device(cfg.device)
    on_cuda = dev.type == "cuda"
    m: dict = {"cuda_allocated_peak": None, "cuda_reserved_peak": None, "nvml_used_peak": None,
               "nvml_context_bytes": None, "nvml_source": None}
    nvml = cuda_mon = None
    if on_cuda:
        if dev.index is None:
            dev = torch.device("cuda", torch.cuda.current_device())
        torch.cuda.set_device(dev)
        try:
            nvml = NvmlSampler(**{k: v for k, v in cuda_device_ids(dev.index).items()
                                  if k in ("uuid", "pci_bus_id")}, index=dev.index)
            nvml.open()
            nvml.mark_pre_context()
        except Exception as e:  # no NVML library, no permission ...
            nvml = None
            m["nvml_error"] = f"{type(e).__name__}: {e}"
        torch.cuda.init()
        torch.empty(1, device=dev)
        torch.cuda.synchronize(dev)
        if nvml is not None:
            nvml.set_baseline()
            nvml.start()
        cuda_mon = CudaMonitor(dev).start()
    sync = make_sync(dev)
    try:
        task = build_task(cfg)
        model, mcfg = build_model(cfg, task)
        res["model"] = config_dict(mcfg)
        learner = rm.make_learner(cfg.learner, model, **cfg.learner_kwargs)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr if cfg.lr is not None else 1e-3)
        tr = _Trainer(cfg, task, model, learner, opt)
        dtype = torch_dtype(cfg.dtype)
        tr.prefix_warmup()
        sync()
        if cuda_mon is not None:
            # model + lazily loaded kernels / library handles, inside the peaks below
            m["cuda_allocated_after_warmup"] = int(torch.cuda.memory_allocated(dev)
                                                   - cuda_mon.base_allocated)
        if nvml is not None:
            now = nvml.read()
            m["nvml_used_after_warmup"] = None if now is None else int(now - nvml.baseline)

        rss = RssMonitor().start()
        m.update(budget.apply())
        try:
            m.update(tr.accounted_step())
            for _ in range(cfg.warmup - 1):
                tr.step(tr.stream())
            times = time_calls(lambda: tr.step(tr.stream()), repeats=cfg.repeats, warmup=0,
                               sync=sync) if cfg.repeats else []
            sync()
            m.update(rss.stop())
            if cuda_mon is not None:
                m.update(cuda_mon.stop())
            if nvml is not None:
                m.update(nvml.stop())
                nvml.close()
                nvml = None
        finally:
            budget.lift()
    finally:
        if nvml is not None and nvml._thread is not None:  # an exception left it running
            nvml.stop()
            nvml.close()
    if times:
        st = summarize(times)
        m.update({"time_step_median_ns": st["median"], "time_step_iqr_ns": st["iqr"],
                  "time_step_ns": times, "time_per_token_ns": st["median"] / cfg.seq_len})
    else:  # memory-only point
        m.update({"time_step_median_ns": None, "time_step_iqr_ns": None, "time_step_ns": [],
                  "time_per_token_ns": None})
    stats = dict(getattr(learner, "stats", {}) or {})
    m["loss"] = stats.get("loss")
    m["accuracy"] = stats.get("accuracy")
    m["n_targets"] = stats.get("n_targets")
    m.update(_env_metrics())
    m.update(_model_metrics(model, cfg.learner))

    # sensitivity-update work: profiled pass, analytic count, plain bmm of the same shape
    m.update({"sensitivity_flops_per_step": None, "sensitivity_ns_per_step": None,
              "sensitivity_flops_per_s": None, "matmul_flops_per_s": None,
              "matmul_fraction": None})
    try:
        m["sensitivity_flops_analytic"] = int(rm.flops.sensitivity_update_flops(
            cfg.learner, mcfg, cfg.batch))
    except Exception as e:
        m["sensitivity_flops_analytic"] = None
        m["sensitivity_flops_analytic_error"] = f"{type(e).__name__}: {e}"[:300]
    before = _counters(learner)
    if cfg.repeats and (before["sensitivity_flops"] > 0 or cfg.learner in (
            "rtrl", "sparse-rtrl", "tree-rtrl", "sparse-rtrl-readonly")):
        n_prof = min(cfg.seq_len, PROFILE_STEPS)
        learner.profile = True
        try:
            before = _counters(learner)
            tr.step(tr.stream(limit=n_prof))
            c = _delta(before, _counters(learner))
        finally:
            learner.profile = False
        if c["steps"] and c["sensitivity_flops"]:
            m["sensitivity_profile_steps"] = c["steps"]
            m["sensitivity_flops_per_step"] = c["sensitivity_flops"] / c["steps"]
            m["sensitivity_ns_per_step"] = c["sensitivity_ns"] / c["steps"]
            if c["sensitivity_ns"]:
                m["sensitivity_flops_per_s"] = c["sensitivity_flops"] / (c["sensitivity_ns"] / 1e9)
            if cfg.matmul and m.get("n_state_params"):
                try:
                    shape = tuple(int(v) for v in rm.flops.matmul_shape(cfg.learner, mcfg,
                                                                         cfg.batch))
                    m["matmul_shape_source"] = "rtrl_moe.flops.matmul_shape"
                except Exception:
                    shape = sensitivity_bmm_shape(cfg.learner, cfg.model_type, res["model"],
                                                  m["H"], m["n_state_params"], cfg.batch)
                    m["matmul_shape_source"] = "bench"
                m.update(matmul_flops_per_s(shape, dtype, dev))
                if m["sensitivity_flops_per_s"] and m["matmul_flops_per_s"]:
                    m["matmul_fraction"] = m["sensitivity_flops_per_s"] / m["matmul_flops_per_s"]
    return m


def _compare(g: dict, ref: dict) -> dict:
    import torch

    def stats(a, b):
        a = a.detach().double().flatten()
        b = b.detach().double().flatten()
        d = a - b
        nb, na, nd = float(b.norm()), float(a.norm()), float(d.norm())
        rel = nd / nb if nb > 0 else (0.0 if nd == 0 else None)
        if na > 0 and nb > 0:
            cos = float(torch.dot(a, b) / (na * nb))
        else:
            cos = 1.0 if na == nb == 0 else None
        return {"rel_err": rel, "max_abs_err": float(d.abs().max()) if d.numel() else 0.0,
                "cosine": cos, "norm": na, "ref_norm": nb}

    per = {}
    flat_a, flat_b = [], []
    for name, b in ref.items():
        a = g.get(name)
        if a is None:
            a = torch.zeros_like(b)
        per[name] = stats(a, b)
        flat_a.append(a.detach().double().flatten().cpu())
        flat_b.append(b.detach().double().flatten().cpu())
    missing = sorted(set(g) - set(ref))
    overall = stats(torch.cat(flat_a), torch.cat(flat_b))
    overall["per_param"] = per
    if missing:
        overall["extra_params"] = missing
    return overall


def measure_agreement(learner: str, seq_len: int, *, dtype: str = "float64", batch: int = 1,
                      seed: int = 0, task: str = "anbn", model_type: str = "moe",
                      model: Optional[dict] = None, learner_kwargs: Optional[dict] = None,
                      task_kwargs: Optional[dict] = None, device: str = "cpu") -> dict:
    """Gradient agreement of ``learner`` with ``bptt`` (in this process): the metrics dict.

    Same parameters (one model built from ``seed``, deep-copied), same ``x, y`` from
    ``task.batch()``; relative L2 error, max abs error and cosine, overall and per parameter.
    """
    cfg = PointConfig(kind="agree", learner=learner, seq_len=seq_len, dtype=dtype, batch=batch,
                      seed=seed, task=task, model_type=model_type, model=dict(model or {}),
                      learner_kwargs=dict(learner_kwargs or {}),
                      task_kwargs=dict(task_kwargs or {}), device=device)
    return _agree(cfg, resolved_config(cfg), Budget(None, device))


def _agree(cfg: PointConfig, res: dict, budget: Budget) -> dict:

    import rtrl_moe as rm
    task = build_task(cfg)
    x, y = task.batch(0)
    model, mcfg = build_model(cfg, task)
    res["model"] = config_dict(mcfg)
    ref_model = copy.deepcopy(model)
    dtype = torch_dtype(cfg.dtype)
    x = x.to(device=cfg.device, dtype=dtype)
    y = y.to(device=cfg.device)
    budget.apply()
    try:
        ref = rm.make_learner("bptt", ref_model)
        t0 = time.perf_counter()
        g_ref = ref.gradient(x, y)
        t_ref = time.perf_counter() - t0
        lrn = rm.make_learner(cfg.learner, model, **cfg.learner_kwargs)
        t0 = time.perf_counter()
        g = lrn.gradient(x, y)
        t_l = time.perf_counter() - t0
    finally:
        budget.lift()
    out = _compare(g, g_ref)
    out.update({"loss": (lrn.stats or {}).get("loss"), "loss_ref": (ref.stats or {}).get("loss"),
                "n_targets": (ref.stats or {}).get("n_targets"),
                "time_s": t_l, "time_ref_s": t_ref, "exact": None})
    if cfg.dtype == "float64" and out["rel_err"] is not None:
        out["exact"] = bool(out["rel_err"] <= 1e-10)
    out.update(_env_metrics())
    out.update(_model_metrics(model, cfg.learner))
    return out


def _evaluate(model, task, cfg: PointConfig, n_batches: int = 2) -> dict:
    """Forward-only loss/accuracy on held-out batches (negative indices), from model.step."""
    import torch
    import torch.nn.functional as F
    dtype = torch_dtype(cfg.dtype)
    loss_sum, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for b in range(n_batches):
            h = model.init_state(cfg.batch)
            for x_t, y_t in task.stream(-1 - b):
                logits, h, _ = model.step(x_t.to(device=cfg.device, dtype=dtype), h)
                y_t = y_t.to(cfg.device)
                mask = y_t != -100
                k = int(mask.sum())
                if k:
                    loss_sum += float(F.cross_entropy(logits, y_t, ignore_index=-100,
                                                      reduction="sum"))
                    correct += int((logits.argmax(-1) == y_t)[mask].sum())
                    n += k
    return {"loss": loss_sum / n if n else math.nan, "accuracy": correct / n if n else math.nan,
            "n_targets": n}


def _train(cfg: PointConfig, res: dict, budget: Budget) -> dict:
    import torch

    import rtrl_moe as rm
    task = build_task(cfg)
    model, mcfg = build_model(cfg, task)
    res["model"] = config_dict(mcfg)
    learner = rm.make_learner(cfg.learner, model, **cfg.learner_kwargs)
    lr = cfg.lr if cfg.lr is not None else 1e-3
    res["lr"] = lr
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    tr = _Trainer(cfg, task, model, learner, opt)
    every = cfg.eval_every or max(1, cfg.steps // 20)
    curve = []
    m: dict = {}
    tr.prefix_warmup()
    budget.apply()
    t0 = time.perf_counter()
    try:
        for step in range(cfg.steps):
            if step == 0:
                m.update(tr.accounted_step())
            else:
                tr.step(tr.stream(index=step))
            if (step + 1) % every == 0 or step + 1 == cfg.steps or step == 0:
                s = learner.stats or {}
                curve.append([step + 1, s.get("loss"), s.get("accuracy")])
        t_train = time.perf_counter() - t0
        ev = _evaluate(model, task, cfg)
    finally:
        budget.lift()
    m.update({"final_loss": ev["loss"], "final_accuracy": ev["accuracy"],
              "eval_targets": ev["n_targets"], "curve": curve, "time_total_s": t_train,
              "train_loss_last": curve[-1][1], "train_accuracy_last": curve[-1][2]})
    try:
        m["chance_accuracy"] = float(task.chance_accuracy)
    except Exception:
        pass
    m.update(_env_metrics())
    m.update(_model_metrics(model, cfg.learner))
    return m


# -- entry points --------------------------------------------------------------------------------
def execute(cfg: PointConfig) -> dict:
    """Run ``cfg`` here; ``{"status", "message", "config", "metrics", "traceback"?}``."""
    res = resolved_config(cfg)
    budget = Budget(cfg.budget_mb, cfg.device)
    t0 = time.perf_counter()
    out: dict = {"status": "ok", "message": None, "config": res, "metrics": {}}
    try:
        import torch
        if cfg.threads:
            torch.set_num_threads(int(cfg.threads))
        if cfg.device.startswith("cuda") and not torch.cuda.is_available():
            out.update(status="skipped", message="CUDA not available on this machine "
                       f"(torch {torch.__version__}, torch.version.cuda={torch.version.cuda})")
            return out
        check_names(cfg)
        if cfg.test_hook:
            _run_test_hook(cfg.test_hook, budget)
        kind = {"measure": _measure, "agree": _agree, "train": _train}[cfg.kind]
        out["metrics"] = kind(cfg, res, budget)
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
        if "d_in" not in (res.get("model") or {}):  # failed before the model was built
            out["config"] = static_config(cfg)
    finally:
        out["elapsed_s"] = time.perf_counter() - t0
    return out


def run_point(cfg: PointConfig, *, run_id: Optional[str] = None, **extra: Any) -> dict:
    """Run ``cfg`` in this process and return a full results record."""
    from ..records import make_record
    r = execute(cfg)
    rec_extra = {"point_key": cfg.key(), "wall_s": r.get("elapsed_s"), "isolated": False}
    if "traceback" in r:
        rec_extra["traceback"] = r["traceback"]
    rec_extra.update(extra)
    return make_record(config=r["config"], status=r["status"], metrics=r["metrics"],
                       message=r["message"], run_id=run_id, **rec_extra)


def static_config(cfg: PointConfig) -> dict:
    """The record's config without running anything (for points whose worker died): the model
    dict resolved from the task's sizes where the library can tell them."""
    res = resolved_config(cfg)
    try:
        task = build_task(cfg)
        over = dict(cfg.model)
        over.setdefault("d_in", task.d_in)
        over.setdefault("d_out", task.d_out)
        res["model"] = config_dict(model_config_class(cfg.model_type)(**over))
    except Exception:
        pass
    return res
