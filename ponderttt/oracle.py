"""Per-chunk outcome tables, and the oracles over them (hindsight, and under a budget).

The independence assumption (stated here, in docs/PONDERTTT.md and checked by the tests):
every chunk starts from FRESH fast weights (``W0, b0``), i.e. the existing stream with
``seq_len = chunk_size`` (one chunk per sequence). Then a chunk's loss after an action depends
on that chunk and that action only, never on the actions taken before, so

* :func:`outcome_table` runs the frozen backbone ONCE per chunk and gets the loss of all four
  actions from it (UPDATE_1, UPDATE_2 and UPDATE_4 share their first steps: 4 inner steps and
  4 LM heads per chunk in all); the tests check each entry equals ``run_stream(...,
  seq_len=chunk_size)`` with that action;
* any policy (fixed action, gate, PPO, oracle) only *selects* one precomputed outcome per
  chunk, so evaluating or training it needs no further model pass, and its loss is exactly the
  loss the stream would give for the same action sequence;
* the budget-constrained oracle is an exact dynamic programme over (chunk, budget spent).

With fast weights carried across chunks (``seq_len > chunk_size``) a chunk's outcome would
depend on the earlier actions of its sequence and none of this would be exact; that set-up is
not what these tables measure.

Costs are the actions' nominal units (``NOMINAL_COST``: 1/3/5/12, integers), so a budget is an
integer number of units and the DP's table is (chunks + 1) x (budget + 1).
"""
from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from .actions import Action
from .model import PonderModel
from .stream import lm_loss

ACTIONS: tuple = tuple(Action)                     # column order of every table
COSTS = np.array([int(a.nominal_cost) for a in ACTIONS], dtype=np.int64)  # 1, 3, 5, 12
assert all(float(c) == a.nominal_cost for c, a in zip(COSTS, ACTIONS)), "costs must be integers"


#: behaviour version (rtrl_moe.records.versions): bump when outcome tables and the budget oracle changes
VERSIONS = {"ponder.oracle": 1}


@dataclass
class OutcomeTable:
    """``losses[t, a]``: LM loss of chunk t after action ``ACTIONS[a]`` from fresh fast
    weights; ``inner_before[t]``: the TTT layer's inner (reconstruction) loss on chunk t before
    any update (what a gate or policy may look at before choosing)."""
    losses: np.ndarray                  # (T, 4) float64
    inner_before: np.ndarray            # (T,) float64
    chunk_size: int
    seconds: dict = field(default_factory=dict)   # backbone / update / head totals, wall
    meta: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.losses.shape[0])

    def select(self, actions: Sequence[int]) -> tuple[float, float]:
        """(average loss, average nominal cost per chunk) of one action index per chunk."""
        idx = np.asarray(actions, dtype=np.int64)
        if idx.shape != (self.n,):
            raise ValueError(f"{idx.shape[0] if idx.ndim else 0} actions for {self.n} chunks")
        return (float(self.losses[np.arange(self.n), idx].mean()),
                float(COSTS[idx].sum() / self.n))

    def fixed(self, action: Action | str) -> tuple[float, float]:
        return self.select([ACTIONS.index(Action.parse(action))] * self.n)

    def subset(self, idx) -> "OutcomeTable":
        return OutcomeTable(self.losses[idx], self.inner_before[idx], self.chunk_size,
                            dict(self.seconds), dict(self.meta))

    def to_dict(self) -> dict:
        return {"actions": [a.value for a in ACTIONS], "costs": COSTS.tolist(),
                "losses": self.losses.tolist(), "inner_before": self.inner_before.tolist(),
                "chunk_size": self.chunk_size, "seconds": self.seconds, "meta": self.meta}

    @classmethod
    def from_dict(cls, d: dict) -> "OutcomeTable":
        if d.get("actions") != [a.value for a in ACTIONS] or d.get("costs") != COSTS.tolist():
            raise ValueError("outcome table made with other actions or costs")
        losses = np.asarray(d["losses"], dtype=np.float64)
        inner = np.asarray(d["inner_before"], dtype=np.float64)
        if losses.ndim != 2 or losses.shape[1] != len(ACTIONS) or inner.shape != losses.shape[:1]:
            raise ValueError(f"bad table shapes {losses.shape}, {inner.shape}")
        if not (np.isfinite(losses).all() and np.isfinite(inner).all()):
            raise ValueError("non-finite values in the outcome table")
        return cls(losses, inner, int(d["chunk_size"]), d.get("seconds", {}), d.get("meta", {}))


@torch.no_grad()
def outcome_table(model: PonderModel, tokens: torch.Tensor, chunk_size: int = 512,
                  num_chunks: Optional[int] = None,
                  callback: Optional[Callable[[int, int], None]] = None) -> OutcomeTable:
    """Every action's loss on every chunk of ``tokens`` ((N,) or (1, N)), each chunk from fresh
    fast weights; one backbone pass per chunk. ``callback(i, n)`` after each chunk."""
    if tokens.dim() == 1:
        tokens = tokens.unsqueeze(0)
    if chunk_size <= 0 or chunk_size > model.scale.n_positions:
        raise ValueError(f"chunk_size {chunk_size} must be in 1..{model.scale.n_positions}")
    available = tokens.shape[1] // chunk_size
    n = available if num_chunks is None else num_chunks
    if n <= 0 or n > available:
        raise ValueError(f"{n} chunks asked for, the stream holds {available}")
    device = next(model.parameters()).device
    steps = [a.steps for a in ACTIONS]
    assert steps == sorted(steps), "actions must be ordered by steps"
    losses = np.empty((n, len(ACTIONS)))
    inner = np.empty(n)
    tb = tu = th = 0.0
    t_start = time.perf_counter()
    for i in range(n):
        ids = tokens[:, i * chunk_size:(i + 1) * chunk_size].to(device)
        t0 = time.perf_counter()
        h = model.hidden(ids)
        t1 = time.perf_counter()
        tb += t1 - t0
        state = model.init_state(ids.shape[0])
        xk, xv = model.ttt.project_kv(h)
        inner[i] = float(model.ttt.inner_loss(state, xk, xv).mean())
        tu += time.perf_counter() - t1
        done = 0
        for j, k in enumerate(steps):  # UPDATE_4 continues from UPDATE_2's state, etc.
            t2 = time.perf_counter()
            while done < k:
                model.ttt.inner_step(state, xk, xv)
                done += 1
            t3 = time.perf_counter()
            losses[i, j] = lm_loss(model, h, state, ids)
            tu += t3 - t2
            th += time.perf_counter() - t3
        if callback is not None:
            callback(i, n)
    secs = {"backbone": tb, "update": tu, "head": th, "wall": time.perf_counter() - t_start}
    return OutcomeTable(losses, inner, chunk_size, secs)


# -- oracles -----------------------------------------------------------------------------------

def hindsight_oracle(losses: np.ndarray) -> np.ndarray:
    """Per chunk, the action index with the lowest loss after it (no budget)."""
    return np.asarray(losses).argmin(axis=1)


def budget_oracle(losses: np.ndarray, budget: int, costs: np.ndarray = COSTS) -> np.ndarray:
    """Action indices minimising the summed loss with summed cost <= ``budget`` (integer
    units), by dynamic programming over (chunk, units spent). Ties go to the cheaper spend.
    ValueError when even the cheapest sequence is over budget."""
    L = np.asarray(losses, dtype=np.float64)
    c = np.asarray(costs, dtype=np.int64)
    T, A = L.shape
    B = int(math.floor(budget + 1e-9))
    if T * int(c.min()) > B:
        raise ValueError(f"budget {budget} is below the cheapest sequence ({T * int(c.min())})")
    inf = math.inf
    # best[t, s]: least loss of chunks < t having spent exactly s units
    best = np.full((T + 1, B + 1), inf)
    best[0, 0] = 0.0
    choice = np.full((T, B + 1), -1, dtype=np.int64)
    for t in range(T):
        prev = best[t]
        for a in range(A):
            ca = int(c[a])
            if ca > B:
                continue
            cand = prev[:B + 1 - ca] + L[t, a]
            tgt = best[t + 1, ca:]
            better = cand < tgt
            tgt[better] = cand[better]
            choice[t, ca:][better] = a
    s = int(np.argmin(best[T]))  # argmin: first (cheapest) of equal totals
    out = np.empty(T, dtype=np.int64)
    for t in range(T - 1, -1, -1):
        a = int(choice[t, s])
        out[t] = a
        s -= int(c[a])
    assert s == 0
    return out


def brute_force_oracle(losses: np.ndarray, budget: float, costs: np.ndarray = COSTS) -> np.ndarray:
    """Reference for the tests: every one of A^T sequences (tiny T only)."""
    L = np.asarray(losses, dtype=np.float64)
    T, A = L.shape
    if A ** T > 2_000_000:
        raise ValueError(f"{A}^{T} sequences is too many for brute force")
    best, arg = math.inf, None
    for seq in itertools.product(range(A), repeat=T):
        if sum(int(costs[a]) for a in seq) > budget + 1e-9:
            continue
        v = sum(L[t, a] for t, a in enumerate(seq))
        if v < best:
            best, arg = v, seq
    if arg is None:
        raise ValueError("no sequence within budget")
    return np.asarray(arg, dtype=np.int64)


def oracle_at_cost(table: OutcomeTable, avg_cost: float) -> tuple[float, float, np.ndarray]:
    """The budget oracle with total budget = ``avg_cost * T`` units (rounded down, at least the
    all-SKIP cost): (average loss, average cost, actions)."""
    budget = max(int(math.floor(avg_cost * table.n + 1e-6)), table.n * int(COSTS.min()))
    acts = budget_oracle(table.losses, budget)
    loss, cost = table.select(acts)
    return loss, cost, acts


def recovery(loss_skip: float, loss_method: float, loss_oracle: float,
             eps: float = 1e-9) -> Optional[float]:
    """(loss_SKIP - loss_method) / (loss_SKIP - loss_oracle); None when the oracle does not
    beat SKIP (the ratio is undefined there)."""
    den = loss_skip - loss_oracle
    if not (den > eps):
        return None
    return (loss_skip - loss_method) / den
