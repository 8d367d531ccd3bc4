"""kind "measure": memory and time of one training step over the whole sequence.

1. model, learner and optimizer built; a discarded gradient over the first few steps (lazy
   one-off initialisation); RSS baseline; memory budget applied;
2. memory pass (the first warm-up step, :meth:`StepRunner.accounted_step`);
3. ``warmup - 1`` more untimed steps, then ``repeats`` timed steps (median, IQR);
4. RSS / CUDA / NVML peaks read, budget lifted;
5. profiled pass over at most ``PROFILE_STEPS`` steps with ``learner.profile = True`` for the
   sensitivity-update FLOPs and time, then ``torch.bmm`` of the update's shape
   (``rtrl_moe.flops.matmul_shape``) for ``matmul_flops_per_s``.
"""
from __future__ import annotations

from ... import build
from .. import spec
from ..budget import Budget
from ..config import DEFAULT_LR, PointConfig
from .step import StepRunner

#: behaviour version of what this kind measures (rtrl_moe/records/versions.py)
VERSIONS = {"kind.measure": 1}

PROFILE_STEPS = 256


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



def run(cfg: PointConfig, budget: Budget) -> dict:
    """The ``measure`` metrics of ``cfg`` (docs/RESULTS.md)."""
    import torch

    import rtrl_moe as rm

    from ..probes.gpu import CudaMonitor, NvmlSampler, cuda_device_ids
    from ..probes.load import LoadMonitor
    from ..probes.rss import RssMonitor
    from ..timing import make_sync, matmul_flops_per_s, summarize, time_calls

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
        task = spec.make_task(cfg)
        mcfg = spec.model_config(cfg, task)
        model = spec.make_model(cfg, mcfg)
        learner = spec.make_learner(cfg, model)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr if cfg.lr is not None else DEFAULT_LR)
        tr = StepRunner(cfg, task, model, learner, opt)
        dtype = build.torch_dtype(cfg.dtype)
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
            load = LoadMonitor().start()
            times = time_calls(lambda: tr.step(tr.stream()), repeats=cfg.repeats, warmup=0,
                               sync=sync) if cfg.repeats else []
            m.update(load.stop())
            m.update(phase_metrics(learner) if times else {})
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
    m.update(spec.env_metrics())
    m.update(spec.model_metrics(model))

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
    if cfg.repeats and (before["sensitivity_flops"] > 0 or learner.uses_torch_func):
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
                shape = tuple(int(v) for v in rm.flops.matmul_shape(cfg.learner, mcfg,
                                                                     cfg.batch))
                m["matmul_shape_source"] = "rtrl_moe.flops.matmul_shape"
                m.update(matmul_flops_per_s(shape, dtype, dev))
                if m["sensitivity_flops_per_s"] and m["matmul_flops_per_s"]:
                    m["matmul_fraction"] = m["sensitivity_flops_per_s"] / m["matmul_flops_per_s"]
    m.update(floor_metrics(m))
    return m


PHASES = ("jacobian", "update", "readout", "other")


def phase_metrics(learner) -> dict:
    """Where the last timed step's time went, per token: the learner's own phase clock
    (``learner.phase_ns``: one ``perf_counter_ns`` read per phase boundary, no sync on the CPU;
    on CUDA the learner records phases only while profiling, so they are absent here)."""
    ph = getattr(learner, "phase_ns", None)
    if not isinstance(ph, dict) or not ph.get("steps"):
        return {}
    steps = ph["steps"]
    return {"phase_ns_per_step": {k: ph.get(k, 0) / steps for k in PHASES},
            "phase_steps": steps}


def floor_metrics(m: dict) -> dict:
    """Exact RTRL cannot beat its update's FLOPs: the floor is those FLOPs at this process's
    rate for one plain matmul of the update's shape; ``floor_fraction`` = floor / step time
    per token (1.0 = a step that does nothing but the update, at the matmul rate)."""
    flops, rate, step = (m.get("sensitivity_flops_per_step"), m.get("matmul_flops_per_s"),
                         m.get("time_per_token_ns"))
    if not (flops and rate and step):
        return {"floor_ns_per_step": None, "floor_fraction": None}
    floor = flops / rate * 1e9
    return {"floor_ns_per_step": floor, "floor_fraction": floor / step}

