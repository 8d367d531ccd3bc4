"""The seed's own UPDATE_k (``--update full``): dynamic evaluation of the whole backbone.

Document 004's code at the seed makes UPDATE_k k Adam steps (lr 3e-4) on ALL the backbone's
weights on the chunk's LM loss, the weights and the optimizer state carried on to the next
chunk (the TTT layer is built but unused there). Here each chunk is scored BEFORE its own
update: the loss of the first step's forward pass (weights that have seen only earlier
chunks), then the k steps are taken. SKIP is one forward pass and changes nothing.

:func:`run_interleaved` runs the four actions chunk by chunk in one process (SKIP on the base
model, each UPDATE_k on its own copy with its own Adam), so their wall times are taken under
the same load; the FLOPs of one chunk of each action come from torch's counter on an untimed
copy.
"""
from __future__ import annotations

import copy
import time

import torch

ACTIONS = {"SKIP": 0, "UPDATE_1": 1, "UPDATE_2": 2, "UPDATE_4": 4}
LR = 3e-4


#: behaviour version (rtrl_moe.records.versions): bump when the seed's full-weight UPDATE_k and its FLOP count changes
VERSIONS = {"ponder.full-update": 1}


class DynamicEvaluator:
    """One action's stream state: a model copy (for k > 0) and its Adam."""

    def __init__(self, lm: torch.nn.Module, k: int, lr: float = LR):
        self.k = k
        if k == 0:
            self.lm, self.opt = lm, None
        else:
            self.lm = copy.deepcopy(lm).train(False)
            self.lm.requires_grad_(True)
            self.opt = torch.optim.Adam(self.lm.parameters(), lr=lr)

    def chunk(self, ids: torch.Tensor) -> dict:
        """Score ``ids`` (1, n) before the update, then k Adam steps on it."""
        t0 = time.perf_counter()
        if self.k == 0:
            with torch.no_grad():
                score = float(self.lm(input_ids=ids, labels=ids).loss)
            return {"loss": score, "seconds": time.perf_counter() - t0, "step_losses": []}
        steps = []
        for _ in range(self.k):
            loss = self.lm(input_ids=ids, labels=ids).loss
            steps.append(float(loss.detach()))
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        return {"loss": steps[0], "seconds": time.perf_counter() - t0, "step_losses": steps}


def chunk_flops(lm: torch.nn.Module, ids: torch.Tensor, k: int) -> int:
    """FLOPs torch's counter sees for one chunk of action k on a throwaway copy (untimed)."""
    from torch.utils.flop_counter import FlopCounterMode
    ev = DynamicEvaluator(lm, k)
    with FlopCounterMode(display=False) as fc:
        ev.chunk(ids)
    del ev
    return int(fc.get_total_flops())


def run_interleaved(lm: torch.nn.Module, chunks: torch.Tensor, actions=tuple(ACTIONS),
                    log=None) -> dict:
    """Per action: per-chunk losses (scored before the update), seconds, step losses."""
    evs = {a: DynamicEvaluator(lm, ACTIONS[a]) for a in actions}
    out = {a: {"chunk_losses": [], "chunk_seconds": [], "step_losses": []} for a in actions}
    for i in range(chunks.shape[0]):
        ids = chunks[i:i + 1]
        for a in actions:
            r = evs[a].chunk(ids)
            out[a]["chunk_losses"].append(r["loss"])
            out[a]["chunk_seconds"].append(r["seconds"])
            out[a]["step_losses"].append(r["step_losses"])
        if log is not None:
            log(f"  full chunk {i + 1}/{chunks.shape[0]}: " + " ".join(
                f"{a}={out[a]['chunk_losses'][-1]:.3f}/{out[a]['chunk_seconds'][-1]:.1f}s" for a in actions))
    return out
