"""Sweep presets: plain lists of :class:`PointConfig`.

``quick`` -- what ``nox -s report`` measures on a new machine, so the README's main command ends
within about five minutes on two cores: only the points whose outcome depends on the machine or
that a verdict needs (about 2.5 minutes on a quiet 2-core CPU, estimated from the recorded wall
times of these points and of their T=32 twins; ``sweep --dry-run`` prints an estimate):

* ``agree``: gradient agreement with bptt at T=16 in float64 for every exact learner, the
  documents' formula (``sparse-rtrl-readonly``) and truncated BPTT, and sparse-rtrl in float32:
  exactness on this machine's arithmetic;
* ``memory-curve``: memory-only points (``repeats=0``) of a small model (:data:`SMALL`): bptt
  (grows) and sparse-rtrl (flat) at 32, 128, 512 (:data:`QUICK_MEMORY_T`);
* ``budget``: bptt under a 64 MB CPU budget (address space over the worker's baseline) at 256 and
  1024 (it ran out of memory at 1024 here) and sparse-rtrl at 1024 under the same budget;
* ``speed-slots`` / ``speed-experts``: the library's speed targets, sparse-rtrl vs rtrl with
  n_slots 8 (read 2, write 2) and tree-rtrl vs sparse-rtrl with n_experts 8 (top-2), 3 pairs
  (seeds) each at T=8 (:data:`QUICK_SPEED_T`): the targets' verdicts need 3 pairs.

What ``quick`` measured before and no longer holds lives in its own preset: ``compiled`` (the
torch.compile comparison with its eager twins at d_model 16, C++ compiled on first use);
timings of every learner, longer memory curves and training runs are ``full``'s / ``long``'s.

CPU points of ``quick``, ``compiled`` and ``full`` run with ``threads=1`` (:data:`CPU_THREADS`).

``long`` -- the claims ``quick`` leaves NOT MEASURED that a CPU can settle in about half an hour:
bptt, ckpt-bptt and tree-rtrl at 16,384 tokens and sparse-rtrl at 131,072 (no budget: does
anything but RTRL complete past 10^4 tokens, does RTRL complete past 10^5); sparse-rtrl and
tree-rtrl timed at 256 and 1024 (with ``quick``'s 64: is step time linear in T); haystack under
the 64 MB budget (bptt vs sparse-rtrl) and the sparse/tree speed pair on haystack at T = 8 and 64.
Its points that ``full`` also has are the same points, so a later ``full`` sweep resumes past them.

``full`` -- the CPU to 10^5 tokens and beyond (hours).  ``gpu`` -- the documents'
configuration (d_model 32, n_slots 4, n_experts 4, topk 2) on CUDA for lengths 32..2048 (memory
and time table), 10 000 and 50 000 tokens for the extreme demo, under a stated budget of
:data:`GPU_BUDGET_MB`.
"""
from __future__ import annotations

from typing import Callable

from .config import PointConfig

#: small model for long memory curves (most cost is per step, not per parameter)
SMALL = {"d_model": 8, "n_slots": 4, "n_experts": 4, "topk": 2, "topk_read": 2,
         "topk_write": 2, "d_ff": 16}
#: the documents' configuration (MoEConfig's defaults, spelled out)
DOC = {"d_model": 32, "n_slots": 4, "n_experts": 4, "topk": 2, "topk_read": 2,
       "topk_write": 2, "d_ff": 64}
#: sparse-rtrl vs rtrl: many slots, few read and written, at the documents' d_model (with
#: d_model 8 the fixed per-step torch.func cost would hide the update's cost being measured)
SPEED_SLOTS = {"d_model": 32, "n_slots": 8, "n_experts": 4, "topk": 2, "topk_read": 2,
               "topk_write": 2, "d_ff": 64}
#: tree-rtrl vs sparse-rtrl: many experts, few active; expert params ~84% of the state params
SPEED_EXPERTS = {"d_model": 32, "n_slots": 4, "n_experts": 8, "topk": 2, "topk_read": 2,
                 "topk_write": 2, "d_ff": 256}
#: the two speed configs at d_model 16, where per-step overhead is most of the step
SPEED_SLOTS16 = dict(SPEED_SLOTS, d_model=16, d_ff=32)
SPEED_EXPERTS16 = dict(SPEED_EXPERTS, d_model=16, d_ff=128)
RNN_SMALL = {"hidden": 32, "cell": "gru"}
#: ``quick``'s lengths: the memory curve (16x from shortest to longest), and the speed pairs
#: (T=32 in ``compiled`` and before issue 33: at 8 a pair costs about a third of that, and the
#: ratio is of per-step times, whose cost is per token, either way)
QUICK_MEMORY_T = (32, 128, 512)
QUICK_SPEED_T = 8

#: a speed ratio is the median over pairs: each seed is one pair, both learners on its data
PAIR_SEEDS = (0, 1, 2)
CPU_BUDGET_MB = 64        # small model: bptt fits at 256, runs out at 1024; sparse-rtrl fits
CPU_BUDGET_DOC_MB = 256   # documents' model: bptt fits at 1024, runs out at 4096
#: CPU points run single-threaded: the models are small (intra-op threads only add overhead)
#: and on a shared 2-core box a second OpenMP thread made bptt 3.7x slower
CPU_THREADS = 1
GPU_BUDGET_MB = 1024
ALL_LEARNERS = ("bptt", "tbptt", "ckpt-bptt", "rtrl", "sparse-rtrl", "tree-rtrl",
                "sparse-rtrl-readonly")


def _lk(learner: str) -> dict:
    return {"k": 64} if learner == "tbptt" else {}


def _tracking_window(learner: str):
    """torch.func learners are tracked through live tensors, several times a step's cost: a
    streaming one holds nothing per step, so its first 256 steps show its whole pattern."""
    import rtrl_moe as rm
    cls = rm.learner_class(learner)
    return 256 if cls.streaming and cls.uses_torch_func else None


def _mem(learner, T, model=SMALL, label="memory-curve", **kw) -> PointConfig:
    track = _tracking_window(learner)
    return PointConfig(kind="measure", learner=learner, learner_kwargs=_lk(learner),
                       model=dict(model), seq_len=T, repeats=0, warmup=1, track_steps=track,
                       matmul=False, label=label, **kw)


def _time(learner, T, model=SMALL, label="timing", repeats=5, **kw) -> PointConfig:
    return PointConfig(kind="measure", learner=learner, learner_kwargs=_lk(learner),
                       model=dict(model), seq_len=T, repeats=repeats, warmup=1, label=label,
                       **kw)


def _agree(learner, T, dtype="float64", model=SMALL, label="agree", **kw) -> PointConfig:
    lk = {"k": 8} if learner == "tbptt" else {}
    return PointConfig(kind="agree", learner=learner, learner_kwargs=lk, model=dict(model),
                       seq_len=T, dtype=dtype, label=label, **kw)


def _train(learner, seed, model_type="moe", model=SMALL, T=32, steps=40, lr=2e-3,
           label="train", task="anbn", eval_every=5, **kw) -> PointConfig:
    return PointConfig(kind="train", learner=learner, model_type=model_type, model=dict(model),
                       task=task, seq_len=T, steps=steps, lr=lr, eval_every=eval_every,
                       seed=seed, label=label, **kw)


def _cpu_threads(pts: list[PointConfig], threads: int = CPU_THREADS) -> list[PointConfig]:
    return [p.replace(threads=threads) if p.device == "cpu" and p.threads is None else p
            for p in pts]


def quick() -> list[PointConfig]:
    pts: list[PointConfig] = []
    pts += [_agree(lr, 16) for lr in ("rtrl", "sparse-rtrl", "tree-rtrl", "sparse-rtrl-readonly",
                                      "tbptt")]
    pts += [_agree("sparse-rtrl", 16, "float32")]
    pts += [_mem(lr, T) for lr in ("bptt", "sparse-rtrl") for T in QUICK_MEMORY_T]
    pts += [_mem("bptt", T, label="budget", budget_mb=CPU_BUDGET_MB) for T in (256, 1024)]
    pts += [_mem("sparse-rtrl", 1024, label="budget", budget_mb=CPU_BUDGET_MB)]
    # speed targets: 3 pairs (seeds) per config, the learners of a pair back to back
    for seed in PAIR_SEEDS:
        pts += [_time(lr, QUICK_SPEED_T, model=SPEED_SLOTS, label="speed-slots", seed=seed)
                for lr in ("rtrl", "sparse-rtrl")]
        pts += [_time(lr, QUICK_SPEED_T, model=SPEED_EXPERTS, label="speed-experts", seed=seed)
                for lr in ("sparse-rtrl", "tree-rtrl")]
    return _cpu_threads(pts)


def compiled() -> list[PointConfig]:
    """compile=True (the hand-derived Jacobian through torch.compile) beside the eager step
    (issue "exact sparse RTRL at its floor"): whether fusing wins; the targets use eager only.
    The eager twins at d_model 16 are the speed-slots16 / speed-experts16 pairs (3 seeds, which
    also give the d_model-16 speedups); on the documents' model the eager point is here too.
    torch.compile builds C++ on first use: minutes, which is why this is not in ``quick``."""
    pts: list[PointConfig] = []
    for seed in PAIR_SEEDS:
        for slots, experts in ((SPEED_SLOTS16, SPEED_EXPERTS16),):
            pts += [_time(lr, 32, model=slots, label="speed-slots16", seed=seed)
                    for lr in ("rtrl", "sparse-rtrl")]
            pts += [_time(lr, 32, model=experts, label="speed-experts16", seed=seed)
                    for lr in ("sparse-rtrl", "tree-rtrl")]
    for lr, model, kws in (("sparse-rtrl", DOC, ({}, {"compile": True})),
                           ("sparse-rtrl", SPEED_SLOTS16, ({"compile": True},)),
                           ("tree-rtrl", SPEED_EXPERTS16, ({"compile": True},))):
        for kw in kws:
            pts.append(PointConfig(kind="measure", learner=lr, learner_kwargs={**_lk(lr), **kw},
                                   model=dict(model), seq_len=32, repeats=5, warmup=1,
                                   label="speed-compiled", timeout_s=1200))
    return _cpu_threads(pts)


def long() -> list[PointConfig]:
    pts = [_mem(lr, 16384, timeout_s=3600) for lr in ("bptt", "ckpt-bptt", "tree-rtrl")]
    pts += [_mem("sparse-rtrl", 131072, timeout_s=3 * 3600)]
    pts += [_time(lr, T, timeout_s=3600) for lr in ("sparse-rtrl", "tree-rtrl") for T in (256, 1024)]
    pts += [_mem("bptt", T, task="haystack", label="budget-haystack", budget_mb=CPU_BUDGET_MB)
            for T in (256, 1024, 4096)]
    pts += [_mem("sparse-rtrl", T, task="haystack", label="budget-haystack",
                 budget_mb=CPU_BUDGET_MB) for T in (1024, 4096)]
    pts += [_time(lr, T, task="haystack", label="speed-haystack") for T in (8, 64)
            for lr in ("sparse-rtrl", "tree-rtrl")]
    return _cpu_threads(pts)


def full() -> list[PointConfig]:
    pts: list[PointConfig] = []
    for lr in ALL_LEARNERS:
        pts += [_mem(lr, T, timeout_s=3600) for T in (64, 256, 1024, 4096, 16384)]
    pts += [_mem(lr, T, timeout_s=3600) for lr in ("bptt", "ckpt-bptt") for T in (65536,)]
    pts += [_mem(lr, T, timeout_s=3 * 3600) for lr in ("tbptt", "sparse-rtrl")
            for T in (131072,)]
    for model, tag in ((SMALL, "timing"), (DOC, "timing-doc")):
        pts += [_time(lr, T, model=model, label=tag, timeout_s=3600)
                for lr in ALL_LEARNERS for T in (64, 256, 1024)]
    for T in (64, 256):
        pts += [_time(lr, T, model=SPEED_SLOTS, label="speed-slots") for lr in ("rtrl",
                                                                               "sparse-rtrl")]
        pts += [_time(lr, T, model=SPEED_EXPERTS, label="speed-experts")
                for lr in ("sparse-rtrl", "tree-rtrl")]
    agree_learners = ("tbptt", "ckpt-bptt", "rtrl", "sparse-rtrl", "tree-rtrl",
                      "sparse-rtrl-readonly")
    for dt in ("float64", "float32"):
        pts += [_agree(lr, T, dt, timeout_s=3600) for lr in agree_learners
                for T in (1, 16, 64, 256, 1024)]
    pts += [_agree(lr, T, model=DOC, label="agree-doc", timeout_s=3600)
            for lr in ("rtrl", "sparse-rtrl", "tree-rtrl") for T in (16, 64, 256)]
    pts += [_mem("bptt", T, label="budget", budget_mb=CPU_BUDGET_MB)
            for T in (256, 512, 1024, 2048, 4096)]
    pts += [_mem("sparse-rtrl", T, label="budget", budget_mb=CPU_BUDGET_MB, timeout_s=3600)
            for T in (1024, 4096, 16384)]
    pts += [_mem("bptt", T, model=DOC, label="budget-doc", budget_mb=CPU_BUDGET_DOC_MB)
            for T in (256, 1024, 2048, 4096)]
    pts += [_mem("sparse-rtrl", T, model=DOC, label="budget-doc", budget_mb=CPU_BUDGET_DOC_MB,
                 timeout_s=3 * 3600) for T in (1024, 4096)]
    for task, T in (("anbn", 64), ("haystack", 32)):
        for seed in range(5):
            pts += [_train(lr, seed, task=task, T=T, steps=300, timeout_s=3 * 3600)
                    for lr in ("bptt", "sparse-rtrl", "tree-rtrl")]
            pts += [_train("bptt", seed, model_type="rnn", model=RNN_SMALL, task=task, T=T,
                           steps=300)]
    return _cpu_threads(pts)


#: seeds of every accuracy claim: "beats" and "similar" need >= 5 a side (report/checks/accuracy.py)
TRAIN_SEEDS = (0, 1, 2, 3, 4)
#: 003's "RNN BPTT" arm: a plain tanh RNN with the MoE's state size (H = 128); 003 states no size
RNN_H128 = {"hidden": 128, "cell": "tanh"}


def train() -> list[PointConfig]:
    """The accuracy claims' workloads on the documents' model, declared before the data (issue 9).
    All float32, batch 1, Adam, held-out accuracy over >= 1000 targets. In pieces by label:

    * ``train-anbn-5k``: bptt, a^n b^n (len_max_a 8, T = 32), 5,000 steps (001's "~95% in 5K
      steps"), lr 2e-3 and lr 1e-2 (002's learning-rate claims), 5 seeds each (~1 h on a core).
      sparse-rtrl at 5,000 steps costs ~45 min a seed here: its accuracy at that length is read
      from bptt, whose gradient it equals (``train-trajectory`` shows how far that holds).
    * ``train-pair``: sparse-rtrl and bptt with the same seeds at an affordable setting, a^n b^n
      T = 32 and haystack T = 16, 300 steps: the two final-accuracy distributions side by side.
    * ``train-003``: 003's three arms (plain RNN bptt, MoE bptt, MoE sparse-rtrl) at T = 32,
      64, 128 with its N_STEPS = 30, on haystack (003 names no task; its ~25-35% levels sit on
      haystack's 1/4 chance), 5 seeds.
    * ``train-trajectory``: one seed of bptt and sparse-rtrl in float64 and float32, the loss
      recorded every step, to show where same-seed trajectories separate."""
    pts: list[PointConfig] = []
    for lr in (2e-3, 1e-2):
        pts += [_train("bptt", seed, model=DOC, steps=5000, lr=lr, eval_every=50,
                       label="train-anbn-5k", timeout_s=3600) for seed in TRAIN_SEEDS]
    for task, T in (("anbn", 32), ("haystack", 16)):
        for seed in TRAIN_SEEDS:
            pts += [_train(lr, seed, model=DOC, task=task, T=T, steps=300, eval_every=10,
                           label="train-pair", timeout_s=3600) for lr in ("bptt", "sparse-rtrl")]
    for T in (32, 64, 128):
        for seed in TRAIN_SEEDS:
            pts += [_train("bptt", seed, model_type="rnn", model=RNN_H128, task="haystack", T=T,
                           steps=30, eval_every=1, label="train-003"),
                    _train("bptt", seed, model=DOC, task="haystack", T=T, steps=30,
                           eval_every=1, label="train-003"),
                    _train("sparse-rtrl", seed, model=DOC, task="haystack", T=T, steps=30,
                           eval_every=1, label="train-003", timeout_s=1800)]
    for dtype in ("float64", "float32"):
        pts += [_train(lr, 0, model=DOC, steps=200, eval_every=1, dtype=dtype,
                       label="train-trajectory", timeout_s=3600) for lr in ("bptt", "sparse-rtrl")]
    return _cpu_threads(pts)


#: lengths of document 000's memory/time table
DOC_TABLE_T = (32, 64, 128, 256, 512, 1024, 2048)


def docs() -> list[PointConfig]:
    """The documents' own workloads on the CPU, declared before the data (issue 9): their model
    (d_model 32, 4 slots, 4 experts, top-2, read 2, write 2, H = 128) at their lengths. Runs in
    pieces by label (``--label docs-memory`` ...), about 25 minutes in all on one core."""
    pts: list[PointConfig] = []
    # 000's table: memory of full BPTT, truncated BPTT (window 64, as its haystack command),
    # sparse RTRL (the documents' "RTRL") and dense RTRL, at the table's lengths
    # ... and the segment-tree learner (003's "O(H) with segment tree"); bptt on haystack too,
    # for 001's haystack out-of-memory length
    for lr in ("bptt", "tbptt", "sparse-rtrl", "rtrl", "tree-rtrl"):
        pts += [_mem(lr, T, model=DOC, label="docs-memory", timeout_s=1800) for T in DOC_TABLE_T]
    pts += [_mem("bptt", T, model=DOC, task="haystack", label="docs-memory") for T in DOC_TABLE_T]
    # 000's time columns, as pairs: the learners of one seed run back to back
    for seed in PAIR_SEEDS:
        for T in (32, 128, 512, 2048):
            pts += [_time(lr, T, model=DOC, label="docs-time", repeats=3, seed=seed,
                          timeout_s=1800) for lr in ("bptt", "tbptt", "sparse-rtrl")]
    # the step at its floor with a batch (issue "exact sparse RTRL at its floor"): the
    # documents' model at B = 8, 3 seeds, both sparse learners of a seed back to back (B = 1: docs-tree-anbn)
    for seed in PAIR_SEEDS:
        pts += [_time(lr, 32, model=DOC, label="docs-time-b8", repeats=3, seed=seed, batch=8,
                      timeout_s=1800) for lr in ("sparse-rtrl", "tree-rtrl")]
    # 002's segment-tree speedups: a^n b^n (quick_verify, the documents' model) and haystack
    # (verify_haystack, "8-token sequences"), over 4 lengths for a trend, 3 pairs each
    for seed in PAIR_SEEDS:
        pts += [_time(lr, T, model=DOC, label="docs-tree-anbn", repeats=3, seed=seed)
                for T in (16, 64, 96, 256) for lr in ("sparse-rtrl", "tree-rtrl")]
        pts += [_time(lr, T, model=DOC, task="haystack", label="docs-tree-haystack", repeats=3,
                      seed=seed) for T in (8, 16, 32, 64) for lr in ("sparse-rtrl", "tree-rtrl")]
    # out of memory as a crossover: bptt under a budget stated here, across the length the
    # memory fit predicts; sparse-rtrl under the same budget at the longest of them
    pts += [_mem("bptt", T, model=DOC, label="docs-budget", budget_mb=CPU_BUDGET_DOC_MB)
            for T in (512, 1024, 2048, 4096, 8192)]
    pts += [_mem("sparse-rtrl", 8192, model=DOC, label="docs-budget", budget_mb=CPU_BUDGET_DOC_MB,
                 timeout_s=3600)]
    pts += [_mem("bptt", T, model=DOC, task="haystack", label="docs-budget",
                 budget_mb=CPU_BUDGET_DOC_MB) for T in (512, 1024, 2048, 4096, 8192)]
    # exactness on the documents' model
    pts += [_agree(lr, T, model=DOC, label="docs-agree", timeout_s=1800)
            for lr in ("rtrl", "sparse-rtrl", "tree-rtrl", "sparse-rtrl-readonly", "tbptt")
            for T in (16, 64, 256)]
    return _cpu_threads(pts)


#: lengths of the scale claims (000's "practical up to 100K", 000/002's "BPTT fails at 10K")
SCALE_T = (10_000, 50_000, 100_000)
#: tree-rtrl buffer sizes for 002's "O(log n) lazy Jacobian products", timed at one T >= 2n
TREE_N = (4, 8, 16, 32, 64, 128)
TREE_N_T = 256


def docs_scale() -> list[PointConfig]:
    """The documents' scale and FLOP-ratio claims on their model (DOC, one thread, B = 1),
    declared before the data. In pieces by label, about an hour in all on one core (the
    100,000-token point alone ~25 min):

    * ``docs-scale-memory``: single-pass memory points (``repeats=0``, the record's ``wall_s``
      is the time) of sparse-rtrl at 10,000, 50,000 and 100,000 tokens, tree-rtrl and bptt at
      10,000 and bptt at 20,000 (002's "> 10000"), no budget (does it complete, what does it hold);
    * ``docs-scale-budget``: bptt at 10,000 under ``docs-budget``'s 256 MiB;
    * ``docs-tree-n``: tree-rtrl timed over buffer sizes n in :data:`TREE_N` at T = 256 (every
      buffer wraps), 3 seeds;
    * ``docs-dense-sparse``: rtrl vs sparse-rtrl and sparse-rtrl-readonly (the documents' own
      update) timed at T = 64, 3 seeds, the three learners of a seed back to back, for the
      FLOP-ratio claims (the analytic FLOPs ride in every record)."""
    pts: list[PointConfig] = []
    pts += [_mem("bptt", SCALE_T[0], model=DOC, label="docs-scale-budget",
                 budget_mb=CPU_BUDGET_DOC_MB, timeout_s=1800)]
    pts += [_mem(lr, SCALE_T[0], model=DOC, label="docs-scale-memory", timeout_s=3600)
            for lr in ("bptt", "tree-rtrl")]
    # 002 says "> 10000": bptt past the boundary too
    pts += [_mem("bptt", 2 * SCALE_T[0], model=DOC, label="docs-scale-memory", timeout_s=3600)]
    pts += [_mem("sparse-rtrl", T, model=DOC, label="docs-scale-memory", timeout_s=3 * 3600)
            for T in SCALE_T]
    for seed in PAIR_SEEDS:
        pts += [_time(lr, 64, model=DOC, label="docs-dense-sparse", repeats=3, seed=seed,
                      timeout_s=1800) for lr in ("rtrl", "sparse-rtrl", "sparse-rtrl-readonly")]
    for seed in PAIR_SEEDS:
        pts += [_time("tree-rtrl", TREE_N_T, model=DOC, label="docs-tree-n", repeats=3,
                      seed=seed, timeout_s=1800).replace(learner_kwargs={"n": n})
                for n in TREE_N]
    return _cpu_threads(pts)


#: the plain tanh RNN of the frontier (RFLO's derivation needs the tanh form)
RNN_TANH = {"hidden": 64, "cell": "tanh"}
#: (learner, kwargs) on the frontier: exact, the documents' inexact formula, the
#: approximations, and truncated BPTT at several windows
FRONTIER_MOE = (("sparse-rtrl", {}), ("sparse-rtrl-readonly", {}), ("snap-1", {}),
                ("snap-2", {}), ("uoro", {}), ("tbptt", {"k": 4}), ("tbptt", {"k": 16}),
                ("tbptt", {"k": 64}))
FRONTIER_RNN = (("rtrl", {}), ("snap-1", {}), ("snap-2", {}), ("uoro", {}), ("rflo", {}),
                ("tbptt", {"k": 4}), ("tbptt", {"k": 16}), ("tbptt", {"k": 64}))
FRONTIER_T = (16, 64, 256, 1024)


def frontier() -> list[PointConfig]:
    """Online learners side by side (bias versus cost, not a claim of the documents): gradient
    agreement with BPTT at every length, state bytes and time per token at T=256, and task
    accuracy (3 seeds), on the documents' model and on a plain tanh RNN. In pieces by label:
    frontier-agree (~15 min), frontier-cost (~5 min), frontier-train (the RNN runs ~10 min,
    the MoE ones hours)."""
    pts: list[PointConfig] = []
    for model_type, model, learners in (("moe", DOC, FRONTIER_MOE),
                                        ("rnn", RNN_TANH, FRONTIER_RNN)):
        for lr, kw in learners:
            common = dict(learner=lr, learner_kwargs=dict(kw), model_type=model_type,
                          model=dict(model), timeout_s=3600)
            pts += [PointConfig(kind="agree", seq_len=T, dtype="float64",
                                label="frontier-agree", **common) for T in FRONTIER_T]
            pts.append(PointConfig(kind="measure", seq_len=256, repeats=3,
                                   track_steps=64 if lr != "tbptt" else None,
                                   label="frontier-cost", **common))
            for task, T in (("anbn", 32), ("haystack", 16)):
                pts += [PointConfig(kind="train", task=task, seq_len=T, steps=300, lr=2e-3,
                                    eval_every=15, seed=seed, label="frontier-train",
                                    **common) for seed in PAIR_SEEDS]
        pts += [PointConfig(kind="measure", learner="bptt", model_type=model_type,
                            model=dict(model), seq_len=256, repeats=3, label="frontier-cost")]
        for task, T in (("anbn", 32), ("haystack", 16)):
            pts += [PointConfig(kind="train", learner="bptt", model_type=model_type,
                                model=dict(model), task=task, seq_len=T, steps=300, lr=2e-3,
                                eval_every=15, seed=seed, label="frontier-train")
                    for seed in PAIR_SEEDS]
    return _cpu_threads(pts)


def gpu() -> list[PointConfig]:
    cuda = {"device": "cuda"}
    pts: list[PointConfig] = []
    for lr in ("bptt", "tbptt", "ckpt-bptt", "sparse-rtrl", "tree-rtrl"):
        pts += [_time(lr, T, model=DOC, label="gpu-table", timeout_s=1800, **cuda)
                for T in (32, 64, 128, 256, 512, 1024, 2048)]
    pts += [_mem("bptt", T, model=DOC, label="gpu-budget", budget_mb=GPU_BUDGET_MB, **cuda)
            for T in (1024, 2048, 10000, 50000)]
    pts += [_time("sparse-rtrl", T, model=DOC, label="gpu-extreme", repeats=1,
                  budget_mb=GPU_BUDGET_MB, track_steps=256, timeout_s=3 * 3600, **cuda)
            for T in (10000, 50000)]
    pts += [_agree(lr, T, model=DOC, label="gpu-agree", **cuda)
            for lr in ("sparse-rtrl", "tree-rtrl") for T in (16, 256)]
    return pts


PRESETS: dict[str, Callable[[], list[PointConfig]]] = {"quick": quick, "compiled": compiled,
                                                        "long": long,
                                                        "full": full, "gpu": gpu, "train": train,
                                                        "docs": docs, "frontier": frontier,
                                                        "docs-scale": docs_scale}


def get_preset(name: str) -> list[PointConfig]:
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]()
