"""Upstream's block RTRL routed as its training script routes it, rebuilt, and the speed piece
that times it against our ``sparse-rtrl`` in one process.

Rebuilt (not copied) from a reading of jmCabrillana/rtrl_moe at commit
``3d98e13c3961aa16307ef1345acbfbddf782ff70``: ``rtrl_moe/core/rtrl.py`` (``BlockRTRL``) and
``rtrl_moe/train.py`` (its ``--method rtrl`` loop; the stored train.py is the same at
``df345d177862ae3106efb460fe1701eafce0b6d3``), run here on :class:`rtrl_moe.UpstreamMoE` (the
``moe.py`` @ 81120cf cell, docs/UPSTREAM.md) at the documents' config: d_model 32, 2 heads,
4 slots, 4 experts, top-2, read 2, write 2 -- train.py's own defaults (``D_MODEL 32, N_SLOTS 4,
N_EXPERTS 4``, ``n_heads 2``, the model's ``topk = topk_read = topk_write = 2``).

What one token costs in that path (``train_py_sequence``):

1. the model is called once with autograd on (``h`` a leaf that requires grad) for the next
   state and the routing;
2. the routing becomes Python lists: the element indices of the written slots and of the read
   gate's slots (each slot's ``d_model`` elements), and a parameter dict of every core
   ``state_*`` tensor plus the picked experts' ``W``/``b`` (the union over the batch);
3. ``step``: two separate ``vmap(jacrev(...))`` calls over a per-example function that runs the
   whole cell (transition and readout) through ``functional_call`` with the active parameters
   and returns the written rows of the next state -- one for ``J_h [B, |W|, H]``, one for
   ``J_theta[W]`` of the active parameters;
4. per tracked parameter tensor: ``P[:, W] = J_h[:, :, R] @ P[:, R]`` (list indexing: a gather
   and an index-put), ``+= J_theta[W]`` where the tensor is active, then ``nan_to_num`` of the
   whole ``P`` (a new tensor);
5. at the sequence's last token, before the update, the direct gradient of the loss through
   that call (``autograd.grad`` over every parameter) and ``dl/dh_t . P_t`` per tracked tensor.

The tracked set is train.py's: every parameter whose name does not start with ``output_``. The
cell's output block is named ``out_*``, so that set is *every* parameter (19,496 at the
documents' config, not the 12,416 ``state_*`` ones): the ``out_*`` sensitivities stay zero but
are still multiplied every step. ``tracked="state"`` is the same path with only ``state_*``
tracked (what a user who fixed that filter would run); the piece times both.

Exactness (tests/protocols/test_upstream_rtrl.py, float64): with every index
(``routing="all"``) the rebuild is exact RTRL -- the loss step pairs ``dl/dh_t`` with ``P_t``
before advancing it -- and equals BPTT to 1e-10. Routed as train.py, the call with the loss is
still differentiated whole by autograd (exact: T = 1 equals BPTT), but every earlier step is the
documents' formula ``P[W] = J[W, R] P[R] + J_theta[W]`` with unwritten rows kept, which this
cell does not satisfy (it scales unwritten slots by 0.6, and written slots read every slot): it
equals BPTT when every slot is read and written, and differs from it (and from our
``sparse-rtrl-readonly``, which also restricts the last step) otherwise. It *looks* exact -- the
same recursion as exact RTRL, restricted -- which is why it is the comparison the target names.

Left out of the timed loop (train.py does them once per sequence, outside the per-token work):
the optimizer step and clipping, the evaluation batch, logging and checkpoints.
"""
from __future__ import annotations

import os
import random
import statistics
import time

import torch
import torch.nn.functional as F
from torch.func import functional_call, jacrev, vmap

from .tasks import one_hot, random_tokens

#: behaviour versions of the pieces this module computes (rtrl_moe/records/versions.py)
VERSIONS = {"protocol.upstream_rtrl_speed": 1}

UPSTREAM_REPO = "jmCabrillana/rtrl_moe"
UPSTREAM_COMMIT = "3d98e13c3961aa16307ef1345acbfbddf782ff70"
#: the documents' config; upstream's cell takes n_heads (2 in train.py), ours does not
DOCS_CONFIG = dict(d_in=8, d_out=8, d_model=32, n_slots=4, n_experts=4, topk=2, topk_read=2,
                   topk_write=2)
UPSTREAM_ARMS = ("upstream-train-py", "upstream-state-only")
OURS = "sparse-rtrl"
#: the target: our per-token time at least this many times below upstream's fastest arm
TARGET_RATIO = 5.0


def tracked_params(model, tracked: str = "train.py") -> dict:
    """The parameters whose sensitivities are carried: train.py's filter or ``state_*`` only."""
    named = dict(model.named_parameters())
    if tracked == "train.py":
        return {k: p for k, p in named.items() if not k.startswith("output_")}
    if tracked == "state":
        return {k: p for k, p in named.items() if k.startswith("state_")}
    raise ValueError(f"tracked must be 'train.py' or 'state', got {tracked!r}")


def _slot_rows(slots, d: int) -> list[int]:
    out: list[int] = []
    for s in slots:
        out.extend(range(d * s, d * (s + 1)))
    return out


def upstream_routing(model, route, routing: str = "train.py"):
    """``(active params, write rows, read rows)`` as train.py derives them from a step's routing
    (``routing="all"``: every parameter of the cell's state, every row: plain block RTRL)."""
    named = dict(model.named_parameters())
    state = {k: p for k, p in named.items() if k.startswith("state_")}
    if routing == "all":
        return state, None, None
    if routing != "train.py":
        raise ValueError(f"routing must be 'train.py' or 'all', got {routing!r}")
    d = model.cfg.d_model
    write = _slot_rows(sorted(set(route.write.flatten().tolist())), d)
    read = _slot_rows(sorted(set(route.read.flatten().tolist())), d)
    picked = {f"state_experts.{w}.{e}" for e in set(route.experts.flatten().tolist())
              for w in ("W", "b")}
    active = {k: p for k, p in state.items()
              if not k.startswith("state_experts.") or k in picked}
    return active, write, read


def _written_rows(model, rows):
    """Per-example function (params, h [H], x [chunk, d_in]) -> next state's ``rows``."""
    def f(params, h, x):
        _, h_new, _ = functional_call(model, params, (x.unsqueeze(0), h.unsqueeze(0)))
        h_new = h_new.squeeze(0)
        return h_new if rows is None else h_new[rows]
    return f


def _add(grads: dict, name: str, g):
    if g is None:
        return
    g = g.detach()
    grads[name] = g.clone() if name not in grads else grads[name].add_(g)


class UpstreamBlockRTRL:
    """Block RTRL as upstream's ``BlockRTRL``: one sensitivity tensor [B, H, numel] per tracked
    parameter, the update restricted to the written rows and read columns it is given."""

    def __init__(self, params: dict, batch_size: int, H: int):
        self.params = params
        with torch.no_grad():
            self.P = {k: torch.zeros(batch_size, H, p.numel(), dtype=p.dtype, device=p.device)
                      for k, p in params.items()}
        self.grads: dict = {}
        self.last_jacobian_norm = None

    def reset(self):
        for P in self.P.values():
            P.zero_()
        self.grads = {}

    def state_bytes(self) -> int:
        return sum(P.numel() * P.element_size() for P in self.P.values())

    def step(self, model, x_t, h_t, loss, active: dict, read=None, write=None):
        named = dict(model.named_parameters())
        H = h_t.shape[1]
        read = list(range(H)) if read is None else read
        write_rows = None if write is None else write
        write = list(range(H)) if write is None else write
        if loss is not None:
            direct = torch.autograd.grad(loss, list(named.values()), retain_graph=True,
                                         allow_unused=True)
            for k, g in zip(named, direct):
                _add(self.grads, k, g)
            (dl_dh,) = torch.autograd.grad(loss, h_t)
            with torch.no_grad():
                for k, p in self.params.items():
                    g = torch.einsum("bh,bhn->bn", dl_dh, self.P[k]).mean(0)
                    _add(self.grads, k, g.view(p.shape))
        f = _written_rows(model, write_rows)
        # two transforms, as upstream: each runs the cell forward again
        J_h = vmap(jacrev(f, argnums=1), in_dims=(None, 0, 0))(active, h_t, x_t).detach()
        J_theta = vmap(jacrev(f, argnums=0), in_dims=(None, 0, 0))(active, h_t, x_t)
        J_theta = {k: v.detach().flatten(2) for k, v in J_theta.items()}
        self.last_jacobian_norm = torch.linalg.vector_norm(J_h).item()
        with torch.no_grad():
            J_wr = J_h[:, :, read]
            for k in self.params:
                P = self.P[k]
                P[:, write] = J_wr @ P[:, read]
                if k in J_theta:
                    P[:, write] += J_theta[k]
                self.P[k] = torch.nan_to_num(P, nan=0.0, posinf=0.0, neginf=0.0)


def train_py_sequence(model, learner: UpstreamBlockRTRL, x, y, routing: str = "train.py"
                      ) -> dict:
    """train.py's RTRL loop over one sequence ``x [B, T, d_in]``, loss at the last token with
    labels ``y [B]``; returns the gradient ``{name: tensor}`` it accumulated."""
    B, T = x.shape[:2]
    h = model.init_state(B).detach().requires_grad_()
    learner.reset()
    for t in range(T - 1):
        x_t = x[:, t:t + 1]
        _, h_next, route = model(x_t, h)
        active, write, read = upstream_routing(model, route, routing)
        learner.step(model, x_t, h, None, active, read, write)
        h = h_next.detach().requires_grad_()
    x_t = x[:, T - 1:]
    logits, _, route = model(x_t, h)
    active, write, read = upstream_routing(model, route, routing)
    loss = F.cross_entropy(logits, y)
    learner.step(model, x_t, h, loss, active, read, write)
    return learner.grads


# ---------------------------------------------------------------------------- the piece
def _ours_targets(y, T: int):
    yy = torch.full((y.shape[0], T), -100, dtype=torch.long)
    yy[:, -1] = y
    return yy


def _floor(ns_per_token: float) -> dict:
    """Our step's floor: its sensitivity update's FLOPs at this process's rate for one plain
    ``torch.bmm`` of the update's shape (the bench's probe, ``rtrl_moe.bench.timing``)."""
    from rtrl_moe.bench.timing import matmul_flops_per_s
    from rtrl_moe.flops import matmul_shape, sensitivity_update_flops
    from rtrl_moe.moe import MoEConfig
    cfg = MoEConfig(**DOCS_CONFIG)
    flops = sensitivity_update_flops(OURS, cfg, 1)
    shape = tuple(int(v) for v in matmul_shape(OURS, cfg, 1))
    probe = matmul_flops_per_s(shape, torch.float32, "cpu")
    floor_ns = flops / probe["matmul_flops_per_s"] * 1e9
    return {"sensitivity_flops_per_step": int(flops), "floor_ns_per_step": floor_ns,
            "floor_fraction": floor_ns / ns_per_token, **probe}


def upstream_rtrl_speed(seed: int, arch: str = "upstream", seq_len: int = 128, blocks: int = 5,
                        warmup: int = 1, model_cfg: dict | None = None, floor: bool = True
                        ) -> dict:
    """Per-token time of upstream's path and of our ``sparse-rtrl`` on one token stream.

    One block = one sequence of ``seq_len`` random one-hot tokens with a label at its last
    token (train.py's shape: SEQ_LEN 128, loss at the end), run by every arm in turn; the arms'
    order alternates per block so drift in machine load hits them alike. ``warmup`` blocks are
    untimed. Per-token time = the block's wall time / ``seq_len``; medians over the blocks.
    ``arch`` is the runner's switch and is not used: arm (a) is always upstream's cell, arm (b)
    always ours.
    """
    from rtrl_moe.learners import make_learner
    from rtrl_moe.moe import MoEConfig, RecurrentMoE
    from rtrl_moe.upstream import UpstreamConfig, UpstreamMoE

    cfg = dict(model_cfg or DOCS_CONFIG)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    up_model = UpstreamMoE(UpstreamConfig(**cfg, n_heads=2))
    our_model = RecurrentMoE(MoEConfig(**cfg))
    up = {arm: UpstreamBlockRTRL(tracked_params(up_model, t), 1, up_model.H)
          for arm, t in zip(UPSTREAM_ARMS, ("train.py", "state"))}
    ours = make_learner(OURS, our_model)

    def run(arm, x, y):
        if arm == OURS:
            ours.gradient(x, _ours_targets(y, seq_len))
        else:
            train_py_sequence(up_model, up[arm], x, y)

    arms = UPSTREAM_ARMS + (OURS,)
    times = {a: [] for a in arms}
    phases = dict.fromkeys(ours.PHASES, 0)
    phase_steps = 0
    load = [os.getloadavg()[0]]
    for b in range(warmup + blocks):
        x = one_hot(random_tokens(seq_len, cfg["d_in"], rng), cfg["d_in"])
        y = torch.tensor([rng.randrange(cfg["d_out"])])
        for arm in (arms if b % 2 == 0 else arms[::-1]):
            t0 = time.perf_counter_ns()
            run(arm, x, y)
            dt = time.perf_counter_ns() - t0
            if b >= warmup:
                times[arm].append(dt / seq_len)
                if arm == OURS:
                    for k in phases:
                        phases[k] += ours.phase_ns.get(k, 0)
                    phase_steps += ours.phase_ns.get("steps", 0)
        load.append(os.getloadavg()[0])
    med = {a: statistics.median(times[a]) for a in arms}
    fastest = min(UPSTREAM_ARMS, key=lambda a: med[a])
    out = {
        "seq_len": seq_len, "blocks": blocks, "warmup_blocks": warmup,
        "threads": torch.get_num_threads(),
        "ns_per_token": {a: times[a] for a in arms},
        "ms_per_token_median": {a: med[a] / 1e6 for a in arms},
        "ms_per_token_upstream": med["upstream-train-py"] / 1e6,
        "ms_per_token_upstream_state_only": med["upstream-state-only"] / 1e6,
        "ms_per_token_sparse_rtrl": med[OURS] / 1e6,
        "upstream_fastest_arm": fastest,
        "ratio": med[fastest] / med[OURS],
        "ratio_train_py": med["upstream-train-py"] / med[OURS],
        "target_ratio": TARGET_RATIO,
        # the schema's load_avg_1m is one number: the highest sample; the samples beside it
        "load_avg_1m": max(load), "load_avg_1m_max": max(load), "load_avg_1m_samples": load,
        "phase_ns_per_token_sparse_rtrl": ({k: v / phase_steps for k, v in phases.items()}
                                           if phase_steps else None),
        "state_bytes": {**{a: up[a].state_bytes() for a in UPSTREAM_ARMS},
                        OURS: ours.state_bytes()},
        "n_params_upstream": sum(p.numel() for p in up_model.parameters()),
        "n_tracked_upstream": {a: sum(p.numel() for p in up[a].params.values())
                               for a in UPSTREAM_ARMS},
        "n_state_params_ours": sum(p.numel() for n, p in our_model.named_parameters()
                                   if n in set(our_model.state_param_names())),
        "model_cfg": cfg, "upstream_repo": UPSTREAM_REPO, "upstream_commit": UPSTREAM_COMMIT,
        "jacobian_ours": getattr(ours, "jacobian", None),
    }
    if floor and cfg == DOCS_CONFIG:
        out.update(_floor(med[OURS]))
        # the most this comparison could show: upstream's faster arm over our step at its floor
        out["ratio_at_floor"] = med[fastest] / out["floor_ns_per_step"]
    return out
