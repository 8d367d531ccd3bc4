"""How busy the machine was while a point was timed, so a reader can tell a slow machine from
a slow learner: the 1-minute load average (runnable processes, this point's own included) and
the share of CPU time the hypervisor stole from this VM (``/proc/stat``, Linux)."""
from __future__ import annotations

import os
from typing import Optional


def _cpu_times() -> Optional[list[int]]:
    try:
        with open("/proc/stat") as f:
            first = f.readline().split()
    except OSError:
        return None
    if not first or first[0] != "cpu":
        return None
    return [int(v) for v in first[1:]]


class LoadMonitor:
    """``load_avg_1m`` at the start and end of a timed section, and ``cpu_steal_fraction``
    (steal / all CPU time over the section; None where the OS does not report it)."""

    def start(self) -> "LoadMonitor":
        self._load0 = _load()
        self._cpu0 = _cpu_times()
        return self

    def stop(self) -> dict:
        cpu1 = _cpu_times()
        steal = None
        if self._cpu0 and cpu1 and len(cpu1) > 7:
            total = sum(cpu1) - sum(self._cpu0)
            steal = (cpu1[7] - self._cpu0[7]) / total if total > 0 else 0.0
        end = _load()
        return {"load_avg_1m": None if self._load0 is None or end is None
                else max(self._load0, end),
                "cpu_steal_fraction": steal, "cpu_count": os.cpu_count()}


def _load() -> Optional[float]:
    try:
        return float(os.getloadavg()[0])
    except (OSError, AttributeError):
        return None
