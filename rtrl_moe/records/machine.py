"""Machine, commit and run identity for results records.

``machine_info()`` describes the machine (its ``machine_id`` from hardware and software only,
:func:`machine_id`; the hostname is a field, not the identity) (CPU model, cores, RAM, GPU name, driver, CUDA,
torch and Python versions) without creating a CUDA context: the GPU is looked up through
NVML (``pynvml``) and torch's version through package metadata.  ``git_info()`` gives the
commit (``git rev-parse HEAD``) and whether the work tree is dirty; outside a git work tree
(or before the first commit) the commit is ``"unknown"`` and ``dirty`` is ``None``.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import os
import platform
import secrets
import socket
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Optional

REPO_ROOT = Path(__file__).resolve().parents[2]


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id() -> str:
    """``YYYYMMDDTHHMMZ-xxxxxx``: one sweep invocation."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%MZ")
    return f"{stamp}-{secrets.token_hex(3)}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _ram_bytes() -> Optional[int]:
    try:
        import psutil
        return int(psutil.virtual_memory().total)
    except Exception:
        try:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            return None


def _torch_version() -> Optional[str]:
    mod = sys.modules.get("torch")
    if mod is not None:
        return getattr(mod, "__version__", None)
    try:
        from importlib.metadata import version
        return version("torch")
    except Exception:
        return None


def _gpu_info(nvml=None) -> dict:
    """GPU name / driver / CUDA driver version via NVML; all None where there is no GPU."""
    out = {"gpu": None, "gpu_driver": None, "cuda": None, "gpu_count": 0}
    try:
        if nvml is None:
            import pynvml as nvml  # noqa: N813
        nvml.nvmlInit()
    except Exception:
        return out
    try:
        n = nvml.nvmlDeviceGetCount()
        out["gpu_count"] = int(n)
        if n:
            names = []
            for i in range(n):
                name = nvml.nvmlDeviceGetName(nvml.nvmlDeviceGetHandleByIndex(i))
                names.append(name.decode() if isinstance(name, bytes) else str(name))
            out["gpu"] = names[0] if len(set(names)) == 1 else ", ".join(names)
            drv = nvml.nvmlSystemGetDriverVersion()
            out["gpu_driver"] = drv.decode() if isinstance(drv, bytes) else str(drv)
            try:
                v = int(nvml.nvmlSystemGetCudaDriverVersion())
                out["cuda"] = f"{v // 1000}.{(v % 1000) // 10}"
            except Exception:
                pass
    except Exception:
        pass
    finally:
        try:
            nvml.nvmlShutdown()
        except Exception:
            pass
    return out


@lru_cache(maxsize=1)
def machine_info() -> dict:
    """The ``machine`` object of a results record (see docs/RESULTS.md)."""
    gpu = _gpu_info()
    info = {
        "hostname": socket.gethostname(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_bytes": _ram_bytes(),
        "gpu": gpu["gpu"],
        "gpu_count": gpu["gpu_count"],
        "gpu_driver": gpu["gpu_driver"],
        "cuda": gpu["cuda"],
        "torch": _torch_version(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    return {"machine_id": machine_id(info), **info}


#: what makes two machines the same for timing: hardware and the software that runs the code
IDENTITY_FIELDS = ("cpu", "cores", "ram_gib", "gpu", "gpu_count", "torch")


def machine_id(info: dict) -> str:
    """A short hash of the machine's hardware and software, never of its name: two identical
    VMs are one machine. RAM is rounded to whole GiB, since the kernel reserves a slightly
    different amount on each boot of the same VM."""
    ram = info.get("ram_bytes")
    fields = {**info, "ram_gib": None if ram is None else round(ram / 2**30)}
    ident = "|".join(str(fields.get(k)) for k in IDENTITY_FIELDS)
    return hashlib.sha1(ident.encode()).hexdigest()[:12]


def _git(*args: str, cwd: Path) -> Optional[str]:
    try:
        r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


@lru_cache(maxsize=4)
def git_info(cwd: Optional[str] = None) -> dict:
    """``{"commit": 40-hex or "unknown", "dirty": bool or None}`` (read-only git calls)."""
    where = Path(cwd) if cwd else REPO_ROOT
    commit = _git("rev-parse", "--verify", "-q", "HEAD", cwd=where)
    if not commit:
        return {"commit": "unknown", "dirty": None}
    # results/ is data, not code: a sweep appending to a committed results file must not make
    # the next sweep's records "dirty"
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results",
                  cwd=where)
    return {"commit": commit, "dirty": None if status is None else bool(status)}
