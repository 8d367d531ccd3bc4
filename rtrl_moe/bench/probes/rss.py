"""Resident memory of the worker process (see ../shared/conventions.md, ``rss_peak``).

:class:`RssMonitor` -- peak resident set size minus a baseline.  On Linux the kernel's
high-water mark (``VmHWM``) is reset by writing ``5`` to ``/proc/self/clear_refs`` at the
baseline and read at the end (exact); elsewhere a sampling thread (psutil) is used.
:func:`address_space_bytes` is what the CPU memory budget is added to.
"""
from __future__ import annotations

import threading
from typing import Optional

#: behaviour version of what this probe counts (rtrl_moe/records/versions.py)
VERSIONS = {"probe.rss": 1}


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
