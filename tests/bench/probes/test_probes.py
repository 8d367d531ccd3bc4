"""Memory probes: saved-tensor accounting by hand, RSS in a subprocess, CUDA/NVML with fakes."""
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from rtrl_moe.bench.probes.gpu import CudaMonitor, NvmlSampler, apply_cuda_budget
from rtrl_moe.bench.probes.tensors import (
    LiveTensorTracker,
    SavedTensorTracker,
    hooks_refused,
    unique_bytes,
)

ROOT = Path(__file__).resolve().parents[3]


# -- saved tensors -------------------------------------------------------------------------------
def test_saved_bytes_of_a_product_by_hand():
    x = torch.randn(1000, requires_grad=True)   # 4000 bytes
    w = torch.randn(1000, requires_grad=True)   # 4000 bytes
    with SavedTensorTracker() as tr:
        y = (x * w).sum()                       # mul saves x and w; sum saves no tensor
        assert tr.current == 8000
        y.backward()
        assert tr.current == 0                  # released once backward freed the graph
    assert tr.peak == 8000
    assert tr.n_packed == 2


def test_storage_saved_twice_is_counted_once():
    x = torch.randn(1000, requires_grad=True)
    with SavedTensorTracker() as tr:
        y = (x * x).sum()                       # x saved as self and as other
    assert tr.n_packed == 2
    assert tr.peak == 4000
    del y
    assert tr.current == 0


def test_a_view_counts_its_whole_storage():
    base = torch.randn(1000)                    # 4000-byte storage
    w = torch.randn(500, requires_grad=True)
    with SavedTensorTracker() as tr:
        y = (base[:500] * w).sum()              # only the view is needed for dL/dw
    assert tr.peak == 4000
    del y


def test_peak_of_live_bytes_along_a_chain_and_release_on_gc():
    x = torch.randn(1000, requires_grad=True)
    with SavedTensorTracker() as tr:
        h = x
        for _ in range(3):
            h = torch.tanh(h)                   # each tanh saves its 4000-byte result
        assert tr.current == 12000
        del h                                   # graph dropped without backward
        assert tr.current == 0
    assert tr.peak == 12000


def test_excluded_storages_are_not_counted():
    x = torch.randn(1000, requires_grad=True)
    w = torch.randn(1000, requires_grad=True)
    with SavedTensorTracker(exclude=[w]) as tr:
        (x * w).sum()
    assert tr.peak == 4000


def test_unique_bytes_counts_views_once():
    a = torch.zeros(100, dtype=torch.float64)
    assert unique_bytes([a, a[10:], a.view(10, 10), None]) == 800
    assert unique_bytes([a, torch.zeros(3)]) == 812


def test_torch_func_refuses_hooks_and_live_tracker_counts_instead():
    from torch.func import jacrev
    w = torch.randn(50, 50)
    f = lambda h: torch.tanh(w @ h)  # noqa: E731
    with pytest.raises(RuntimeError) as ei:
        with SavedTensorTracker():
            jacrev(f)(torch.randn(50))
    assert hooks_refused(ei.value)
    with LiveTensorTracker(exclude=[w]) as lt:
        J = jacrev(f)(torch.randn(50))
        assert lt.current >= J.numel() * 4     # the Jacobian itself is alive
    assert lt.peak >= 50 * 50 * 4
    del J
    assert lt.current < 50 * 50 * 4


# -- RSS ---------------------------------------------------------------------------------------
RSS_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import torch
    from rtrl_moe.bench.probes.rss import RssMonitor
    mb = int(sys.argv[1]); force = sys.argv[2] == "1"
    mon = RssMonitor(interval_s=0.002, force_sampler=force).start()
    buf = torch.ones(mb * 2**20 // 4)      # touched: resident
    time.sleep(0.1)
    del buf
    print(json.dumps(mon.stop()))
""")


@pytest.mark.parametrize("force_sampler", [False, True])
def test_rss_probe_sees_a_known_buffer(force_sampler):
    mb = 160
    r = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(mb), "1" if force_sampler else "0"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    import json
    out = json.loads(r.stdout)
    assert out["rss_source"] == ("sampler" if force_sampler else "VmHWM")
    assert 0.9 * mb * 2**20 <= out["rss_peak"] <= 1.25 * mb * 2**20, out
    assert out["rss_baseline"] > 0


# -- CUDA (fake torch.cuda) ----------------------------------------------------------------------
class FakeCuda:
    def __init__(self):
        self.alloc, self.reserved, self.peak_a, self.peak_r = 1000, 2000, 5000, 6000
        self.calls = []

    def synchronize(self, dev=None):
        self.calls.append("sync")

    def reset_peak_memory_stats(self, dev=None):
        self.calls.append("reset")
        self.peak_a, self.peak_r = self.alloc, self.reserved

    def memory_allocated(self, dev=None):
        return self.alloc

    def memory_reserved(self, dev=None):
        return self.reserved

    def max_memory_allocated(self, dev=None):
        return self.peak_a

    def max_memory_reserved(self, dev=None):
        return self.peak_r

    def work(self, nbytes):
        self.peak_a = max(self.peak_a, self.alloc + nbytes)
        self.peak_r = max(self.peak_r, self.reserved + 2 * nbytes)

    def current_device(self):
        return 0

    def get_device_properties(self, idx):
        return SimpleNamespace(total_memory=80 * 2**30)

    def set_per_process_memory_fraction(self, frac, idx):
        self.fraction = (frac, idx)


def test_cuda_monitor_subtracts_baseline_after_reset():
    c = FakeCuda()
    mon = CudaMonitor(device="cuda:0", cuda=c).start()
    assert c.calls[:2] == ["sync", "reset"]       # stale peaks from before are dropped
    c.work(300)
    out = mon.stop()
    assert out["cuda_allocated_peak"] == 300
    assert out["cuda_reserved_peak"] == 600
    assert out["cuda_allocated_baseline"] == 1000


def test_cuda_budget_sets_fraction_of_total():
    c = FakeCuda()
    frac = apply_cuda_budget(1024, device=0, cuda=c)
    assert frac == pytest.approx(1 / 80)
    assert c.fraction == (pytest.approx(1 / 80), 0)


# -- NVML (fake pynvml) --------------------------------------------------------------------------
class FakeNvml:
    """Scripted NVML: device used memory and per-process entries move along a schedule."""

    class NVMLError(Exception):
        pass

    def __init__(self, pid, visible=True, used_none=False):
        self.pid, self.visible, self.used_none = pid, visible, used_none
        self.device_used = 500 * 2**20        # other tenants' memory
        self.proc_used = 0
        self.inited = self.shut = 0
        self.reads = 0
        self.lock = threading.Lock()

    def nvmlInit(self):
        self.inited += 1

    def nvmlShutdown(self):
        self.shut += 1

    def nvmlDeviceGetHandleByIndex(self, i):
        return ("handle", i)

    def nvmlDeviceGetHandleByUUID(self, u):
        raise self.NVMLError("not found")

    def nvmlDeviceGetComputeRunningProcesses(self, h):
        with self.lock:
            self.reads += 1
            other = SimpleNamespace(pid=self.pid + 12345, usedGpuMemory=7 * 2**20)
            if not self.visible:
                return [other]
            used = None if self.used_none else self.proc_used
            return [other, SimpleNamespace(pid=self.pid, usedGpuMemory=used)]

    def nvmlDeviceGetMemoryInfo(self, h):
        with self.lock:
            self.reads += 1
            return SimpleNamespace(used=self.device_used, total=80 * 2**30, free=0)

    # the "process" allocating: device and per-process usage move together
    def allocate(self, nbytes):
        with self.lock:
            self.proc_used += nbytes
            self.device_used += nbytes


def _run_sampler(fake):
    s = NvmlSampler(index=0, uuid="GPU-x", pid=fake.pid, interval_s=0.001, nvml=fake).open()
    s.mark_pre_context()
    fake.allocate(300 * 2**20)          # CUDA context
    s.set_baseline()
    s.start()
    fake.allocate(200 * 2**20)          # transient peak of the work
    time.sleep(0.05)
    fake.allocate(-150 * 2**20)         # freed before the end
    time.sleep(0.02)
    out = s.stop()
    s.close()
    assert fake.inited == 1 and fake.shut == 1
    assert out["nvml_samples"] >= 5
    return out


def test_nvml_sampler_per_process():
    out = _run_sampler(FakeNvml(pid=4242))
    assert out["nvml_source"] == "process"
    assert out["nvml_context_bytes"] == 300 * 2**20
    assert out["nvml_used_peak"] == 200 * 2**20


@pytest.mark.parametrize("why", ["pid_hidden", "used_none"])
def test_nvml_sampler_falls_back_to_device_level(why):
    fake = FakeNvml(pid=4242, visible=why != "pid_hidden", used_none=why == "used_none")
    out = _run_sampler(fake)
    assert out["nvml_source"] == "device"
    assert out["nvml_context_bytes"] == 300 * 2**20   # device used after - before context
    assert out["nvml_used_peak"] == 200 * 2**20
    assert out["nvml_baseline"] == 800 * 2**20        # includes the other tenants


def test_gpu_info_from_fake_nvml():
    from rtrl_moe.records.machine import _gpu_info

    class N(FakeNvml):
        def nvmlDeviceGetCount(self):
            return 1

        def nvmlDeviceGetName(self, h):
            return b"NVIDIA H100 80GB HBM3"

        def nvmlSystemGetDriverVersion(self):
            return "550.54.15"

        def nvmlSystemGetCudaDriverVersion(self):
            return 12040

    info = _gpu_info(N(pid=1))
    assert info == {"gpu": "NVIDIA H100 80GB HBM3", "gpu_driver": "550.54.15", "cuda": "12.4",
                    "gpu_count": 1}

    class Broken:
        def nvmlInit(self):
            raise RuntimeError("NVML Shared Library Not Found")

    assert _gpu_info(Broken())["gpu"] is None
