"""The ``ray`` executor of a sweep: points as Ray tasks on a cluster, records written here.

``python -m rtrl_moe.bench sweep ... --executor ray [--address HOST:6379] [--max-parallel N]``
(:func:`ray_sweep`, called by :func:`rtrl_moe.bench.sweep.run_sweep`):

* **Same point code.** A Ray task runs :func:`rtrl_moe.bench.worker.run_point_isolated` on
  its node: each point still gets a fresh worker subprocess, so a crash, an OOM or a timeout
  kills only that point and is recorded with its status, exactly as with ``--executor local``.
* **One writer.** Tasks return their records to this process (the driver), which appends them
  to the JSONL store as tasks finish, in completion order, under the sweep's lock. A record's
  ``machine`` describes the node that ran it (``machine_info()`` computed on that node), plus
  ``machine["node"]`` (the Ray node id) and ``machine["node_ip"]``.
* **Resources.** A task asks for ``num_cpus`` = its points' ``threads`` (1 where a point names
  none) and ``num_gpus=1`` for a CUDA point, so Ray packs points onto nodes; ``--max-parallel``
  caps the tasks in flight. Ray shows a task only its own GPU, as ``cuda:0``: name CUDA
  points ``cuda``, not ``cuda:N``. On a cluster with no GPU at all a CUDA point gets no GPU
  request and is stored as ``skipped`` by its worker, as a local sweep does.
* **Speed pairs stay on one node.** The conventions compare speeds only as ratios measured in
  the same run *and on the same machine*. Under ``--pair-by label-seed`` (the default), timed
  points (kind ``measure`` with ``repeats > 0``) that share a label, a seed and a device kind
  (cpu / cuda) are one *pair group*: they run in ONE task, one after another in list order, so
  every learner of a pair is timed on the same node, back to back, as in a local sweep.
  ``--pair-by label`` makes a whole label one task, every seed too: nodes of identical
  hardware share a ``machine_id``, and a ratio taken as a median over seeds may then combine
  seeds timed on different such nodes under ``label-seed``; ``label`` rules that out, at the
  cost of parallelism. ``--pair-by point`` gives every point its own task
  (memory, agreement or training sweeps, whose figures do not depend on the node). Untimed
  points (agree, train, memory-only) always run one per task. A group's records come back
  together when the group ends.
* **Resume.** A point is skipped under the same rule as locally (``sweep._reusable``), for the
  machine id of any node of the cluster (a point can run on any of them).
* **Lost tasks are retried once.** A task lost to its node or Ray worker dying (not to its
  point: a point's own crash, OOM or timeout is a status, never a task failure) is re-run once
  by Ray, whole, on any node; a second loss stores each of its points as ``error`` with the
  reason (``Ray task lost (NodeDiedError) ...``), whose machine is the driver's with
  ``node: null``. ``--retry-failed`` re-runs those later, as any error.
* **Stopping.** Ctrl-C or SIGTERM of the driver cancels every task in flight (as Ctrl-C in
  the task, which stops its point worker as a local sweep does; a task still running 10 s
  later has its Ray worker killed, and the point worker gets SIGTERM from the kernel through
  PR_SET_PDEATHSIG) and shuts a local instance down; finished points are stored, in-flight
  ones are lost and run again on resume. A driver killed with SIGKILL takes a local instance
  with it (Ray ties its processes to the driver's life), and its point workers with them; a
  point's temp folder (its spec file) may then be left behind, since Ray's SIGKILL of the
  workers leaves no time to remove it.
* **Same code on every node.** A task first compares the node's git commit with the driver's;
  on a mismatch its points are stored as ``error`` ("node ... runs commit ...") instead of
  measuring other code under this commit's name.
"""
from __future__ import annotations

import logging
import os
import time
from typing import IO, Optional

from ..records import append_record, make_record
from ..records import machine as _machine
from . import sweep_plan as plan
from .config import PointConfig
from .sweep_plan import SweepError
from .worker import DEFAULT_TIMEOUT_S, run_point_isolated

#: how to get Ray (the ``ray`` extra of pyproject.toml)
INSTALL_HINT = "pip install -e '.[ray]'"
#: ``--pair-by``: which timed points share one task (see the module docstring)
PAIR_BY = ("label-seed", "label", "point")
#: Ray re-runs a task lost to a dead node or worker this many times before its points are
#: stored as errors (a point's own failure is a status and is never retried)
TASK_RETRIES = 1


class RayUnavailable(SweepError):
    """``--executor ray`` without Ray installed."""


def import_ray():
    """The ``ray`` module, or :class:`RayUnavailable` saying how to install it."""
    try:
        import ray
    except ImportError as e:
        raise RayUnavailable(f"--executor ray needs the ray package, which cannot be imported "
                             f"({e}); install it with: {INSTALL_HINT}") from None
    return ray


# -- on the node ------------------------------------------------------------------------------
def _node_machine() -> dict:
    """This node's machine description (the record's ``machine``), with its Ray node id."""
    import ray
    return {**_machine.machine_info(), "node": ray.get_runtime_context().get_node_id(),
            "node_ip": ray.util.get_node_ip_address()}


def _probe() -> dict:
    return _node_machine()


def _run_group(points: list, timeouts: list, run_id: str, env: Optional[dict], git: dict,
               code_commit: str) -> list:
    """A Ray task: the points of one group, one after another on this node, each in its own
    worker subprocess. Returns their records (never raises for a point's own failure)."""
    from .spec import static_config
    node = _node_machine()
    here = _machine.git_info()["commit"]
    recs = []
    for cfg, tmo in zip(points, timeouts):
        if here != code_commit:
            # measuring other code under this commit's name would be a silent lie
            recs.append(make_record(
                config=static_config(cfg), status="error", run_id=run_id, machine=node, git=git,
                message=f"node {node['hostname']} ({node['node_ip']}) runs commit {here[:12]}, "
                        f"the sweep's is {code_commit[:12]}: install the same commit on every "
                        "node", point_key=cfg.key(), timeout_s=tmo, isolated=True))
            continue
        recs.append(run_point_isolated(cfg, timeout_s=tmo, run_id=run_id, env=env, git=git,
                                       machine=node))
    return recs


# -- on the driver ----------------------------------------------------------------------------
def pair_groups(todo: list, pair_by: str = "label-seed") -> list:
    """``[(i, cfg), ...]`` -> groups (lists of the same pairs) that each run as one task, in the
    order of their first point; see the module docstring for the rule."""
    if pair_by not in PAIR_BY:
        raise SweepError(f"unknown pair rule {pair_by!r}; expected one of {', '.join(PAIR_BY)}")
    groups: dict = {}
    order: list = []
    for i, cfg in todo:
        timed = cfg.kind == "measure" and cfg.repeats > 0
        if pair_by == "point" or not timed:
            order.append([(i, cfg)])
            continue
        dev = "cuda" if cfg.device.startswith("cuda") else "cpu"
        key = (cfg.label, dev) if pair_by == "label" else (cfg.label, cfg.seed, dev)
        if key not in groups:
            groups[key] = []
            order.append(groups[key])
        groups[key].append((i, cfg))
    return order


def _connect(ray, address: Optional[str]) -> bool:
    """Connect to the cluster at ``address``, or start a local instance with this machine's
    cores; an already connected process (tests) is used as it is. True when this call started
    the connection (so the sweep shuts it down)."""
    if ray.is_initialized():
        return False
    kw = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    try:
        if address:
            ray.init(address=address, **kw)
        else:
            # "local" always starts a new instance (never one found through RAY_ADDRESS)
            ray.init(address="local", num_cpus=os.cpu_count() or 1, **kw)
    except Exception as e:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise SweepError(f"cannot start or reach {where}: {type(e).__name__}: "
                         f"{str(e).strip().splitlines()[0] if str(e).strip() else ''}") from None
    return True


def _nodes(ray) -> dict:
    """``{node_id: machine}`` of every alive node, each computed on its node."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    probe = ray.remote(_probe)
    alive = [n for n in ray.nodes() if n.get("Alive")]
    refs = [probe.options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(
        n["NodeID"], soft=False)).remote() for n in alive]
    try:
        found = ray.get(refs, timeout=120)
    except Exception as e:
        raise SweepError(f"cannot describe the cluster's nodes: {type(e).__name__}: {e}") from None
    return {m["node"]: {**m, "_cpus": n.get("Resources", {}).get("CPU", 0),
                        "_gpus": n.get("Resources", {}).get("GPU", 0)}
            for n, m in zip(alive, found)}


def _lost_record(cfg: PointConfig, err: BaseException, tmo, run_id, git, driver) -> dict:
    from .spec import static_config
    reason = str(err).strip().splitlines()[0][:300] if str(err).strip() else ""
    return make_record(
        config=static_config(cfg), status="error", run_id=run_id, git=git,
        machine={**driver, "node": None, "node_ip": None},
        message=f"Ray task lost ({type(err).__name__}) after {TASK_RETRIES} retry: {reason}",
        point_key=cfg.key(), timeout_s=tmo, isolated=True)


def ray_sweep(points: list, out, *, read_stored, retry_failed: bool, timeout_s: Optional[float],
              progress: IO[str], env: Optional[dict], run_id: str, git: dict, machine: dict,
              address: Optional[str] = None, max_parallel: Optional[int] = None,
              pair_by: str = "label-seed") -> dict:
    """:func:`rtrl_moe.bench.sweep.run_sweep` with Ray tasks (the caller holds the lock).

    ``read_stored(machine_ids)`` gives the stored points to skip under the resume rule."""
    ray = import_ray()
    if pair_by not in PAIR_BY:
        raise SweepError(f"unknown pair rule {pair_by!r}; expected one of {', '.join(PAIR_BY)}")
    if max_parallel is not None and max_parallel < 1:
        raise SweepError(f"max_parallel must be >= 1, got {max_parallel}")
    # the code the nodes must run: this checkout's real commit (git, not what the sweep records)
    code_commit = _machine.git_info()["commit"]
    started = _connect(ray, address)
    pending: dict = {}
    try:
        # after ray.init, which installs its own SIGTERM handler in the driver
        with plan.sigterm_stops():
            nodes = _nodes(ray)
            stored = read_stored(sorted({m["machine_id"] for m in nodes.values()}))
            return _drive(ray, points, out, stored, retry_failed, timeout_s, progress, env,
                          run_id, git, machine, nodes, code_commit, max_parallel, pair_by,
                          pending)
    finally:
        _cancel(ray, list(pending))
        if started:
            ray.shutdown()


def _cancel(ray, refs: list, grace_s: float = 10.0) -> None:
    """Stop the tasks in flight (Ctrl-C, SIGTERM or an error in the driver). First as Ctrl-C
    inside each task, so that ``execute_isolated`` stops its point worker's group and removes
    the point's temp folder; then, for a task still running after ``grace_s``, by killing its
    Ray worker (the point worker then gets SIGTERM from the kernel, PR_SET_PDEATHSIG)."""
    if not refs:
        return
    for ref in refs:
        try:
            ray.cancel(ref, force=False)
        except Exception:
            pass
    try:
        _, left = ray.wait(refs, num_returns=len(refs), timeout=grace_s)
    except Exception:
        left = refs
    for ref in left:
        try:
            ray.cancel(ref, force=True)
        except Exception:
            pass


def _drive(ray, points, out, stored, retry_failed, timeout_s, progress, env, run_id, git,
           machine, nodes, code_commit, max_parallel, pair_by, pending) -> dict:
    summary = {"run_id": run_id, "out": str(out), "ran": 0, "skipped": 0, "statuses": {}}
    n = len(points)
    t_sweep = time.perf_counter()
    bar = plan.Progress(progress, n)
    plan.start_line(bar, run_id, n, out, git, machine)
    cpus = max((m["_cpus"] for m in nodes.values()), default=0)
    has_gpu = any(m["_gpus"] for m in nodes.values())
    bar.line(f"ray: {len(nodes)} node(s): " + ", ".join(
        f"{m['hostname']} ({m['machine_id']}, {m['_cpus']:g} CPU, {m['_gpus']:g} GPU)"
        for m in nodes.values()))
    todo = []
    try:
        for i, cfg, why in plan.plan(points, stored, retry_failed):
            if why is None:
                todo.append((i, cfg))
            else:
                bar.line(f"[{i}/{n}] {why}: {cfg.short()}")
                summary["skipped"] += 1
                bar.advance()
        queue = []
        for group in pair_groups(todo, pair_by):
            need = max(cfg.threads or 1 for _, cfg in group)
            if need > cpus:
                raise SweepError(f"point {group[0][0]} needs {need} CPUs (its threads); the "
                                 f"largest node has {cpus:g}")
            gpu = 1 if has_gpu and any(c.device.startswith("cuda") for _, c in group) else 0
            queue.append((group, need, gpu))
        task = ray.remote(_run_group)
        while queue or pending:
            while queue and (max_parallel is None or len(pending) < max_parallel):
                group, need, gpu = queue.pop(0)
                tmos = [timeout_s if timeout_s is not None else (c.timeout_s or DEFAULT_TIMEOUT_S)
                        for _, c in group]
                ref = task.options(num_cpus=need, num_gpus=gpu, max_retries=TASK_RETRIES,
                                   retry_exceptions=False).remote(
                    [c for _, c in group], tmos, run_id, env, git, code_commit)
                pending[ref] = (group, tmos)
                for (i, c), tmo in zip(group, tmos):
                    bar.line(f"[{i}/{n}] submitted (timeout {tmo:g}s, {need} CPU"
                             f"{', 1 GPU' if gpu else ''}"
                             f"{f', with {len(group) - 1} more' if len(group) > 1 else ''}) "
                             f"{c.label or '-'}: {c.short()}")
            # a short wait, so that SIGTERM's handler runs between waits
            done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in done:
                group, tmos = pending.pop(ref)
                try:
                    recs = ray.get(ref)
                except ray.exceptions.RayError as e:
                    recs = [_lost_record(c, e, tmo, run_id, git, machine)
                            for (_, c), tmo in zip(group, tmos)]
                for (i, cfg), rec in zip(group, recs):
                    append_record(out, rec)
                    plan.count(summary, rec)
                    msg = f" -- {rec['message'][:160]}" if rec.get("message") else ""
                    host = rec["machine"].get("hostname") if rec["machine"].get("node") else "?"
                    bar.line(f"[{i}/{n}] {rec['status']:7s} {rec.get('wall_s') or 0:7.1f}s "
                             f"(total {time.perf_counter() - t_sweep:.0f}s) on {host} "
                             f"{cfg.short()}{msg}")
                    bar.advance()
    finally:
        bar.close()
    plan.done_line(progress, run_id, summary, t_sweep)
    return summary
