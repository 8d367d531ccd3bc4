"""What train_policy and frontier share: the train / held-out chunks, their outcome tables, and
the evaluation of one action sequence against SKIP and the oracle at the same cost."""
from __future__ import annotations

import sys
from typing import Optional

import numpy as np

from ..data import make_tokens, stdlib_tokens
from ..oracle import ACTIONS, COSTS, OutcomeTable, oracle_at_cost, outcome_table, recovery

PARTS = ("train", "heldout")
#: synthetic streams: training and held-out chunks come from different generator seeds
SYNTH_SEED_OFFSET = {"train": 10_000, "heldout": 20_000}


def data_tokens(n_chunks: int, chunk_size: int, *, real: bool, seed: int, part: str):
    """``n_chunks * chunk_size`` tokens of ``part``: stdlib code (the data module's split of
    that name; the window is shifted by ``seed`` windows so seeds see different chunks) or
    uniform random tokens from a generator seeded by ``seed`` and the part."""
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}")
    n = n_chunks * chunk_size
    if real:
        return stdlib_tokens((seed + 1) * n, part)[seed * n:]
    return make_tokens(n, seed=SYNTH_SEED_OFFSET[part] + seed)


def progress_table(model, tokens, chunk_size: int, desc: str, quiet: bool = False) -> OutcomeTable:
    """The outcome table with a tqdm bar on a terminal, else one line per 10 chunks."""
    from tqdm import tqdm
    n = tokens.numel() // chunk_size
    bar = tqdm(total=n, desc=desc, unit="chunk", disable=quiet or not sys.stderr.isatty(),
               file=sys.stderr)

    def cb(i, total):
        bar.update(1)
        if not quiet and not sys.stderr.isatty() and ((i + 1) % 10 == 0 or i + 1 == total):
            print(f"  {desc}: {i + 1}/{total} chunks", flush=True)
    try:
        return outcome_table(model, tokens, chunk_size, callback=cb)
    finally:
        bar.close()


def evaluate(table: OutcomeTable, actions, oracle_cost: Optional[float] = None) -> dict:
    """Average loss and cost of ``actions`` on ``table``, SKIP's loss, the budget oracle at the
    realized cost (or ``oracle_cost``), and the recovery (loss_SKIP - loss) /
    (loss_SKIP - loss_oracle)."""
    acts = np.asarray(actions, dtype=np.int64)
    loss, cost = table.select(acts)
    skip, _ = table.fixed("SKIP")
    o_loss, o_cost, _ = oracle_at_cost(table, cost if oracle_cost is None else oracle_cost)
    counts = np.bincount(acts, minlength=len(ACTIONS))
    return {"loss": loss, "avg_cost": cost, "total_cost": float(COSTS[acts].sum()),
            "n_chunks": table.n, "loss_skip": skip, "oracle_loss_at_cost": o_loss,
            "oracle_cost": o_cost, "recovery": recovery(skip, loss, o_loss),
            "action_counts": {a.value: int(c) for a, c in zip(ACTIONS, counts)},
            "chunk_actions": [ACTIONS[i].value for i in acts]}
