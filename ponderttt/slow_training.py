"""Training the TTT layer's slow weights with a validation split and early stopping (issue 32).

The backbone is frozen and its hidden states cached, so a step is the layer and the LM head on
one training chunk: Adam on the slow weights, gradients through the inner loop, the action's k
drawn per step from the UPDATE actions (1, 2, 4: SKIP adds nothing in the delta layer, so it
has no gradient). Every ``eval_every`` steps the validation loss is taken: the mean LM loss of
UPDATE_1/2/4 on the validation chunks. The best state seen so far is kept, **step 0 (the
initial layer, the identity) included**, and training stops after ``patience`` evaluations
without improvement (or at ``max_steps``). So the kept layer is never worse on validation than
the layer it started from, which is the bare backbone.

Resumable: the whole state (weights, Adam, step, best, history, the generator) is written
atomically to ``ckpt`` after each evaluation and read back by the next call.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import torch

from .ttt_minibatch import MiniBatchTTT, chunk_loss

TRAIN_STEPS = (1, 2, 4)


#: behaviour version (rtrl_moe.records.versions): bump when which slow weights are kept (validation, early stopping) changes
VERSIONS = {"ponder.slow-training": 1}


@dataclass(frozen=True)
class SlowTrainConfig:
    max_steps: int = 600
    eval_every: int = 50
    patience: int = 3
    lr: float = 1e-3
    clip: float = 1.0
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@torch.no_grad()
def mean_loss(layer: MiniBatchTTT, head, hidden, ids, steps=TRAIN_STEPS) -> dict:
    """{k: average LM loss over the chunks with k inner steps per mini-batch}."""
    out = {}
    for k in steps:
        tot = 0.0
        for i in range(hidden.shape[0]):
            res, _ = layer(hidden[i:i + 1], k)
            tot += float(chunk_loss(head, hidden[i:i + 1], res, ids[i:i + 1]))
        out[k] = tot / hidden.shape[0]
    return out


def _val(layer, head, h_val, ids_val) -> float:
    d = mean_loss(layer, head, h_val, ids_val)
    return sum(d.values()) / len(d)


def train_early_stopping(layer: MiniBatchTTT, head, h_tr, ids_tr, h_val, ids_val,
                         cfg: SlowTrainConfig, ckpt: Optional[Path] = None,
                         log: Callable[[str], None] = lambda s: None) -> dict:
    """Train ``layer`` in place and leave it at its best validation state; returns the
    history (``train`` per step, ``val`` per evaluation), ``best_step``, ``steps_run``,
    ``stopped_early`` and ``seconds`` (this call's, not counting earlier calls)."""
    head.requires_grad_(False)
    opt = torch.optim.Adam(layer.parameters(), lr=cfg.lr)
    g = torch.Generator().manual_seed(cfg.seed)
    st = None
    if ckpt is not None and Path(ckpt).is_file():
        st = torch.load(ckpt, weights_only=False)
        if st.get("config") != cfg.to_dict():
            st = None   # another configuration: start over
    if st is None:
        st = {"config": cfg.to_dict(), "step": 0, "train": [], "val": [],
              "best_val": _val(layer, head, h_val, ids_val), "best_step": 0,
              "best_state": copy.deepcopy(layer.state_dict()), "bad": 0, "done": False}
        st["val"].append((0, st["best_val"]))
        log(f"  slow weights: step 0 (identity) validation loss {st['best_val']:.4f}")
    else:
        layer.load_state_dict(st["state"])
        opt.load_state_dict(st["opt"])
        g.set_state(st["rng"])
        log(f"  slow weights: resumed at step {st['step']} (best {st['best_val']:.4f} "
            f"at step {st['best_step']})")
    t0 = time.perf_counter()
    while not st["done"] and st["step"] < cfg.max_steps:
        i = int(torch.randint(0, h_tr.shape[0], (1,), generator=g))
        k = TRAIN_STEPS[int(torch.randint(0, len(TRAIN_STEPS), (1,), generator=g))]
        with torch.enable_grad():
            res, _ = layer(h_tr[i:i + 1], k, train=True)
            loss = chunk_loss(head, h_tr[i:i + 1], res, ids_tr[i:i + 1])
            opt.zero_grad()
            loss.backward()
        torch.nn.utils.clip_grad_norm_(layer.parameters(), cfg.clip)
        opt.step()
        st["step"] += 1
        st["train"].append((k, float(loss.detach())))
        if st["step"] % cfg.eval_every == 0 or st["step"] == cfg.max_steps:
            v = _val(layer, head, h_val, ids_val)
            st["val"].append((st["step"], v))
            if v < st["best_val"]:
                st.update(best_val=v, best_step=st["step"], bad=0,
                          best_state=copy.deepcopy(layer.state_dict()))
            else:
                st["bad"] += 1
                st["done"] = st["bad"] >= cfg.patience
            recent = [x[1] for x in st["train"][-cfg.eval_every:]]
            log(f"  slow weights: step {st['step']}: train {sum(recent) / len(recent):.4f} "
                f"val {v:.4f} (best {st['best_val']:.4f} at {st['best_step']})")
            if ckpt is not None:
                st.update(state=layer.state_dict(), opt=opt.state_dict(), rng=g.get_state())
                Path(ckpt).parent.mkdir(parents=True, exist_ok=True)
                tmp = Path(ckpt).with_suffix(".tmp")
                torch.save(st, tmp)
                tmp.replace(ckpt)
    layer.load_state_dict(st["best_state"])
    return {"train": st["train"], "val": st["val"], "best_step": st["best_step"],
            "best_val": st["best_val"], "steps_run": st["step"],
            "stopped_early": bool(st["done"]), "seconds": time.perf_counter() - t0}
