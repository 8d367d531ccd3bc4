"""Adaptive compute on the seed's own mode (full-weight UPDATE_k), issue 32.

In this mode the weights and Adam's state carry from chunk to chunk, so a chunk's outcome
depends on every earlier action: there is no exact outcome table and no exact oracle. The
policies therefore run on a real carried stream, one chunk at a time:

1. the chunk's LM loss is taken with the current weights (the chunk's score: scored before its
   own update, as ``dynamic_eval``; the forward keeps its graph);
2. the policy chooses the action from what it may see before acting, the score included (as
   the TTT gate reads the chunk's reconstruction loss before choosing);
3. UPDATE_k: k Adam steps on the chunk (the first reuses the score's forward).

The gate reads the score (an EMA threshold at a target update rate, ``gate.InnerLossGate``).
PPO is trained on a **surrogate table** built from the base model on training chunks (each
row from the base weights, so the rows are independent): ``losses[t, a]`` = the loss of chunk
t + 1 after action a's k Adam steps on chunk t, ``inner_before[t]`` = the base model's loss on
chunk t. This is an approximation of the carried stream (stated in the records); the policy is
then judged on the real carried stream only.
"""
from __future__ import annotations

import copy
import time
from typing import Callable

import numpy as np
import torch

from .dynamic_eval import LR
from .oracle import ACTIONS, COSTS, OutcomeTable

STEPS = (0, 1, 2, 4)   # per ACTIONS index


#: behaviour version (rtrl_moe.records.versions): bump when gate and PPO on the carried full-weight stream changes
VERSIONS = {"ponder.full-policies": 1}


class CarriedModel:
    """One stream's weights (a copy of the backbone) and its Adam."""

    def __init__(self, lm: torch.nn.Module, lr: float = LR):
        self.lm = copy.deepcopy(lm).train(False)
        self.lm.requires_grad_(True)
        self.opt = torch.optim.Adam(self.lm.parameters(), lr=lr)

    def chunk(self, ids: torch.Tensor, choose: Callable[[float], int]) -> dict:
        """Score ``ids`` (1, n), let ``choose(score) -> action index`` pick, take its steps."""
        t0 = time.perf_counter()
        loss = self.lm(input_ids=ids, labels=ids).loss
        score = float(loss.detach())
        a = int(choose(score))
        for s in range(STEPS[a]):
            if s:
                loss = self.lm(input_ids=ids, labels=ids).loss
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        del loss
        return {"loss": score, "action": a, "seconds": time.perf_counter() - t0}


def run_policy_stream(lm, chunks: torch.Tensor, choose_factory, lr: float = LR) -> dict:
    """A carried stream over ``chunks`` (T, n); ``choose_factory(t, T)`` gives the chooser of
    chunk t. Returns per-chunk losses, actions, seconds."""
    m = CarriedModel(lm, lr)
    out = {"chunk_losses": [], "chunk_actions": [], "chunk_seconds": []}
    T = chunks.shape[0]
    for t in range(T):
        r = m.chunk(chunks[t:t + 1], choose_factory(t, T))
        out["chunk_losses"].append(r["loss"])
        out["chunk_actions"].append(r["action"])
        out["chunk_seconds"].append(r["seconds"])
    del m
    return out


def surrogate_table(lm, chunks: torch.Tensor, lr: float = LR, log=None) -> OutcomeTable:
    """The PPO training table (see the module's docstring) from ``chunks`` (T + 1, n):
    T rows, each from the base weights."""
    T = chunks.shape[0] - 1
    losses, inner = np.empty((T, len(ACTIONS))), np.empty(T)
    with torch.no_grad():
        base = [float(lm(input_ids=chunks[i:i + 1], labels=chunks[i:i + 1]).loss) for i in range(T + 1)]
    t0 = time.perf_counter()
    for t in range(T):
        inner[t], losses[t, 0] = base[t], base[t + 1]
        m = CarriedModel(lm, lr)
        for s in range(1, max(STEPS) + 1):
            loss = m.lm(input_ids=chunks[t:t + 1], labels=chunks[t:t + 1]).loss
            m.opt.zero_grad(set_to_none=True)
            loss.backward()
            m.opt.step()
            if s in STEPS:
                with torch.no_grad():
                    nxt = chunks[t + 1:t + 2]
                    losses[t, STEPS.index(s)] = float(m.lm(input_ids=nxt, labels=nxt).loss)
        del m
        if log is not None:
            log(f"  surrogate row {t + 1}/{T}: " + " ".join(f"{x:.3f}" for x in losses[t]))
    return OutcomeTable(losses, inner, int(chunks.shape[1]),
                        {"wall": time.perf_counter() - t0},
                        {"kind": "surrogate: rows from the base weights, loss of the next chunk"})


def gate_chooser(gate):
    """Chooser factory of an ``InnerLossGate`` reading the chunk's score."""
    def factory(t, T):
        return lambda score: ACTIONS.index(gate.decide(score))
    return factory


def ppo_chooser(trainer, seed: int, keep_budget: bool = True):
    """Chooser factory of a trained ``PolicyTrainer``: its features (with the training table's
    standardisation) from the stream as it goes, sampled (seeded), the budget kept as in
    ``PolicyTrainer.act``."""
    from .policy import affordable
    g = torch.Generator().manual_seed(seed)
    state = {"spent": 0.0, "past": []}
    s, budget = trainer.stats, float(trainer.budget)

    def factory(t, T):
        def choose(score):
            recent = ((np.mean(state["past"][-3:]) - s.loss_mean) / s.loss_std
                      if state["past"] else 0.0)
            spent = state["spent"]
            f = np.array([t / T, (score - s.inner_mean) / s.inner_std, recent,
                          spent / (budget * T), (spent / t - budget) / budget if t else 0.0],
                         dtype=np.float32)
            with torch.no_grad():
                logits = trainer.net.actor(torch.from_numpy(f))
            if keep_budget:
                ok = affordable(spent, T - t - 1, budget * T)
                logits = logits.masked_fill(~torch.from_numpy(ok), float("-inf"))
            a = int(torch.multinomial(torch.softmax(logits, -1), 1, generator=g))
            state["spent"] += float(COSTS[a])
            state["past"].append(score)
            return a
        return choose
    return factory
