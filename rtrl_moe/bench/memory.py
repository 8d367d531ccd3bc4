"""Memory probes (bytes; each a separate field, never mixed -- see conventions).

* :class:`SavedTensorTracker` -- autograd's saved tensors through
  ``torch.autograd.graph.saved_tensors_hooks``.  A storage is counted once when first packed
  and released when the last packed handle that refers to it is garbage-collected (autograd
  frees a node's saved variables after it ran backward, or when the graph is dropped), so
  ``peak`` is the peak of *live* saved bytes.  Storages listed in ``exclude`` (parameters,
  counted under ``tensor_bytes_params``) are not counted.
* :func:`unique_bytes` -- bytes of a collection of tensors, each storage once.
* :class:`RssMonitor` -- peak resident set size minus a baseline.  On Linux the kernel's
  high-water mark (``VmHWM``) is reset by writing ``5`` to ``/proc/self/clear_refs`` at the
  baseline and read at the end (exact); elsewhere a sampling thread (psutil) is used.
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
from typing import Any, Callable, Iterable, Optional


# -- tensor accounting -------------------------------------------------------------------------
def storage_key(t) -> tuple[tuple, int]:
    """``(key, nbytes)`` identifying ``t``'s storage; views of one storage share a key."""
    try:
        st = t.untyped_storage()
        ptr = st.data_ptr()
        nbytes = int(st.nbytes())
        if ptr == 0:
            return ("empty", id(st)), 0
        return (t.device.type, t.device.index, ptr), nbytes
    except Exception:  # sparse / nested / wrapper tensors without a plain storage
        return ("obj", id(t)), int(t.numel() * t.element_size())


def unique_bytes(tensors: Iterable[Any]) -> int:
    seen: dict = {}
    for t in tensors:
        if t is None:
            continue
        k, n = storage_key(t)
        seen[k] = n
    return int(sum(seen.values()))


def optimizer_state_tensors(opt) -> list:
    import torch
    out = []
    for st in opt.state.values():
        for v in st.values():
            if isinstance(v, torch.Tensor):
                out.append(v)
    return out


class _Packed:
    __slots__ = ("tensor", "key", "tracker", "__weakref__")

    def __init__(self, tensor, key, tracker):
        self.tensor = tensor
        self.key = key
        self.tracker = tracker

    def __del__(self):
        tr = self.tracker
        if tr is not None:
            try:
                tr._release(self.key)
            except Exception:
                pass


class _StorageCounts:
    """Live bytes per storage, each storage counted once however many tensors share it, and
    the peak of their sum. Both trackers below count this way; they differ in what they see."""

    def __init__(self, exclude: Iterable[Any] = ()):
        self.exclude = {storage_key(t)[0] for t in exclude}
        self._live: dict = {}  # key -> [holders, nbytes]
        self._lock = threading.Lock()
        self.current = 0
        self.peak = 0

    def _hold(self, key, nbytes) -> None:
        """One more holder of a storage (call with the lock held)."""
        ent = self._live.get(key)
        if ent is None:
            ent = self._live[key] = [0, nbytes]
            self.current += nbytes
            if self.current > self.peak:
                self.peak = self.current
        ent[0] += 1

    def _release(self, key) -> None:
        with self._lock:
            ent = self._live.get(key)
            if ent is None:
                return
            ent[0] -= 1
            if ent[0] == 0:
                self.current -= ent[1]
                del self._live[key]


class SavedTensorTracker(_StorageCounts):
    """Count autograd saved tensors (each storage once) while active; track the live peak.

    Use as a context manager around forward and backward::

        with SavedTensorTracker(exclude=params) as tr:
            loss = model(x).sum(); loss.backward()
        tr.peak   # bytes
    """

    def __init__(self, exclude: Iterable[Any] = ()):
        super().__init__(exclude)
        self.n_packed = 0
        self.n_excluded = 0
        self._ctx = None

    def _pack(self, t):
        key, nbytes = storage_key(t)
        if key in self.exclude:
            self.n_excluded += 1
            return t
        with self._lock:
            self.n_packed += 1
            self._hold(key, nbytes)
        # a detached alias (same storage and version counter, no grad_fn): keeping the tensor
        # itself would make a reference cycle for saved outputs (tensor -> grad_fn -> saved
        # handle -> tensor) and keep the graph alive until the cyclic GC runs
        return _Packed(t.detach(), key, self)

    @staticmethod
    def _unpack(h):
        return h.tensor if isinstance(h, _Packed) else h

    @property
    def live_storages(self) -> int:
        return len(self._live)

    def __enter__(self):
        import torch
        self._ctx = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        ctx, self._ctx = self._ctx, None
        return ctx.__exit__(*exc)


# -- resident set size -------------------------------------------------------------------------
def _proc_status() -> dict:
    out = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "VmSize", "VmPeak"):
                    out[k] = int(v.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return out


def current_rss() -> int:
    st = _proc_status()
    if "VmRSS" in st:
        return st["VmRSS"]
    import psutil
    return int(psutil.Process().memory_info().rss)


def address_space_bytes() -> Optional[int]:
    st = _proc_status()
    if "VmSize" in st:
        return st["VmSize"]
    try:
        import psutil
        return int(psutil.Process().memory_info().vms)
    except Exception:
        return None


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    st = _proc_status()
    # after a reset the high-water mark equals the current RSS (give a page or two of slack)
    return "VmHWM" in st and st["VmHWM"] <= st.get("VmRSS", 0) + 64 * 1024


class RssMonitor:
    """Peak RSS of this process between :meth:`start` and :meth:`stop`, minus the baseline."""

    def __init__(self, interval_s: float = 0.005, force_sampler: bool = False):
        self.interval_s = interval_s
        self.force_sampler = force_sampler
        self.baseline: Optional[int] = None
        self.source: Optional[str] = None
        self._max = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> "RssMonitor":
        self.baseline = current_rss()
        self._max = self.baseline
        if not self.force_sampler and _reset_hwm():
            self.source = "VmHWM"
        else:
            self.source = "sampler"
            self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def sample(self) -> None:
        try:
            v = current_rss()
        except Exception:
            return
        if v > self._max:
            self._max = v

    def peak_bytes(self) -> int:
        """Peak so far (absolute)."""
        if self.source == "VmHWM":
            return max(self._max, _proc_status().get("VmHWM", 0))
        self.sample()
        return self._max

    def stop(self) -> dict:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        peak = self.peak_bytes()
        return {"rss_peak": max(0, peak - (self.baseline or 0)), "rss_baseline": self.baseline,
                "rss_source": self.source}


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


# -- fallback: live tensors through a dispatch mode ---------------------------------------------
TORCH_FUNC_HOOKS_MSG = "don't yet support saved tensor hooks"


def hooks_refused(exc: BaseException) -> bool:
    """True when ``exc`` is torch.func refusing to run under saved-tensor hooks."""
    return isinstance(exc, RuntimeError) and TORCH_FUNC_HOOKS_MSG in str(exc)


class LiveTensorTracker(_StorageCounts):
    """Peak bytes of live tensor storages created while active (each storage once).

    Used where autograd's saved-tensor hooks cannot be (torch.func transforms refuse to run
    under them).  Every op's outputs are seen through a ``TorchDispatchMode`` (below torch.func's
    batching, so physical tensors); a storage is counted when first produced and released when
    the last tensor object seen on it is freed.  ``current`` at the end is what the work left
    alive (gradients, learner state, optimizer state); ``peak - current`` is the transient peak.
    """

    def __init__(self, exclude: Iterable[Any] = ()):
        super().__init__(exclude)
        self.n_seen = 0
        self._mode = None
        self._refs: dict = {}
        self._next = 0
        import weakref
        self._weakref = weakref.ref

    def _see(self, t) -> None:
        key, nbytes = storage_key(t)
        if nbytes == 0 or key in self.exclude:
            return
        with self._lock:
            self._hold(key, nbytes)
            self.n_seen += 1
            # a weakref whose callback releases the storage when the tensor object dies; the
            # refs are kept in a dict (a weakref must outlive its referent to fire)
            token = self._next
            self._next += 1
            self._refs[token] = self._weakref(t, self._callback(token, key))

    def _callback(self, token, key):
        def cb(_ref, token=token, key=key, tracker=self):
            tracker._refs.pop(token, None)
            tracker._release(key)
        return cb

    def __enter__(self):
        import torch
        from torch.utils._python_dispatch import TorchDispatchMode
        from torch.utils._pytree import tree_flatten

        see = self._see
        Tensor = torch.Tensor

        class _Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                try:
                    if isinstance(out, Tensor):
                        see(out)
                    else:
                        for t in (out if isinstance(out, (tuple, list)) else tree_flatten(out)[0]):
                            if isinstance(t, Tensor):
                                see(t)
                except Exception:
                    pass
                return out

        self._mode = _Mode()
        self._mode.__enter__()
        return self

    def __exit__(self, *exc):
        mode, self._mode = self._mode, None
        return mode.__exit__(*exc)
