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


def _outer(a, b):
    """[..., m] x [B, n] -> [..., m, n] with b broadcast over the rows (dimension 1)."""
    return a.unsqueeze(-1) * b.unsqueeze(1).unsqueeze(-2)


def _softmax_backward(d_w, w):
    """d scores from d weights of a softmax whose output is ``w`` ([B, k], rows broadcast)."""
    w = w.unsqueeze(1)
    return w * (d_w - (d_w * w).sum(-1, keepdim=True))


class ParamJacobian:
    """Where J_theta goes: one flat ``[B, R, n]`` tensor over ``names`` in order.

    The experts' columns must be whole experts, each laid out as expert 0's (the learners' order
    is); an expert the step did not use gets zero columns without a host round trip.
    """

    def __init__(self, model, names, params):
        cfg = model.cfg
        self.names = list(names)
        self.offset, at = {}, 0
        for n in self.names:
            self.offset[n] = (at, params[n].numel())
            at += params[n].numel()
        self.n = at
        self.expert_parts = [f"{part}.{kind}" for part in ("w1", "w2")
                             for kind in ("weight", "bias")]
        per = [params[f"experts.0.{q}"].numel() for q in self.expert_parts]
        self.per_expert = sum(per)
        blocks = []
        for e in range(cfg.n_experts):
            own = [f"experts.{e}.{q}" for q in self.expert_parts]
            present = [o in self.offset for o in own]
            if not all(present):
                if any(present):
                    raise ValueError(f"expert {e}'s parameters are only partly in the columns")
                continue
            start = self.offset[own[0]][0]
            expect = start
            for o, size in zip(own, per):
                if self.offset[o][0] != expect:
                    raise ValueError(f"expert {e}'s parameters are not one run of columns")
                expect += size
            blocks.append((e, start))
        if blocks:
            starts = [s for _, s in blocks]
            if starts != list(range(starts[0], starts[0] + self.per_expert * len(starts),
                                    self.per_expert)):
                raise ValueError("the experts' columns are not one run, expert after expert")
            self.expert_start = starts[0]
        self.n_blocks = len(blocks)
        # position of each expert's block among the blocks (n_blocks: not in the columns)
        self.position = torch.full((cfg.n_experts,), len(blocks), dtype=torch.long)
        for i, (e, _) in enumerate(blocks):
            self.position[e] = i

    def block(self, flat, name):
        at, size = self.offset[name]
        return flat[:, :, at:at + size]


def backward(model, p: dict, fw, G, layout: ParamJacobian, out: torch.Tensor):
    """``G · dh_new[W]/dh`` ([B, R, H]) and, into ``out`` ([B, R, layout.n]), ``G ·
    dh_new[W]/dtheta`` for ``layout.names``. ``G``: [B, R, topk_write, d_model]."""
    cfg = model.cfg
    B, R = G.shape[:2]
    d = cfg.d_model
    want = layout.offset

    def put(name, value):
        if name in want:
            layout.block(out, name).view(B, R, *p[name].shape).copy_(value)

    def put_outer(name, d_y, x):
        """A linear layer's weight from a 2-d input: d_y ⊗ x ([B, R, o] and [B, i])."""
        if name in want:
            torch.mul(d_y.unsqueeze(-1), x[:, None, None, :],
                      out=layout.block(out, name).view(B, R, *p[name].shape))

    def put_matmul(name, d_y, x):
        """A linear layer's weight from a 3-d input: the sum over its m input rows of
        d_y ⊗ x ([B, R, m, o] and [B, m, i] -> [B, R, o, i]), as one matmul per example."""
        if name in want:
            o, i = p[name].shape
            m = x.shape[1]
            prod = torch.bmm(d_y.transpose(-1, -2).reshape(B, R * o, m), x)
            layout.block(out, name).copy_(prod.view(B, R, o * i))

    # new_w = (1 - ww) s_w + ww cand,  cand = tanh(s_w Wcs^T + z Wcm^T + bcm)
    ww = fw.write_w[:, None, :, None]
    d_ww = (G * (fw.cand - fw.s_w).unsqueeze(1)).sum(-1)                  # [B, R, kw]
    d_s_w = G * (1 - ww)
    d_pre = G * ww * (1 - fw.cand * fw.cand).unsqueeze(1)                  # [B, R, kw, d]
    put_matmul("cand_slot.weight", d_pre, fw.s_w)
    d_s_w = d_s_w + d_pre @ p["cand_slot.weight"]
    d_cm = d_pre.sum(2)                  # [B, R, d]
    put_outer("cand_mix.weight", d_cm, fw.z)
    put("cand_mix.bias", d_cm)
    d_z = d_cm @ p["cand_mix.weight"]

    # write weights: softmax over the selected scores s_w[i] . wg,  wg = z Wwg^T
    d_ws = _softmax_backward(d_ww, fw.write_w)                            # [B, R, kw]
    d_s_w = d_s_w + d_ws.unsqueeze(-1) * fw.wg[:, None, None, :]
    d_wg = torch.einsum("bri,bid->brd", d_ws, fw.s_w)  # [B, R, d]
    put_outer("write_gate.weight", d_wg, fw.z)
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
    d_pooled = d_pooled + torch.einsum("brjf,bjfd->brd", d_tp, W1)
    if layout.n_blocks:
        _put_experts(layout, out, fw, d_tp, d_y)

    # expert weights: softmax over the selected scores Weg[e_j] . pooled
    d_es = _softmax_backward(d_ew, fw.expert_w)                           # [B, R, k]
    Weg = p["expert_gate.weight"][fw.experts]                              # [B, k, d]
    if "expert_gate.weight" in want:
        J = torch.zeros(B, R, cfg.n_experts, d, dtype=G.dtype, device=G.device)
        J.scatter_add_(2, fw.experts[:, None, :, None].expand(-1, R, -1, d),
                       d_es.unsqueeze(-1) * fw.pooled[:, None, None, :])
        put("expert_gate.weight", J)
    d_pooled = d_pooled + torch.einsum("brj,bjd->brd", d_es, Weg)

    # pooled = sum_j rw_j u_j;  u = LN2(a2);  a2 = u1 + ff2(tanh(ff1(u1)));  u1 = LN1(a1)
    d_rw = torch.einsum("brd,bjd->brj", d_pooled, fw.u)                 # [B, R, kr]
    d_u = fw.read_w[:, None, :, None] * d_pooled.unsqueeze(2)              # [B, R, kr, d]
    put("norm2.weight", (d_u * fw.n2.unsqueeze(1)).sum(2))
    put("norm2.bias", d_u.sum(2))
    d_a2 = _norm_backward(d_u * p["norm2.weight"], fw.n2.unsqueeze(1), fw.rstd2.unsqueeze(1))
    put_matmul("ff2.weight", d_a2, fw.f)
    put("ff2.bias", d_a2.sum(2))
    d_fp = (d_a2 @ p["ff2.weight"]) * (1 - fw.f * fw.f).unsqueeze(1)
    put_matmul("ff1.weight", d_fp, fw.u1)
    put("ff1.bias", d_fp.sum(2))
    d_u1 = d_a2 + d_fp @ p["ff1.weight"]
    put("norm1.weight", (d_u1 * fw.n1.unsqueeze(1)).sum(2))
    put("norm1.bias", d_u1.sum(2))
    d_a1 = _norm_backward(d_u1 * p["norm1.weight"], fw.n1.unsqueeze(1), fw.rstd1.unsqueeze(1))

    # a1 = s_r + o(A V),  A = softmax(Q K^T / sqrt(d)),  Q = q(s_r), K/V = k/v([s_r; xe])
    d_s_r = d_a1
    put_matmul("o.weight", d_a1, fw.ctx)
    d_ctx = d_a1 @ p["o.weight"]
    A = fw.A.unsqueeze(1)
    d_A = d_ctx @ fw.V.transpose(1, 2).unsqueeze(1)                        # [B, R, kr, kr+c]
    d_V = A.transpose(-1, -2) @ d_ctx                                      # [B, R, kr+c, d]
    scale = 1.0 / math.sqrt(d)
    d_S = A * (d_A - (d_A * A).sum(-1, keepdim=True)) * scale
    d_Q = d_S @ fw.K.unsqueeze(1)
    d_K = d_S.transpose(-1, -2) @ fw.Q.unsqueeze(1)
    put_matmul("q.weight", d_Q, fw.s_r)
    put_matmul("k.weight", d_K, fw.src)
    put_matmul("v.weight", d_V, fw.src)
    d_src = d_K @ p["k.weight"] + d_V @ p["v.weight"]
    kr = cfg.topk_read
    d_s_r = d_s_r + d_Q @ p["q.weight"] + d_src[:, :, :kr]
    d_xe = d_src[:, :, kr:]                                                # [B, R, c, d]

    # read weights: softmax over the selected scores s_r[j] . gr,  gr = read_gate(mean(xe))
    d_rs = _softmax_backward(d_rw, fw.read_w)                             # [B, R, kr]
    d_s_r = d_s_r + d_rs.unsqueeze(-1) * fw.gr[:, None, None, :]
    d_gr = torch.einsum("brj,bjd->brd", d_rs, fw.s_r)  # [B, R, d]
    put_outer("read_gate.weight", d_gr, fw.xm)
    d_xe = d_xe + (d_gr @ p["read_gate.weight"]).unsqueeze(2) / fw.x.shape[1]
    put_matmul("in_proj.weight", d_xe, fw.x)
    put("in_proj.bias", d_xe.sum(2))

    # the state: only the read and the written slots reach h_new[W]
    J_h = torch.zeros(B, R, cfg.n_slots, d, dtype=G.dtype, device=G.device)
    J_h.scatter_add_(2, fw.read[:, None, :, None].expand(-1, R, -1, d), d_s_r)
    J_h.scatter_add_(2, fw.write[:, None, :, None].expand(-1, R, -1, d), d_s_w)
    return J_h.view(B, R, cfg.H)


def _put_experts(layout: ParamJacobian, out, fw, d_tp, d_y):
    """Each example's selected experts' columns, and zeros in its other experts' columns.
    Per selected expert j: [w1.weight | w1.bias | w2.weight | w2.bias], as in the columns."""
    B, R, k = d_tp.shape[:3]
    region = out[:, :, layout.expert_start:
                 layout.expert_start + layout.n_blocks * layout.per_expert]
    region = region.view(B, R, layout.n_blocks, layout.per_expert)
    position = layout.position.tolist()
    chosen = fw.experts.tolist()
    d_ff, d = fw.T.shape[-1], d_y.shape[-1]
    sizes = (d_ff * d, d_ff, d * d_ff, d)
    for b in range(B):
        used = set()
        for j, e in enumerate(chosen[b]):
            at = position[e]
            if at >= layout.n_blocks:
                raise ValueError(f"expert {e} was selected but its parameters are not in the "
                                 "columns")
            used.add(at)
            w1, b1, w2, b2 = region[b, :, at].split(sizes, dim=-1)
            torch.mul(d_tp[b, :, j, :, None], fw.pooled[b, None, None, :],
                      out=w1.view(R, d_ff, d))
            b1.copy_(d_tp[b, :, j])
            torch.mul(d_y[b, :, j, :, None], fw.T[b, j, None, None, :], out=w2.view(R, d, d_ff))
            b2.copy_(d_y[b, :, j])
        for at in range(layout.n_blocks):
            if at not in used:
                region[b, :, at].zero_()


def basis(model, batch_size: int, like: torch.Tensor) -> torch.Tensor:
    """The identity cotangent over the written rows: [B, kw·d, kw, d]."""
    cfg = model.cfg
    R = cfg.topk_write * cfg.d_model
    eye = torch.eye(R, dtype=like.dtype, device=like.device)
    return eye.view(1, R, cfg.topk_write, cfg.d_model).expand(batch_size, -1, -1, -1)
