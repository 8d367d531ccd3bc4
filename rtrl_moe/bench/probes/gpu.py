"""GPU memory: the CUDA caching allocator and NVML.

* :class:`CudaMonitor` -- ``max_memory_allocated/reserved`` after ``reset_peak_memory_stats``
  minus the baseline.  It takes the ``torch.cuda`` module as a parameter so tests can pass a
  fake one.
* :class:`NvmlSampler` -- the process's GPU memory from NVML (``pynvml``) sampled by a
  background thread every ``interval_s``: per process via ``nvmlDeviceGetComputeRunningProcesses``
  (``source="process"``), falling back to device-level ``nvmlDeviceGetMemoryInfo().used``
  (``source="device"``) when the PID is not visible (containers, MIG).  The source is chosen
  once, at the baseline, and kept for the whole point.  ``pynvml`` is a parameter so tests can
  inject a fake module.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable, Optional


# -- CUDA caching allocator --------------------------------------------------------------------
class CudaMonitor:
    """``cuda_allocated_peak`` / ``cuda_reserved_peak`` relative to the baseline at start."""

    def __init__(self, device: Any = None, cuda: Any = None):
        if cuda is None:
            import torch
            cuda = torch.cuda
        self.cuda = cuda
        self.device = device
        self.base_allocated = 0
        self.base_reserved = 0

    def start(self) -> "CudaMonitor":
        c = self.cuda
        c.synchronize(self.device)
        c.reset_peak_memory_stats(self.device)
        self.base_allocated = int(c.memory_allocated(self.device))
        self.base_reserved = int(c.memory_reserved(self.device))
        return self

    def stop(self) -> dict:
        c = self.cuda
        c.synchronize(self.device)
        return {
            "cuda_allocated_peak": max(0, int(c.max_memory_allocated(self.device))
                                       - self.base_allocated),
            "cuda_reserved_peak": max(0, int(c.max_memory_reserved(self.device))
                                      - self.base_reserved),
            "cuda_allocated_baseline": self.base_allocated,
            "cuda_reserved_baseline": self.base_reserved,
        }


def apply_cuda_budget(budget_mb: float, device: Any = None, cuda: Any = None) -> float:
    """Cap this process's caching allocator at ``budget_mb``; returns the fraction set."""
    if cuda is None:
        import torch
        cuda = torch.cuda
    idx = device.index if hasattr(device, "index") and device.index is not None else (
        device if isinstance(device, int) else cuda.current_device())
    total = cuda.get_device_properties(idx).total_memory
    frac = min(1.0, budget_mb * 2**20 / total)
    cuda.set_per_process_memory_fraction(frac, idx)
    return frac


# -- NVML --------------------------------------------------------------------------------------
class NvmlSampler:
    """Sample this process's GPU memory from NVML in a background thread.

    Protocol (what the worker does)::

        s = NvmlSampler(index=0)          # or uuid="GPU-..." / pci_bus_id="0000:..."
        s.open(); s.mark_pre_context()    # before the CUDA context exists
        ...create the CUDA context...
        s.set_baseline(); s.start()       # source chosen here: "process" or "device"
        ...work...
        s.stop() -> {"nvml_used_peak", "nvml_context_bytes", "nvml_source", ...}
    """

    def __init__(self, index: int = 0, *, uuid: Optional[str] = None,
                 pci_bus_id: Optional[str] = None, pid: Optional[int] = None,
                 interval_s: float = 0.005, nvml: Any = None):
        if nvml is None:
            import pynvml as nvml  # noqa: N813
        self.nvml = nvml
        self.index = index
        self.uuid = uuid
        self.pci_bus_id = pci_bus_id
        self.pid = os.getpid() if pid is None else pid
        self.interval_s = interval_s
        self.handle = None
        self.source: Optional[str] = None
        self.pre_context_device_used: Optional[int] = None
        self.baseline: Optional[int] = None
        self.context_bytes: Optional[int] = None
        self.n_samples = 0
        self.n_failed = 0
        self._max: Optional[int] = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._opened = False

    # handles
    def open(self) -> "NvmlSampler":
        n = self.nvml
        n.nvmlInit()
        self._opened = True
        h = None
        if self.uuid:
            try:
                h = n.nvmlDeviceGetHandleByUUID(self.uuid)
            except Exception:
                h = None
        if h is None and self.pci_bus_id:
            try:
                h = n.nvmlDeviceGetHandleByPciBusId(self.pci_bus_id)
            except Exception:
                h = None
        if h is None:
            h = n.nvmlDeviceGetHandleByIndex(self.index)
        self.handle = h
        return self

    def close(self) -> None:
        if self._opened:
            self._opened = False
            try:
                self.nvml.nvmlShutdown()
            except Exception:
                pass

    # readings
    def read_process(self) -> Optional[int]:
        """This PID's used GPU memory, or None where NVML does not show it."""
        try:
            procs = self.nvml.nvmlDeviceGetComputeRunningProcesses(self.handle)
        except Exception:
            return None
        for p in procs or ():
            if getattr(p, "pid", None) == self.pid:
                used = getattr(p, "usedGpuMemory", None)
                if used is None:
                    return None
                return int(used)
        return None

    def read_device(self) -> int:
        return int(self.nvml.nvmlDeviceGetMemoryInfo(self.handle).used)

    def read(self) -> Optional[int]:
        if self.source == "process":
            return self.read_process()
        return self.read_device()

    # protocol
    def mark_pre_context(self) -> None:
        try:
            self.pre_context_device_used = self.read_device()
        except Exception:
            self.pre_context_device_used = None

    def set_baseline(self) -> int:
        proc = self.read_process()
        if proc is not None:
            self.source = "process"
            self.baseline = proc
            # before the context existed the process held nothing on the GPU
            self.context_bytes = proc
        else:
            self.source = "device"
            self.baseline = self.read_device()
            self.context_bytes = (None if self.pre_context_device_used is None
                                  else max(0, self.baseline - self.pre_context_device_used))
        self._max = self.baseline
        return self.baseline

    def sample(self) -> None:
        try:
            v = self.read()
        except Exception:
            v = None
        if v is None:
            self.n_failed += 1
            return
        self.n_samples += 1
        if self._max is None or v > self._max:
            self._max = v

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)

    def start(self) -> "NvmlSampler":
        if self.baseline is None:
            self.set_baseline()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="nvml-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> dict:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.sample()  # one last reading at the end of the work
        peak = None if self._max is None or self.baseline is None else \
            max(0, self._max - self.baseline)
        return {"nvml_used_peak": peak, "nvml_context_bytes": self.context_bytes,
                "nvml_source": self.source, "nvml_baseline": self.baseline,
                "nvml_samples": self.n_samples, "nvml_interval_s": self.interval_s}


def cuda_device_ids(device_index: int) -> dict:
    """uuid / PCI bus id of a torch CUDA device, to find the same GPU in NVML."""
    import torch
    props = torch.cuda.get_device_properties(device_index)
    out: dict = {"index": device_index}
    uuid = getattr(props, "uuid", None)
    if uuid is not None:
        s = str(uuid)
        out["uuid"] = s if s.startswith(("GPU-", "MIG-")) else f"GPU-{s}"
    try:
        out["pci_bus_id"] = "%08X:%02X:%02X.0" % (props.pci_domain_id, props.pci_bus_id,
                                                  props.pci_device_id)
    except AttributeError:
        pass
    return out


def wait_for(pred: Callable[[], bool], timeout_s: float, step_s: float = 0.01) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step_s)
    return pred()
