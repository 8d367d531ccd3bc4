"""The Jacobians of :meth:`RecurrentMoE.transition`'s written rows, derived by hand.

torch.func builds them as one forward and a backward ``vmap``-ed over the ``|W|·d`` rows: on the
documents' model that is 5-6 ms a step on the CPU, most of it dispatching hundreds of small
batched ops, and 35-45% of a sparse RTRL step. Here the same numbers come from the transition's
backward written out once, with the rows as one more leading dimension of plain tensor ops
(about a hundred of them, each a small matmul or elementwise op over ``[B, R, ...]``).

:func:`forward` repeats the transition's ops one for one, so ``h_new`` and the routing are
bitwise those of ``model.transition``; it keeps what the backward needs. :func:`backward` takes
any cotangent ``G`` ([B, R, topk_write, d_model]) of the written slots and returns
``G · dh_new[W]/dh`` and ``G · dh_new[W]/dtheta``; the learners pass the identity basis, which
gives the Jacobians. J_theta is written straight into one flat ``[B, R, n]`` tensor in the
learner's column order, so the sensitivity update reads one operand per chunk.

This mirrors ``rtrl_moe/moe.py``: a change to the cell must change this file too. The tests
(tests/learners/test_moe_jacobian.py) compare both against torch.func in float64.
"""
from __future__ import annotations

import math
from types import SimpleNamespace
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F


def applies(model) -> bool:
    """Whether ``model`` is the cell this file derives (not a subclass that may change it)."""
    from ..moe import RecurrentMoE
    return type(model) is RecurrentMoE


def _pick(scores, k):
    idx = scores.topk(k, dim=-1).indices
    return idx, torch.softmax(scores.gather(-1, idx), dim=-1)


def _gather_slots(slots, idx):
    return slots.gather(1, idx.unsqueeze(-1).expand(-1, -1, slots.shape[-1]))


def _norm_stats(a, eps):
    """(normalised a, 1/std) of a layer norm over the last dimension."""
    mu = a.mean(-1, keepdim=True)
    rstd = torch.rsqrt(a.var(-1, unbiased=False, keepdim=True) + eps)
    return (a - mu) * rstd, rstd


def _norm_backward(d_n, n, rstd):
    """d a from d (normalised a): the layer norm's backward without its affine part."""
    return rstd * (d_n - d_n.mean(-1, keepdim=True) - n * (d_n * n).mean(-1, keepdim=True))


def forward(model, p: dict, x_t, h):
    """The transition with parameters ``p`` ({name: tensor}), keeping its intermediates."""
    cfg = model.cfg
    B = h.shape[0]
    slots = h.view(B, cfg.n_slots, cfg.d_model)
    xe = F.linear(x_t, p["in_proj.weight"], p["in_proj.bias"])
    xm = xe.mean(1)
    gr = F.linear(xm, p["read_gate.weight"])
    read_scores = (slots @ gr.unsqueeze(-1)).squeeze(-1)
    read, read_w = _pick(read_scores, cfg.topk_read)
    s_r = _gather_slots(slots, read)
    src = torch.cat([s_r, xe], dim=1)
    Q = F.linear(s_r, p["q.weight"])
    K = F.linear(src, p["k.weight"])
    V = F.linear(src, p["v.weight"])
    A = torch.softmax(Q @ K.transpose(1, 2) / math.sqrt(cfg.d_model), dim=-1)
    ctx = A @ V
    a1 = s_r + F.linear(ctx, p["o.weight"])
    u1 = F.layer_norm(a1, (cfg.d_model,), p["norm1.weight"], p["norm1.bias"],
                      model.norm1.eps)
    f = torch.tanh(F.linear(u1, p["ff1.weight"], p["ff1.bias"]))
    a2 = u1 + F.linear(f, p["ff2.weight"], p["ff2.bias"])
    u = F.layer_norm(a2, (cfg.d_model,), p["norm2.weight"], p["norm2.bias"], model.norm2.eps)
    pooled = (read_w.unsqueeze(-1) * u).sum(1)

    experts, expert_w = _pick(F.linear(pooled, p["expert_gate.weight"]), cfg.topk)
    mix = torch.zeros(B, cfg.n_experts, dtype=h.dtype, device=h.device).scatter(
        1, experts, expert_w)
    # Every expert runs, as in the cell, so that z is summed in the cell's order (bitwise).
    hidden, outs = [], []
    for e in range(cfg.n_experts):
        pre = f"experts.{e}."
        t = torch.tanh(F.linear(pooled, p[pre + "w1.weight"], p[pre + "w1.bias"]))
        hidden.append(t)
        outs.append(F.linear(t, p[pre + "w2.weight"], p[pre + "w2.bias"]))
    z = pooled + sum(mix[:, e:e + 1] * outs[e] for e in range(cfg.n_experts))

    wg = F.linear(z, p["write_gate.weight"])
    write_scores = (slots @ wg.unsqueeze(-1)).squeeze(-1)
    write, write_w = _pick(write_scores, cfg.topk_write)
    s_w = _gather_slots(slots, write)
    cand = torch.tanh(F.linear(s_w, p["cand_slot.weight"])
                      + F.linear(z, p["cand_mix.weight"], p["cand_mix.bias"]).unsqueeze(1))
    ww = write_w.unsqueeze(-1)
    new_w = (1 - ww) * s_w + ww * cand
    idx = write.unsqueeze(-1).expand(-1, -1, cfg.d_model)
    h_new = slots.scatter(1, idx, new_w).reshape(B, cfg.H)

    n1, rstd1 = _norm_stats(a1, model.norm1.eps)
    n2, rstd2 = _norm_stats(a2, model.norm2.eps)
    pick = experts.view(B, cfg.topk, 1)
    T = torch.stack(hidden, 1).gather(1, pick.expand(-1, -1, cfg.d_ff))     # [B, k, d_ff]
    Y = torch.stack(outs, 1).gather(1, pick.expand(-1, -1, cfg.d_model))    # [B, k, d]
    return SimpleNamespace(
        h_new=h_new, read=read, write=write, experts=experts, x=x_t, xm=xm, gr=gr,
        read_w=read_w, s_r=s_r, src=src, Q=Q, K=K, V=V, A=A, ctx=ctx, n1=n1, rstd1=rstd1, u1=u1,
        f=f, n2=n2, rstd2=rstd2, u=u, pooled=pooled, expert_w=expert_w, T=T, Y=Y, z=z, wg=wg,
        write_w=write_w, s_w=s_w, cand=cand)


def _softmax_backward(d_w, w):
    """d scores from d weights of a softmax whose output is ``w`` ([B, k], rows broadcast)."""
    w = w.unsqueeze(1)
    return w * (d_w - (d_w * w).sum(-1, keepdim=True))


class ParamJacobian:
    """Where J_theta goes: one flat ``[B, R, n]`` tensor over ``names`` in order, and each
    parameter's :class:`Block` (how :func:`fill` builds it), resolved once here rather than
    per step.

    An expert's parameters are in the columns whole or not at all; when only some experts are
    (``partial``), a step that selects another one is an error (:func:`check_experts`).
    """

    def __init__(self, model, names, params):
        cfg = model.cfg
        self.names = list(names)
        self.offset, at = {}, 0
        for n in self.names:
            self.offset[n] = (at, params[n].numel())
            at += params[n].numel()
        self.n = at
        self.blocks = {n: block_of(n, tuple(params[n].shape)) for n in self.names}
        parts = [f"{part}.{kind}" for part in ("w1", "w2") for kind in ("weight", "bias")]
        self.missing = set()
        for e in range(cfg.n_experts):
            present = [f"experts.{e}.{q}" in self.offset for q in parts]
            if any(present) and not all(present):
                raise ValueError(f"expert {e}'s parameters are only partly in the columns")
            if not any(present):
                self.missing.add(e)
        #: some experts in the columns and some not: the only layout check_experts can fail on
        self.partial = 0 < len(self.missing) < cfg.n_experts

    def block(self, flat, name):
        at, size = self.offset[name]
        return flat[:, :, at:at + size]


#: how each parameter's block of J_theta is built from the factors (:func:`factors`):
#: ``("outer", u, x)``: u [B, R, o] ⊗ x [B, i];  ``("sum", u, x)``: the sum over m input rows of
#: u [B, R, m, o] ⊗ x [B, m, i];  ``("dense", v)``: v [B, R, *shape] itself.
CORE_PIECES = {
    "in_proj.weight": ("sum", "d_xe", "x"), "in_proj.bias": ("dense", "in_proj.bias"),
    "read_gate.weight": ("outer", "d_gr", "xm"),
    "q.weight": ("sum", "d_Q", "s_r"), "k.weight": ("sum", "d_K", "src"),
    "v.weight": ("sum", "d_V", "src"), "o.weight": ("sum", "d_a1", "ctx"),
    "norm1.weight": ("dense", "norm1.weight"), "norm1.bias": ("dense", "norm1.bias"),
    "ff1.weight": ("sum", "d_fp", "u1"), "ff1.bias": ("dense", "ff1.bias"),
    "ff2.weight": ("sum", "d_a2", "f"), "ff2.bias": ("dense", "ff2.bias"),
    "norm2.weight": ("dense", "norm2.weight"), "norm2.bias": ("dense", "norm2.bias"),
    "expert_gate.weight": ("dense", "expert_gate.weight"),
    "write_gate.weight": ("outer", "d_wg", "z"),
    "cand_slot.weight": ("sum", "d_pre", "s_w"),
    "cand_mix.weight": ("outer", "d_cm", "z"), "cand_mix.bias": ("dense", "d_cm"),
}
#: an expert's parameters, from its selected position j: (kind, factor of [B, R, k, o], input)
EXPERT_PIECES = {"w1.weight": ("outer", "d_tp", "pooled"), "w1.bias": ("dense", "d_tp", None),
                 "w2.weight": ("outer", "d_ye", "T"), "w2.bias": ("dense", "d_ye", None)}


class Block(NamedTuple):
    """How one state parameter's block of J_theta is built: ``kind``, ``factor`` and ``input``
    (:data:`CORE_PIECES`, :data:`EXPERT_PIECES`), ``expert`` (None or e), the parameter's
    ``shape``, and ``step``: a chunk of its columns must be a multiple of it (whole rows of a
    weight, so :func:`fill` builds it as one product)."""
    kind: str
    factor: str
    input: Optional[str]
    expert: Optional[int]
    shape: tuple
    step: int


def block_of(name: str, shape: tuple) -> Block:
    """One state parameter's :class:`Block` (a string split: resolve it once, not per step)."""
    if name.startswith("experts."):
        _, e, part = name.split(".", 2)
        kind, u, x = EXPERT_PIECES[part]
        expert = int(e)
    else:
        kind, u, *rest = CORE_PIECES[name]
        x, expert = (rest[0] if rest else None), None
    return Block(kind, u, x, expert, tuple(shape), 1 if kind == "dense" else shape[1])


def factors(model, p: dict, fw, G, want=None):
    """``G · dh_new[W]/dh`` ([B, R, H]) and the factors of ``G · dh_new[W]/dtheta``.

    J_theta's weight blocks are outer products of a cotangent and the layer's input, so they
    are returned as those two factors ({name: tensor}; :data:`CORE_PIECES`, :data:`EXPERT_PIECES`
    say which belong to which parameter) and never written out: :func:`fill` builds any column
    range of one example when the sensitivity update needs it. ``G``: [B, R, topk_write, d].
    ``want`` (None: all): the state parameters whose factors are needed; the rest are skipped.
    Pure tensor ops with no host synchronisation, so ``torch.compile`` can take it whole."""
    cfg = model.cfg
    B, R = G.shape[:2]
    d = cfg.d_model
    need = (lambda name: True) if want is None else (lambda name: name in want)
    F_: dict = {"x": fw.x, "xm": fw.xm, "s_r": fw.s_r, "src": fw.src, "ctx": fw.ctx,
                "u1": fw.u1, "f": fw.f, "z": fw.z, "s_w": fw.s_w, "pooled": fw.pooled, "T": fw.T}

    # new_w = (1 - ww) s_w + ww cand,  cand = tanh(s_w Wcs^T + z Wcm^T + bcm)
    ww = fw.write_w[:, None, :, None]
    d_ww = (G * (fw.cand - fw.s_w).unsqueeze(1)).sum(-1)                  # [B, R, kw]
    d_s_w = G * (1 - ww)
    d_pre = G * ww * (1 - fw.cand * fw.cand).unsqueeze(1)                  # [B, R, kw, d]
    F_["d_pre"] = d_pre
    d_s_w = d_s_w + d_pre @ p["cand_slot.weight"]
    d_cm = d_pre.sum(2)                  # [B, R, d]
    F_["d_cm"] = d_cm
    d_z = d_cm @ p["cand_mix.weight"]

    # write weights: softmax over the selected scores s_w[i] . wg,  wg = z Wwg^T
    d_ws = _softmax_backward(d_ww, fw.write_w)                            # [B, R, kw]
    d_s_w = d_s_w + d_ws.unsqueeze(-1) * fw.wg[:, None, None, :]
    d_wg = torch.einsum("bri,bid->brd", d_ws, fw.s_w)  # [B, R, d]
    F_["d_wg"] = d_wg
    d_z = d_z + d_wg @ p["write_gate.weight"]

    # z = pooled + sum_j ew_j y_j over the selected experts, y = W2 tanh(W1 pooled + b1) + b2
    d_pooled = d_z
    d_ew = torch.einsum("brd,bkd->brk", d_z, fw.Y)                      # [B, R, k]
    d_y = fw.expert_w[:, None, :, None] * d_z.unsqueeze(2)                 # [B, R, k, d]
    W1 = torch.stack([p[f"experts.{e}.w1.weight"] for e in range(cfg.n_experts)])
    W2 = torch.stack([p[f"experts.{e}.w2.weight"] for e in range(cfg.n_experts)])
    W1 = W1[fw.experts]                                                    # [B, k, d_ff, d]
    W2 = W2[fw.experts]                                                    # [B, k, d, d_ff]
    d_t = (d_y.transpose(1, 2) @ W2).transpose(1, 2)                       # [B, R, k, d_ff]
    d_tp = d_t * (1 - fw.T * fw.T).unsqueeze(1)
    F_["d_tp"], F_["d_ye"] = d_tp, d_y
    d_pooled = d_pooled + torch.einsum("brjf,bjfd->brd", d_tp, W1)

    # expert weights: softmax over the selected scores Weg[e_j] . pooled
    d_es = _softmax_backward(d_ew, fw.expert_w)                           # [B, R, k]
    Weg = p["expert_gate.weight"][fw.experts]                              # [B, k, d]
    if need("expert_gate.weight"):
        J = torch.zeros(B, R, cfg.n_experts, d, dtype=G.dtype, device=G.device)
        F_["expert_gate.weight"] = J.scatter_add(
            2, fw.experts[:, None, :, None].expand(-1, R, -1, d),
            d_es.unsqueeze(-1) * fw.pooled[:, None, None, :])
    d_pooled = d_pooled + torch.einsum("brj,bjd->brd", d_es, Weg)

    # pooled = sum_j rw_j u_j;  u = LN2(a2);  a2 = u1 + ff2(tanh(ff1(u1)));  u1 = LN1(a1)
    d_rw = torch.einsum("brd,bjd->brj", d_pooled, fw.u)                 # [B, R, kr]
    d_u = fw.read_w[:, None, :, None] * d_pooled.unsqueeze(2)              # [B, R, kr, d]
    if need("norm2.weight"):
        F_["norm2.weight"] = (d_u * fw.n2.unsqueeze(1)).sum(2)
    if need("norm2.bias"):
        F_["norm2.bias"] = d_u.sum(2)
    d_a2 = _norm_backward(d_u * p["norm2.weight"], fw.n2.unsqueeze(1), fw.rstd2.unsqueeze(1))
    F_["d_a2"] = d_a2
    if need("ff2.bias"):
        F_["ff2.bias"] = d_a2.sum(2)
    d_fp = (d_a2 @ p["ff2.weight"]) * (1 - fw.f * fw.f).unsqueeze(1)
    F_["d_fp"] = d_fp
    if need("ff1.bias"):
        F_["ff1.bias"] = d_fp.sum(2)
    d_u1 = d_a2 + d_fp @ p["ff1.weight"]
    if need("norm1.weight"):
        F_["norm1.weight"] = (d_u1 * fw.n1.unsqueeze(1)).sum(2)
    if need("norm1.bias"):
        F_["norm1.bias"] = d_u1.sum(2)
    d_a1 = _norm_backward(d_u1 * p["norm1.weight"], fw.n1.unsqueeze(1), fw.rstd1.unsqueeze(1))
    F_["d_a1"] = d_a1

    # a1 = s_r + o(A V),  A = softmax(Q K^T / sqrt(d)),  Q = q(s_r), K/V = k/v([s_r; xe])
    d_s_r = d_a1
    d_ctx = d_a1 @ p["o.weight"]
    A = fw.A.unsqueeze(1)
    d_A = d_ctx @ fw.V.transpose(1, 2).unsqueeze(1)                        # [B, R, kr, kr+c]
    d_V = A.transpose(-1, -2) @ d_ctx                                      # [B, R, kr+c, d]
    scale = 1.0 / math.sqrt(d)
    d_S = A * (d_A - (d_A * A).sum(-1, keepdim=True)) * scale
    d_Q = d_S @ fw.K.unsqueeze(1)
    d_K = d_S.transpose(-1, -2) @ fw.Q.unsqueeze(1)
    F_["d_Q"], F_["d_K"], F_["d_V"] = d_Q, d_K, d_V
    d_src = d_K @ p["k.weight"] + d_V @ p["v.weight"]
    kr = cfg.topk_read
    d_s_r = d_s_r + d_Q @ p["q.weight"] + d_src[:, :, :kr]
    d_xe = d_src[:, :, kr:]                                                # [B, R, c, d]

    # read weights: softmax over the selected scores s_r[j] . gr,  gr = read_gate(mean(xe))
    d_rs = _softmax_backward(d_rw, fw.read_w)                             # [B, R, kr]
    d_s_r = d_s_r + d_rs.unsqueeze(-1) * fw.gr[:, None, None, :]
    d_gr = torch.einsum("brj,bjd->brd", d_rs, fw.s_r)  # [B, R, d]
    F_["d_gr"] = d_gr
    d_xe = d_xe + (d_gr @ p["read_gate.weight"]).unsqueeze(2) / fw.x.shape[1]
    F_["d_xe"] = d_xe
    if need("in_proj.bias"):
        F_["in_proj.bias"] = d_xe.sum(2)

    # the state: only the read and the written slots reach h_new[W]
    J_h = torch.zeros(B, R, cfg.n_slots, d, dtype=G.dtype, device=G.device)
    J_h = J_h.scatter_add(2, fw.read[:, None, :, None].expand(-1, R, -1, d), d_s_r)
    J_h = J_h.scatter_add(2, fw.write[:, None, :, None].expand(-1, R, -1, d), d_s_w)
    return J_h.view(B, R, cfg.H), F_


def expert_positions(experts: torch.Tensor, n_experts: int) -> list[list[int]]:
    """``[b][e]``: where expert e sits among example b's selected experts, -1 if not selected
    (one host read of the routing per step)."""
    out = []
    for row in experts.tolist():
        pos = [-1] * n_experts
        for j, e in enumerate(row):
            pos[e] = j
        out.append(pos)
    return out


def fill(block: Block, F_: dict, b: int, a: int, z: int, dst, where=None) -> None:
    """Columns ``[a, z)`` of a parameter's block of J_theta (its :class:`Block`) for example
    ``b``, into ``dst`` ([R, z - a], any strides). A weight's range must cover whole rows of it
    (``SparseRTRL``'s chunk plan keeps to that). ``where``: :func:`expert_positions`' row b,
    needed for the experts' blocks; an unselected expert's block is zero."""
    kind, u, x, e, shape, _ = block
    R = dst.shape[0]
    if e is not None:
        j = where[e]
        if j < 0:
            dst.zero_()
            return
        fu = F_[u][b, :, j]                                   # [R, o]
        fx = None if x is None else F_[x][b, j] if x == "T" else F_[x][b]
    else:
        fu = F_[u][b]
        fx = None if x is None else F_[x][b]
    if kind == "dense":
        dst.copy_(fu.reshape(R, -1)[:, a:z])
        return
    i = shape[1]
    o0, o1 = a // i, z // i
    if kind == "outer":
        torch.mul(fu[:, o0:o1, None], fx[None, None, :], out=dst.view(R, o1 - o0, i))
        return
    # "sum": sum over the m input rows, one matmul: [R * oc, m] @ [m, i]
    lhs = fu[:, :, o0:o1].transpose(1, 2).reshape(R * (o1 - o0), -1)
    if dst.is_contiguous():
        torch.mm(lhs, fx, out=dst.view(R * (o1 - o0), i))
    else:
        dst.copy_(torch.mm(lhs, fx).view(R, -1))


def backward(model, p: dict, fw, G, layout: ParamJacobian, out: torch.Tensor):
    """``G · dh_new[W]/dh`` ([B, R, H]) and, written into ``out`` ([B, R, layout.n]), ``G ·
    dh_new[W]/dtheta`` for ``layout.names``: :func:`factors` with every block filled in (dense
    RTRL, SnAp and the tests want J_theta whole)."""
    J_h, F_ = factors(model, p, fw, G, set(layout.names))
    materialise(model, p, layout, F_, fw.experts, out)
    return J_h


def materialise(model, p: dict, layout: ParamJacobian, F_: dict, experts, out) -> None:
    """Every block of ``layout.names`` into ``out`` ([B, R, layout.n])."""
    where = expert_positions(experts, model.cfg.n_experts)
    check_experts(layout, where)
    for b in range(out.shape[0]):
        for name in layout.names:
            at, size = layout.offset[name]
            fill(layout.blocks[name], F_, b, 0, size, out[b, :, at:at + size], where[b])


def check_experts(layout: ParamJacobian, where) -> None:
    """A selected expert must have its columns in the layout (or J_theta would be wrong); only
    a ``partial`` layout can fail this, so on any other it costs nothing."""
    if not layout.partial:
        return
    for row in where:
        for e, j in enumerate(row):
            if j >= 0 and e in layout.missing:
                raise ValueError(f"expert {e} was selected but its parameters are not in the "
                                 "columns")


class LazyJacobian:
    """J_theta[W] of one step as :func:`factors`' factors, built chunk by chunk by the sparse
    update (``sparse_rtrl``) into its product's output. ``pieces``: a chunk's consecutive
    column ranges ``(name, from, to, Block)``."""

    def __init__(self, factors: dict, experts, n_experts: int):
        self.factors = factors
        self.where = expert_positions(experts, n_experts)

    def zero(self, b: int, pieces) -> bool:
        """Whether every piece is an expert example b did not select (the block is zero)."""
        where = self.where[b]
        for piece in pieces:
            e = piece[3].expert
            if e is None or where[e] >= 0:
                return False
        return True

    def fill(self, b: int, pieces, out) -> None:
        """Example b's block of ``pieces`` into ``out`` [R, w]."""
        if len(pieces) == 1:
            _, a, z, block = pieces[0]
            fill(block, self.factors, b, a, z, out, self.where[b])
            return
        at = 0
        for _, a, z, block in pieces:
            fill(block, self.factors, b, a, z, out[:, at:at + z - a], self.where[b])
            at += z - a


def basis(model, batch_size: int, like: torch.Tensor) -> torch.Tensor:
    """The identity cotangent over the written rows: [B, kw·d, kw, d]."""
    cfg = model.cfg
    R = cfg.topk_write * cfg.d_model
    eye = torch.eye(R, dtype=like.dtype, device=like.device)
    return eye.view(1, R, cfg.topk_write, cfg.d_model).expand(batch_size, -1, -1, -1)
