"""Step time of a learner before and after a change, timed interleaved in one process.

    PYTHONPATH=. python scripts/step_time_ab.py OLD_PACKAGE_DIR [--learners sparse-rtrl tree-rtrl]

OLD_PACKAGE_DIR holds a copy of an older ``rtrl_moe`` renamed ``rtrl_moe_old`` (its imports
rewritten), e.g. ``git archive REV rtrl_moe | tar -x -C DIR`` then a rename. Both run the
documents' model (d_model 32, 4 slots, 4 experts, top 2, read/write 2, d_ff 64; float32, one
thread, B = 1) on the same a^n b^n sequence; each repetition times old and new back to back
(their order alternating), so load changes hit both alike. Prints per learner the median
ms/token of each, the ratio old/new, whether the gradients are bitwise equal, and the 1-minute
load average before and after.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import time

import torch

DOC = dict(d_model=32, n_slots=4, n_experts=4, topk=2, topk_read=2, topk_write=2, d_ff=64)


def load() -> float:
    return os.getloadavg()[0]


def build(pkg, learner: str, T: int):
    torch.manual_seed(0)
    model = pkg.RecurrentMoE(pkg.MoEConfig(d_in=3, d_out=3, **DOC))
    task = pkg.make_task("anbn", seq_len=T, batch_size=1, seed=0)
    x, y = task.batch(0)
    return pkg.make_learner(learner, model), x, y


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("old_dir")
    ap.add_argument("--learners", nargs="+", default=["sparse-rtrl", "tree-rtrl"])
    ap.add_argument("--seq-len", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=15)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    sys.path.insert(0, a.old_dir)
    new, old = importlib.import_module("rtrl_moe"), importlib.import_module("rtrl_moe_old")
    out = {"load_avg_1m_before": load(), "seq_len": a.seq_len, "repeats": a.repeats,
           "threads": torch.get_num_threads(), "learners": {}}
    for name in a.learners:
        arms = {"old": build(old, name, a.seq_len), "new": build(new, name, a.seq_len)}
        grads = {k: l.gradient(x, y) for k, (l, x, y) in arms.items()}   # warm-up, and checked
        equal = all(torch.equal(grads["old"][n], grads["new"][n]) for n in grads["new"])
        times: dict = {"old": [], "new": []}
        for r in range(a.repeats):
            for k in (("old", "new") if r % 2 == 0 else ("new", "old")):
                learner, x, y = arms[k]
                t0 = time.perf_counter()
                learner.gradient(x, y)
                times[k].append((time.perf_counter() - t0) / a.seq_len * 1e3)
        med = {k: statistics.median(v) for k, v in times.items()}
        out["learners"][name] = {"ms_per_token_old": med["old"], "ms_per_token_new": med["new"],
                                 "ratio_old_over_new": med["old"] / med["new"],
                                 "gradients_bitwise_equal": equal}
    out["load_avg_1m_after"] = load()
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
