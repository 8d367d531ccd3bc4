"""Shared settings of the asv suite: the grid, the small model, thread pinning, point runner.

torch is imported here, at import time, on purpose: asv.conf.json selects the "forkserver"
launch method, which imports the suite once and forks a fresh process per benchmark, so no
benchmark process pays for `import torch` again. Nothing touches CUDA at import time (no
`torch.cuda` call, no device query, no intra-op thread pool started): the fork stays safe, and
all heavy work happens in setup, setup_cache or the benchmark itself. The library is imported
lazily, inside the functions.
"""
from __future__ import annotations

import os

import torch

# The grid. Kept small so a full `asv run` of one commit takes a few minutes on 2 cores.
LEARNERS = ["bptt", "tbptt", "ckpt-bptt", "rtrl", "sparse-rtrl", "tree-rtrl",
            "sparse-rtrl-readonly"]
LENGTHS = [16, 64]
PARAM_NAMES = ["learner", "seq_len"]
PARAMS = [LEARNERS, LENGTHS]

#: model overrides of MoEConfig (d_in/d_out come from the task): H = 4 * 8 = 32 state units
MODEL = {"d_model": 8, "d_ff": 16}
TASK = "anbn"
BATCH = 1
SEED = 0
THREADS = 1
#: a point that takes longer than this in its subprocess is recorded as a timeout
POINT_TIMEOUT_S = 300.0
#: relative errors under this are float64 round-off of an exact learner; reported as this
#: floor so that history plots and `asv continuous` do not flag round-off as a regression
ERROR_FLOOR = 1e-12


def pin_threads() -> None:
    """One intra-op thread everywhere (this process and the point subprocesses it starts)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(THREADS)
    torch.set_num_threads(THREADS)


def point(kind: str, learner: str, seq_len: int, device: str = "cpu", **kw):
    """The PointConfig of one grid point (imports the harness lazily)."""
    from rtrl_moe.bench import PointConfig
    base = dict(kind=kind, learner=learner, seq_len=seq_len, model=dict(MODEL), task=TASK,
                batch=BATCH, seed=SEED, device=device, threads=THREADS,
                label="asv")
    if kind == "measure":
        # memory and deterministic counters only: asv's own time_ benchmarks do the timing
        base.update(repeats=1, warmup=1, matmul=False)
    elif kind == "agree":
        base.update(dtype="float64")
    base.update(kw)
    return PointConfig(**base)


def run_grid(kind: str, device: str = "cpu", learners=None) -> dict:
    """Run every grid point of ``kind`` in its own subprocess; ``{(learner, T): record}``."""
    from rtrl_moe.bench import run_point_isolated
    pin_threads()
    out = {}
    for learner in learners or LEARNERS:
        for seq_len in LENGTHS:
            cfg = point(kind, learner, seq_len, device=device)
            out[(learner, seq_len)] = run_point_isolated(cfg, timeout_s=POINT_TIMEOUT_S)
    return out


def metric(cache: dict, learner: str, seq_len: int, name: str):
    """A metric of a cached record; NotImplementedError (asv: skipped) when the point did
    not run here (status skipped, or a figure that does not exist for it), an error otherwise.
    """
    rec = cache.get((learner, seq_len))
    if rec is None:
        raise NotImplementedError(f"{learner} T={seq_len} not measured")
    status = rec.get("status")
    if status == "skipped":
        raise NotImplementedError(rec.get("message") or "skipped")
    if status != "ok":
        raise RuntimeError(f"{learner} T={seq_len}: {status}: {rec.get('message')}")
    value = (rec.get("metrics") or {}).get(name)
    if value is None:
        raise NotImplementedError(f"{name} not measured for {learner} T={seq_len}")
    return value


def make_step(learner: str, seq_len: int, device: str = "cpu"):
    """Build model, learner, optimizer and task through the public API (docs/API.md) and
    return ``step()``: one training step over the whole sequence, the harness's "measure"
    step (zero_grad, ``learner.gradient(task.stream())``, grads into ``.grad``, Adam step).
    """
    import rtrl_moe as rm
    task = rm.make_task(TASK, seq_len=seq_len, batch_size=BATCH, seed=SEED)
    torch.manual_seed(SEED)
    cfg = rm.MoEConfig(d_in=task.d_in, d_out=task.d_out, **MODEL)
    model = rm.RecurrentMoE(cfg).to(device)
    lrn = rm.make_learner(learner, model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    params = dict(model.named_parameters())
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def step():
        opt.zero_grad(set_to_none=True)
        grads = lrn.gradient(task.stream())
        for name, p in params.items():
            p.grad = grads[name]
        opt.step()
        sync()

    return step


def cuda_available() -> bool:
    """Called from setup / setup_cache only (it initialises the CUDA driver where present)."""
    return torch.cuda.is_available()


def require_cuda() -> None:
    """asv skips a benchmark whose setup raises NotImplementedError."""
    if not cuda_available():
        raise NotImplementedError("no CUDA device on this machine")
