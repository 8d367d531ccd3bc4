"""Run a token stream chunk by chunk, one action per chunk, and measure each chunk.

The stream is cut into sequences of ``seq_len`` tokens (GPT-2's context, 1024, by default; 0
makes the whole stream one sequence) and each sequence into chunks of ``chunk_size`` tokens.
The backbone sees one chunk at a time (its context is the chunk), so every chunk costs the same
backbone pass; the TTT fast weights are reset at each sequence start and carried across the
chunks within it. Per chunk:

  1. ``h`` = GPT-2's final hidden state of the chunk (frozen backbone),
  2. UPDATE_k: k inner steps on the chunk's ``h`` (SKIP: none),
  3. logits = lm_head(h + ttt(h)) with the fast weights as they now are; the loss is the
     next-token cross-entropy within the chunk (n - 1 targets).

Note that step 2 sees the whole chunk before step 3 predicts it, as the document's actions do:
the updated weights have seen (projections of) the tokens they then predict, so an UPDATE
chunk's loss is not a strictly causal evaluation.

Wall time is ``time.perf_counter_ns`` around each part; nothing else runs inside the timed
sections (FLOP counting runs on a separate, untimed pass; see :func:`profile_chunk`).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from .actions import Action
from .flops import chunk_flops, count_flops
from .model import PonderModel
from .ttt import FastWeights

#: behaviour version (rtrl_moe.records.versions): bump when the chunked run of the random-init TTT-Linear path: losses and timings changes
VERSIONS = {"ponder.stream": 1}


@dataclass
class ChunkResult:
    index: int
    sequence: int                # which sequence the chunk belongs to
    position: int                # chunk index within its sequence (0 = fresh fast weights)
    action: str
    steps: int                   # inner steps taken on this chunk
    loss: float                  # LM cross-entropy (nats/token) after the action
    inner_losses: list = field(default_factory=list)  # inner loss before each step
    seconds: float = 0.0         # whole chunk
    backbone_seconds: float = 0.0
    update_seconds: float = 0.0
    head_seconds: float = 0.0    # TTT output + LM head + loss
    flops_analytic: int = 0
    nominal_cost: float = 0.0

    @property
    def inner_loss_before(self) -> Optional[float]:
        return self.inner_losses[0] if self.inner_losses else None

    def to_dict(self) -> dict:
        return {**asdict(self), "inner_loss_before": self.inner_loss_before}


@dataclass
class StreamResult:
    chunks: list
    chunk_size: int
    seq_len: int
    batch: int = 1

    def _col(self, name):
        return [getattr(c, name) for c in self.chunks]

    @property
    def losses(self) -> list:
        return self._col("loss")

    @property
    def average_loss(self) -> float:
        return sum(self.losses) / len(self.chunks)

    @property
    def total_cost(self) -> float:
        return sum(self._col("nominal_cost"))

    @property
    def total_seconds(self) -> float:
        return sum(self._col("seconds"))

    @property
    def total_flops(self) -> int:
        return sum(self._col("flops_analytic"))

    @property
    def tokens_per_s(self) -> float:
        return self.batch * self.chunk_size * len(self.chunks) / self.total_seconds


def _actions(actions, n_chunks: int) -> list:
    if isinstance(actions, (str, Action)):
        return [Action.parse(actions)] * n_chunks
    acts = [Action.parse(a) for a in actions]
    if len(acts) != n_chunks:
        raise ValueError(f"{len(acts)} actions for {n_chunks} chunks")
    return acts


def lm_loss(model: PonderModel, h: torch.Tensor, state: FastWeights, ids: torch.Tensor) -> float:
    """Next-token cross-entropy (nats/token) of a chunk whose hidden states are ``h``, through
    the fast weights as they are in ``state`` (n - 1 targets within the chunk)."""
    logits = model.logits(h, state)
    return float(F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).float(),
                                 ids[:, 1:].reshape(-1)))


def chunk_step(model: PonderModel, state: FastWeights, ids: torch.Tensor, action: Action) -> dict:
    """One chunk (ids: (B, n)) in place on ``state``: loss, inner losses, timings in ns."""
    sync = torch.cuda.synchronize if ids.is_cuda else (lambda: None)  # GPU clocks need it
    sync()
    t0 = time.perf_counter_ns()
    h = model.hidden(ids)
    sync()
    t1 = time.perf_counter_ns()
    inner = model.ttt.update(state, h, action.steps)
    sync()
    t2 = time.perf_counter_ns()
    loss = lm_loss(model, h, state, ids)
    t3 = time.perf_counter_ns()
    return {"loss": loss, "inner_losses": inner, "ns": (t3 - t0, t1 - t0, t2 - t1, t3 - t2)}


def profile_chunk(model: PonderModel, ids: torch.Tensor, action: Action | str) -> int:
    """FLOPs torch's counter sees for one chunk from fresh fast weights (untimed)."""
    state = model.init_state(ids.shape[0])
    flops, _ = count_flops(chunk_step, model, state, ids, Action.parse(action))
    return flops


def run_stream(model: PonderModel, tokens: torch.Tensor, actions: Action | str | Sequence,
               chunk_size: int = 512, seq_len: int = 1024, num_chunks: Optional[int] = None,
               callback=None) -> StreamResult:
    """Run ``tokens`` ((N,) or (B, N)) chunk by chunk; ``actions`` is one action for every
    chunk or one per chunk (``num_chunks`` defaults to the list's length, or the stream's). ``callback(chunk_result, num_chunks)`` is called after each chunk."""
    if tokens.dim() == 1:
        tokens = tokens.unsqueeze(0)
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    if chunk_size > model.scale.n_positions:
        raise ValueError(f"chunk_size {chunk_size} exceeds the context {model.scale.n_positions}")
    if seq_len < 0 or (seq_len and seq_len % chunk_size):
        raise ValueError(f"seq_len {seq_len} must be 0 or a multiple of chunk_size {chunk_size}")
    available = tokens.shape[1] // chunk_size
    if num_chunks is None:  # as many as the action list has, else the whole stream
        listed = not isinstance(actions, (str, Action))
        num_chunks = len(actions) if listed else available
    n_chunks = num_chunks
    if n_chunks <= 0 or n_chunks > available:
        raise ValueError(f"{n_chunks} chunks asked for, the stream holds {available}")
    acts = _actions(actions, n_chunks)
    per_seq = seq_len // chunk_size if seq_len else n_chunks
    B = tokens.shape[0]
    device = next(model.parameters()).device
    results, state = [], None
    for i, act in enumerate(acts):
        pos = i % per_seq
        if pos == 0:
            state = model.init_state(B)  # a new sequence: fresh fast weights
        ids = tokens[:, i * chunk_size:(i + 1) * chunk_size].to(device)
        before = state.steps
        out = chunk_step(model, state, ids, act)
        total, bb, up, head = (x / 1e9 for x in out["ns"])
        r = ChunkResult(index=i, sequence=i // per_seq, position=pos, action=act.value,
                        steps=state.steps - before, loss=out["loss"],
                        inner_losses=out["inner_losses"], seconds=total, backbone_seconds=bb,
                        update_seconds=up, head_seconds=head,
                        flops_analytic=chunk_flops(model.scale, chunk_size, act, B).total,
                        nominal_cost=act.nominal_cost)
        results.append(r)
        if callback is not None:
            callback(r, n_chunks)
    return StreamResult(results, chunk_size, seq_len, B)
