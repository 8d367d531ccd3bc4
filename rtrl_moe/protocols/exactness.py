"""Does the documents' RTRL give BPTT's gradient on the documents' own model?

What upstream (jmCabrillana/rtrl_moe) checked, as read (none of it run here):

* ``rtrl_block.py`` (``BlockRTRL.step``, 63335ac .. 8fbb3a3) is the documents' RTRL. Per step it
  takes torch.func's Jacobians of the *written* elements of the new state, ``J_h[W, :]`` and
  ``J_theta[W]`` for the gate's active parameters, and updates the sensitivity of every state
  parameter as ``P[W] = J_h[W, R] P[R] + J_theta[W]`` (``R`` the elements of the read gate's
  slots), leaving the rows of unwritten slots as they were. Parameters that are not active this
  step either get the same product without ``J_theta`` (63335ac) or are skipped and caught up
  later from the segment tree (81120cf); both aim at the same product, which we take directly.
  The scripts call it with ``read`` and ``write`` from ``get_expert_latent_activated`` (the
  gate's picks); ``read = write = None`` (every element) is ``test_sparse_read_write.py``'s
  "FULL" arm. At the step that carries the loss the gradient is assembled as autograd's
  gradient of the loss through that last call (output block and last transition) plus
  ``dL/dh_{t-1} . P``, where ``P`` has *already* been advanced to ``dh_t/dtheta``: the product
  pairs the gradient at the previous state with the sensitivity of the new one.
* ``debug_gradients.py`` (7f2998d, Test 3) is the only script that compares RTRL's gradient
  with BPTT's: one a^n b^m sequence (n, m in 1..3) on a d_model-32, 4-slot, 4-expert, top-2
  model with d_in = d_out = 2, float32, seed 42; BPTT one token per call; it *prints* each
  parameter's two norms and their cosine, with no tolerance and no verdict. It calls an older
  ``BlockRTRL(model=...)`` / ``step(h_t, active_params, write_idx)`` interface that none of the
  stored ``rtrl_block.py`` versions has (read, not run).
* ``test_rtrl_vs_bptt.py``, ``test_sparse_latent_rtrl.py`` (81120cf) compare accuracy and loss
  after 100 / 50 training sequences (their "BPTT" arm is one call over the whole sequence, a
  different graph); ``test_sparse_read_write.py`` times sparse against full indices on random
  one-hot tokens (vocabulary 8, d_out 4, 32 tokens). None compares gradients.

So the documents never measured the exactness they state. This piece does, on upstream's cell
(``protocol_model(arch, ...)``, the scripts' configuration: d_model 32, 2 heads, 4 slots,
4 experts, top-2, read 2, write 2, d_in 8, d_out 4) with ``test_sparse_read_write.py``'s inputs
(random one-hot tokens; the loss at the last token, its label drawn at random), fixed
parameters, one sequence per length, float64 with float32 beside. Every arm steps the same
parameters from the same initial state one token per call, so every arm sees the same routing.
Arms: our learners ``rtrl`` (the dense recursion ``P_t = J_h P_{t-1} + J_theta``),
``sparse-rtrl-readonly`` (the documents' formula, our learner), ``sparse-rtrl`` (ours, columns
R u W); and the documents' step restated here (our code, not upstream's): ``blockrtrl-sparse``
(the gate's indices) and ``blockrtrl-full`` (every index), both with the documents' gradient
assembly, and ``blockrtrl-full-fixed``, the full recursion with the previous step's ``P`` in the
last product, which must equal BPTT (it checks the restatement). Figures per arm, length and
dtype: relative L2 error of the whole gradient against ``bptt``'s, max abs error, cosine, and
the worst parameter tensor. ``script`` re-runs debug_gradients.py's own comparison (its model,
its task, per-parameter cosines) on each arm.
"""
from __future__ import annotations

import copy
import math
import random
import time

import torch
import torch.nn.functional as F
from torch.func import functional_call, jacrev

from .haystack import HAYSTACK_MOE, jacobian_kwargs
from .models import model_info, protocol_model

#: behaviour versions of the pieces this module computes (rtrl_moe/records/versions.py)
VERSIONS = {"protocol.upstream_exactness": 1}

#: the scripts' model (test_sparse_read_write.py / test_rtrl_vs_bptt.py, 81120cf)
DOCS_MOE = dict(HAYSTACK_MOE, topk_read=2, topk_write=2)
#: debug_gradients.py's model: the same cell on a^n b^m (two one-hot symbols, two classes)
DEBUG_MOE = dict(DOCS_MOE, d_in=2, d_out=2)
LEARNERS = ("rtrl", "sparse-rtrl-readonly", "sparse-rtrl")
DOCUMENTS = ("blockrtrl-sparse", "blockrtrl-full", "blockrtrl-full-fixed")
LENGTHS = (1, 4, 16, 64)
DTYPES = ("float64", "float32")
#: a parameter whose BPTT gradient is below this share of the whole gradient's norm has no
#: meaningful relative error (e.g. state_ln_slot.bias: the write softmax ignores a shift, so
#: its gradient is rounding); float32's rounding is 10^8 times float64's, hence per dtype
TINY = {torch.float64: 1e-12, torch.float32: 1e-4}
WORST_KEPT = 3


# ------------------------------------------------------------------------------ comparison
def compare(got: dict, ref: dict, names) -> dict:
    """Agreement of a gradient ``got`` with ``ref`` (``{name: tensor}``; a missing name is
    zero): whole-vector relative L2 error, max abs error, cosine, and the worst tensors."""
    def pair(n):
        a, b = got.get(n), ref.get(n)
        a = torch.zeros_like(b) if a is None else a
        b = torch.zeros_like(a) if b is None else b
        return a.detach().double().flatten(), b.detach().double().flatten()

    pairs = [pair(n) for n in names]
    g = torch.cat([a for a, _ in pairs])
    r = torch.cat([b for _, b in pairs])
    scale = float(r.norm())
    tiny = TINY.get(next(iter(ref.values())).dtype, TINY[torch.float64])
    diff = g - r
    worst, tiny_abs = [], 0.0
    at = 0
    for n, (a, _) in zip(names, pairs):
        k = a.numel()
        rn, dn = float(r[at:at + k].norm()), float(diff[at:at + k].norm())
        if rn <= tiny * scale:
            tiny_abs = max(tiny_abs, dn / scale if scale else dn)
        else:
            worst.append((dn / rn, n))
        at += k
    worst.sort(reverse=True)
    denom = float(g.norm()) * scale
    return {"rel_err": float(diff.norm()) / scale if scale else math.nan,
            "max_abs_err": float(diff.abs().max()),
            "cosine": float(g @ r) / denom if denom else math.nan,
            "grad_norm": float(g.norm()), "bptt_norm": scale,
            "worst_param": worst[0][1] if worst else None,
            "worst_param_rel_err": worst[0][0] if worst else math.nan,
            "worst_params": [[n, e] for e, n in worst[:WORST_KEPT]],
            "tiny_params_err": tiny_abs}


# ------------------------------------------------------------------------------ inputs
def random_sequence(T: int, vocab: int, n_classes: int, rng: random.Random, dtype):
    """test_sparse_read_write.py's input (random one-hot tokens), the target at the last one."""
    tokens = [rng.randrange(vocab) for _ in range(T)]
    x = F.one_hot(torch.tensor([tokens]), vocab).to(dtype)
    y = torch.full((1, T), -100, dtype=torch.long)
    y[0, -1] = rng.randrange(n_classes)
    return x, y


def anbn_sequence(rng: random.Random, dtype, max_n: int = 3):
    """debug_gradients.py's make_simple_seq: a^n b^m, n and m in 1..3, label n == m."""
    n, m = rng.randint(1, max_n), rng.randint(1, max_n)
    x = torch.tensor([[[1.0, 0.0]] * n + [[0.0, 1.0]] * m], dtype=dtype)
    y = torch.full((1, n + m), -100, dtype=torch.long)
    y[0, -1] = int(n == m)
    return x, y, n, m


# ------------------------------------------------------------------------------ the documents' step
def _slot_elements(slots, d: int) -> torch.Tensor:
    """Element indices of the given slots, ascending (upstream builds them from a set)."""
    s = sorted(set(int(v) for v in slots.flatten().tolist()))
    return torch.tensor([e for i in s for e in range(i * d, (i + 1) * d)], dtype=torch.long)


def documents_gradients(model, x, y) -> dict:
    """The documents' ``BlockRTRL.step`` over one sequence (batch 1, the loss at the last
    token), as restated in this module's docstring: ``{arm: {name: gradient}}`` for
    ``blockrtrl-sparse``, ``blockrtrl-full`` and ``blockrtrl-full-fixed``."""
    if x.shape[0] != 1:
        raise ValueError("the documents' step is run at batch 1, as the scripts run it")
    state_names = model.state_param_names()
    params = dict(model.named_parameters())
    frozen = {n: p.detach() for n, p in params.items()}
    sizes = [params[n].numel() for n in state_names]
    d = model.cfg.d_model
    H, n_state = model.H, sum(sizes)
    like = frozen[state_names[0]]

    def transition(diff, h1, x1):
        h_new, route = functional_call(model, {**frozen, **diff}, (x1[None], h1[None]),
                                       {"part": "transition"})
        return h_new[0], (h_new[0].detach(), route.read[0], route.write[0])

    jac = jacrev(transition, argnums=(0, 1), has_aux=True)
    P_sparse = torch.zeros(H, n_state, dtype=like.dtype)
    P_full = torch.zeros_like(P_sparse)
    h = model.init_state(1)[0].detach()
    T = x.shape[1]
    writes = []
    for t in range(T):
        x_t = x[0, t:t + 1]
        diff = {n: frozen[n] for n in state_names}
        (J_theta, J_h), (h_new, read, write) = jac(diff, h, x_t)
        J_theta = torch.cat([J_theta[n].reshape(H, -1) for n in state_names], dim=1)
        W, R = _slot_elements(write, d), _slot_elements(read, d)
        writes.append(tuple(sorted(set(int(v) for v in write.tolist()))))
        P_prev_full = P_full
        P_full = J_h @ P_full + J_theta
        P_sparse = P_sparse.clone()
        P_sparse[W] = J_h[W][:, R] @ P_sparse[R] + J_theta[W]
        if t < T - 1:
            h = h_new
    # the step with the loss: autograd through the last call, from the previous state
    with torch.enable_grad():
        h_prev = h.detach()[None].requires_grad_(True)
        logits, _, _ = model.step(x[:, T - 1:T], h_prev)
        loss = F.cross_entropy(logits, y[:, T - 1], ignore_index=-100)
        names = list(params)
        grads = torch.autograd.grad(loss, [params[n] for n in names] + [h_prev],
                                    allow_unused=True)
    direct = {n: (g if g is not None else torch.zeros_like(params[n])).detach()
              for n, g in zip(names, grads[:-1])}
    g_prev = grads[-1][0].detach()
    out = {}
    for arm, P in (("blockrtrl-sparse", P_sparse), ("blockrtrl-full", P_full),
                   ("blockrtrl-full-fixed", P_prev_full)):
        recurrent = (g_prev @ P).split(sizes)
        grads_arm = dict(direct)
        for n, g in zip(state_names, recurrent):
            grads_arm[n] = direct[n] + g.view_as(params[n])
        out[arm] = grads_arm
    # Why a sparse arm can be right: a slot written at every step from the first on, beside
    # slots never written, leaves no row whose copy (instead of 0.6x) could be wrong.
    out["routing"] = {"slots_written": len(set(s for w in writes for s in w)),
                      "write_set_changes": sum(a != b for a, b in zip(writes, writes[1:]))}
    return out


# ------------------------------------------------------------------------------ one comparison
def _cast(model, dtype: str):
    m = copy.deepcopy(model)
    return m.double() if dtype == "float64" else m.float()


def _learner_gradient(name: str, model, arch: str, x, y) -> dict:
    from rtrl_moe.learners import make_learner
    kw = {} if name == "bptt" else jacobian_kwargs(arch)
    return make_learner(name, model, **kw).gradient(x, y)


def arms_on(model, arch: str, x, y, learners, documents) -> tuple[dict, dict]:
    """``({arm: gradient}, {arm: seconds})`` of bptt and every arm on one sequence."""
    grads, secs = {}, {}
    for name in ("bptt", *learners):
        t0 = time.perf_counter()
        grads[name] = _learner_gradient(name, model, arch, x, y)
        secs[name] = time.perf_counter() - t0
    if documents:
        t0 = time.perf_counter()
        doc = documents_gradients(model, x, y)
        took = time.perf_counter() - t0
        for arm in documents:
            grads[arm], secs[arm] = doc[arm], took
        grads["routing"] = doc["routing"]
    return grads, secs


def gradient_agreement(seed: int, lengths=LENGTHS, learners=LEARNERS, dtype: str = "float64",
                       arch: str = "upstream", documents=DOCUMENTS, model_cfg: dict | None = None,
                       model=None) -> dict:
    """Per arm and length, the agreement of its gradient with bptt's (:func:`compare`), on one
    random sequence per length (seeded by ``seed`` and the length) with fixed parameters."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if model is None:
        torch.manual_seed(seed)
        model = protocol_model(arch, **(model_cfg or DOCS_MOE))
    model = _cast(model, dtype)
    cfg = model.cfg
    names = [n for n, _ in model.named_parameters()]
    points = []
    for T in lengths:
        rng = random.Random(f"{seed}-{T}")
        x, y = random_sequence(T, cfg.d_in, cfg.d_out, rng, next(model.parameters()).dtype)
        grads, secs = arms_on(model, arch, x, y, learners, documents)
        routing = grads.get("routing", {})
        for arm in (*learners, *documents):
            points.append({"arm": arm, "T": T, "dtype": dtype, "seconds": secs[arm], **routing,
                           **compare(grads[arm], grads["bptt"], names)})
    return {"points": points, "seed": seed, "dtype": dtype, **model_info(model)}


def script_comparison(seed: int, arch: str = "upstream", learners=LEARNERS, documents=DOCUMENTS,
                      dtype: str = "float32") -> dict:
    """debug_gradients.py Test 3's own comparison on its model and task: per parameter whose two
    norms exceed 1e-8, the cosine of the arm's gradient with BPTT's (the script prints them);
    summarised per arm as the lowest and the median cosine."""
    torch.manual_seed(seed)
    model = _cast(protocol_model(arch, **DEBUG_MOE), dtype)
    rng = random.Random(f"debug-{seed}")
    x, y, n, m = anbn_sequence(rng, next(model.parameters()).dtype)
    grads, _ = arms_on(model, arch, x, y, learners, documents)
    ref = grads["bptt"]
    out = {"n": n, "m": m, "T": n + m, "dtype": dtype, "arms": {}}
    for arm in (*learners, *documents):
        cos, one_sided = {}, 0
        for name, r in ref.items():
            g = grads[arm].get(name, torch.zeros_like(r))
            nr, ng = float(r.norm()), float(g.norm())
            if nr > 1e-8 and ng > 1e-8:
                cos[name] = float((g * r).sum()) / (nr * ng)
            elif (nr > 1e-8) != (ng > 1e-8):      # the script flags these with a warning sign
                one_sided += 1
        vals = sorted(cos.values())
        out["arms"][arm] = {"n_params": len(vals), "min_cos": vals[0] if vals else math.nan,
                            "median_cos": vals[len(vals) // 2] if vals else math.nan,
                            "min_cos_param": min(cos, key=cos.get) if cos else None,
                            "below_0.99": sum(v < 0.99 for v in vals),
                            "one_sided": one_sided}
    return out


def upstream_exactness(seed: int, arch: str, lengths=LENGTHS, learners=LEARNERS,
                       dtypes=DTYPES, documents=DOCUMENTS, script: bool = True) -> dict:
    """The piece: :func:`gradient_agreement` per dtype on one model (fixed parameters, built
    once in float64 and cast), and debug_gradients.py's comparison (``script``)."""
    torch.manual_seed(seed)
    model = protocol_model(arch, **DOCS_MOE).double()
    points, info = [], {}
    for dt in dtypes:
        r = gradient_agreement(seed, lengths, tuple(learners), dt, arch, tuple(documents),
                               model=model)
        points += r["points"]
        info = {k: v for k, v in r.items() if k not in ("points", "seed", "dtype")}
    out = {"points": points, "lengths": list(lengths), "dtypes": list(dtypes),
           "arms": [*learners, *documents], "inputs": "random one-hot tokens, loss at the last",
           **info}
    if script:
        out["script"] = script_comparison(seed, arch, tuple(learners), tuple(documents))
    return out
