"""Run a point in a fresh subprocess: budget, timeout, crash and OOM detection.

Both sides live here. The parent, :func:`run_point_isolated`, starts
``python -m rtrl_moe.bench.worker --spec SPEC --result OUT --parent-pid PID``
in its own session (process group), passes the :class:`PointConfig` as a JSON file, and reads
the worker's result from another JSON file (never from stdout).  Outcomes:

* the worker wrote a result -> its status (``ok``, ``oom`` (caught allocation failure),
  ``error``, ``skipped``);
* no result and the worker exceeded ``timeout_s`` -> the whole process group is killed
  (SIGTERM, then SIGKILL) and the status is ``timeout``;
* no result and a nonzero exit or a signal -> ``oom`` when the output names an allocation
  failure (e.g. ``std::bad_alloc`` abort under an address-space budget), else ``error`` with
  the exit code / signal name and the tail of the worker's output.

The worker's stdout and stderr go to a temporary log; its tail is kept in the record
(``worker_log_tail``) for any status but ``ok``. No worker outlives its sweep: Ctrl-C or
SIGTERM of the parent stops the worker's group before the parent exits, and a worker whose
parent died (kill -9) gets SIGTERM from the kernel, removes the temp folder and exits.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

from ..records.machine import REPO_ROOT
from .budget import log_says_oom
from .config import PointConfig

DEFAULT_TIMEOUT_S = 600.0


def _signal_name(rc: int) -> str:
    try:
        return signal.Signals(-rc).name
    except (ValueError, TypeError):
        return f"signal {-rc}"


def _tail(path: Path, n: int = 3000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-n:].decode("utf-8", "replace")


def _kill_group(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    try:
        pgid = os.getpgid(proc.pid)
    except OSError:
        pgid = None
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            if pgid is not None:
                os.killpg(pgid, sig)
            else:
                proc.send_signal(sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=grace_s)
            return
        except subprocess.TimeoutExpired:
            continue


def worker_env(extra: Optional[dict] = None) -> dict:
    env = dict(os.environ)
    root = str(REPO_ROOT)
    pp = env.get("PYTHONPATH", "")
    if root not in pp.split(os.pathsep):
        env["PYTHONPATH"] = root + (os.pathsep + pp if pp else "")
    env.setdefault("PYTHONUNBUFFERED", "1")
    if extra:
        env.update(extra)
    return env


def execute_isolated(cfg: PointConfig, timeout_s: Optional[float] = DEFAULT_TIMEOUT_S,
                     env: Optional[dict] = None) -> dict:
    """Run ``cfg`` in a fresh subprocess; the :func:`point.execute`-style result dict."""
    # the worker may remove this folder itself when its parent dies (see _watch_parent)
    with tempfile.TemporaryDirectory(prefix="rtrl_moe_point_", ignore_cleanup_errors=True) as tmp:
        tmp = Path(tmp)
        spec, result, log = tmp / "spec.json", tmp / "result.json", tmp / "worker.log"
        spec.write_text(json.dumps(cfg.to_dict()))
        cmd = [sys.executable, "-m", "rtrl_moe.bench.worker", "--spec", str(spec),
               "--result", str(result), "--parent-pid", str(os.getpid())]
        t0 = time.perf_counter()
        with open(log, "wb") as logf:
            # own session: a terminal's Ctrl-C reaches the sweep, which then stops the worker
            # itself (below), instead of every process at once
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                    env=worker_env(env), cwd=str(REPO_ROOT),
                                    start_new_session=True)
            timed_out = False
            try:
                rc = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc)
                rc = proc.returncode
            except BaseException:  # Ctrl-C or SIGTERM of the sweep: no orphan, then go on up
                _kill_group(proc, grace_s=2.0)
                raise
        wall = time.perf_counter() - t0
        out: Optional[dict] = None
        if result.exists():
            try:
                out = json.loads(result.read_text())
            except (OSError, ValueError):
                out = None
        tail = _tail(log)
        if out is None:
            out = {"status": "error", "message": None, "config": None, "metrics": {}}
            if timed_out:
                out.update(status="timeout", message=f"exceeded the point's timeout of "
                                                     f"{timeout_s:g} s (process group killed)")
            elif rc is not None and rc < 0:
                name = _signal_name(rc)
                if log_says_oom(tail):
                    out.update(status="oom", message=f"worker killed by {name} after an "
                               f"allocation failure (budget {cfg.budget_mb} MB)")
                else:
                    out.update(message=f"worker crashed: killed by {name} (exit {rc})")
            else:
                if log_says_oom(tail) and rc:
                    out.update(status="oom", message=f"worker exited {rc} after an allocation "
                                                     f"failure (budget {cfg.budget_mb} MB)")
                else:
                    out.update(message=f"worker exited with code {rc} without a result")
        out["wall_s"] = wall
        out["returncode"] = rc
        if out["status"] != "ok":
            out["worker_log_tail"] = tail
        return out


def run_point_isolated(cfg: PointConfig, timeout_s: Optional[float] = DEFAULT_TIMEOUT_S, *,
                       run_id: Optional[str] = None, env: Optional[dict] = None,
                       **extra) -> dict:
    """Run ``cfg`` in a fresh subprocess and return a full results record (never raises for
    the point's own failure: crash, OOM and timeout are statuses)."""
    from ..records import make_record
    from .spec import code_of, static_config
    r = execute_isolated(cfg, timeout_s=timeout_s, env=env)
    config = r.get("config") or static_config(cfg)
    rec_extra = {"point_key": cfg.key(), "wall_s": r.get("wall_s"), "timeout_s": timeout_s,
                 "isolated": True, "returncode": r.get("returncode"), "code": code_of(cfg)}
    for k in ("traceback", "worker_log_tail"):
        if r.get(k):
            rec_extra[k] = r[k]
    rec_extra.update(extra)
    return make_record(config=config, status=r["status"], metrics=r.get("metrics") or {},
                       message=r.get("message"), run_id=run_id, **rec_extra)


PR_SET_PDEATHSIG = 1


def _watch_parent(parent_pid: int, tmp: Path) -> None:
    """Tie this worker's life to its parent's: when the parent dies (even by kill -9), the
    kernel sends SIGTERM (Linux prctl PR_SET_PDEATHSIG); the handler removes the point's temp
    folder, which nobody else will, and exits. A polling thread covers systems without prctl
    and the race where the parent died before prctl ran."""
    import shutil
    import threading

    def orphaned() -> bool:
        return os.getppid() != parent_pid

    def leave(*_):
        if orphaned():
            shutil.rmtree(tmp, ignore_errors=True)
        os._exit(143)

    signal.signal(signal.SIGTERM, leave)
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass

    def poll():
        while not orphaned():
            time.sleep(1.0)
        leave()
    threading.Thread(target=poll, name="parent-watch", daemon=True).start()


def worker_main(spec: str, result: str, parent_pid: Optional[int] = None) -> int:
    """The child: run the spec, write the result file (atomically, never to stdout)."""
    if parent_pid is not None:
        _watch_parent(parent_pid, Path(spec).parent)
    cfg = PointConfig.from_dict(json.loads(Path(spec).read_text()))
    from ..records import sanitize
    from .point import execute
    out = execute(cfg)
    tmp = Path(result + ".tmp")
    tmp.write_text(json.dumps(sanitize(out)))
    os.replace(tmp, result)
    return 0


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(prog="python -m rtrl_moe.bench.worker",
                                 description="internal: run one point spec (the sweep starts it)")
    ap.add_argument("--spec", required=True, help="JSON file of a PointConfig")
    ap.add_argument("--result", required=True, help="where the result JSON is written")
    ap.add_argument("--parent-pid", type=int, default=None,
                    help="exit (and clean up) when this process is no longer the parent")
    a = ap.parse_args()
    sys.exit(worker_main(a.spec, a.result, a.parent_pid))
