"""The segment-tree speed tests as their scripts ran them: sparse-restricted RTRL (the gate's
indices, the tree's lazy products) against dense RTRL (every state parameter, every row), on a
model built for the test, no loss, wall time of the whole loop.

* ``tree_speed_anbn_10steps``: quick_verify.py Test 2 (upstream 7f2998d, output
  verify_output.txt: 2.72x): d_model 64, 8 slots, 16 experts, one random one-hot token per
  step. The script runs 50 steps per arm; here 10 (dense RTRL costs 2.5-4 s a step on this
  CPU, so 50 steps x 5 seeds would take 15-20 minutes), a reduced variant under its own name.
* ``tree_speed_haystack``: verify_haystack.py Phase 3 (81120cf; 002: 1.51x): d_model 32, 4 slots,
  8 experts, 15 haystack sequences of 8 tokens, the learner reset per sequence. Full protocol.

Arms: ``sparse-rtrl`` (the script's "sparse" arm: BlockRTRL given the gate's active parameters
and write indices; in the stored rtrl_block.py the segment-tree calls are commented out, so that
arm is sparse-restricted RTRL without a tree) and ``rtrl`` (the "full" arm: every state
parameter, every row). The documented ratio is dense over sparse. ``arms`` may add
``tree-rtrl`` (the bench's tree) beside them.
"""
from __future__ import annotations

import random
import time

import torch

from .haystack import jacobian_kwargs
from .models import model_info, protocol_model
from .tasks import haystack_tokens, one_hot, random_tokens

#: behaviour versions of the pieces this module computes (rtrl_moe/records/versions.py)
VERSIONS = {"protocol.tree_speed_haystack": 1, "protocol.tree_speed_anbn_10steps": 1}

ARMS = ("sparse-rtrl", "rtrl")
ALL_ARMS = ("tree-rtrl", "sparse-rtrl", "rtrl")
ANBN_SPEED_MOE = dict(d_model=64, n_heads=2, n_slots=8, n_experts=16, topk=2, d_in=8, d_out=4)
HAYSTACK_SPEED_MOE = dict(d_model=32, n_heads=2, n_slots=4, n_experts=8, topk=2, d_in=8, d_out=4)


def _no_target(x):
    for t in range(x.shape[1]):
        yield x[:, t:t + 1], torch.tensor([-100])


def _time_arms(model, sequences, arch: str, arms=ARMS) -> dict:
    from rtrl_moe.learners import make_learner
    out = {}
    for arm in arms:
        learner = make_learner(arm, model, **jacobian_kwargs(arch))
        t0 = time.perf_counter()
        for x in sequences:
            learner.gradient(_no_target(x))
        out[f"time_{arm}_s"] = time.perf_counter() - t0
        out[f"state_bytes_{arm}"] = learner.state_bytes()
        del learner
    return out


def _ratios(out: dict) -> dict:
    t = {a: out[f"time_{a}_s"] for a in ALL_ARMS if f"time_{a}_s" in out}
    r = {}
    if "rtrl" in t and "tree-rtrl" in t:
        r["ratio_dense_over_tree"] = t["rtrl"] / t["tree-rtrl"]
    if "rtrl" in t and "sparse-rtrl" in t:
        r["ratio_dense_over_sparse"] = t["rtrl"] / t["sparse-rtrl"]
    if "sparse-rtrl" in t and "tree-rtrl" in t:
        r["ratio_sparse_over_tree"] = t["sparse-rtrl"] / t["tree-rtrl"]
    return r


def tree_speed_anbn(seed: int, arch: str, steps: int = 10, arms=ARMS) -> dict:
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = protocol_model(arch, **ANBN_SPEED_MOE)
    x = one_hot(random_tokens(steps, 8, rng), 8)
    out = _time_arms(model, [x], arch, arms)
    return {**out, **_ratios(out), "steps_timed": steps, **model_info(model),
            "threads": torch.get_num_threads()}


def tree_speed_haystack(seed: int, arch: str, seqs: int = 15, seq_len: int = 8,
                        arms=ARMS) -> dict:
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = protocol_model(arch, **HAYSTACK_SPEED_MOE)
    xs = [one_hot(haystack_tokens(seq_len, 8, rng, "verify")[0], 8) for _ in range(seqs)]
    out = _time_arms(model, xs, arch, arms)
    return {**out, **_ratios(out), "steps_timed": seqs * seq_len, **model_info(model),
            "threads": torch.get_num_threads()}
