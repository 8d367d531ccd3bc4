"""The memory figures as their scripts produced them.

* ``benchmark_memory_short``: benchmark_memory.py (upstream 63335ac; 000's table): d_model 64,
  16 slots, 4 experts; "BPTT full" is ONE model call over all T tokens (one state transition)
  and a backward; "BPTT trunc" one call per 64-token chunk, the state detached; "RTRL" dense
  BlockRTRL (every state parameter) one token at a time. The script reads
  ``torch.cuda.max_memory_allocated``; on this CPU we count tensor bytes (parameters, gradients,
  saved-for-backward storages, the learner's state). Reduced: dense RTRL costs about 7 s a token
  here, so it is timed over ``rtrl_tokens`` tokens and its time for T tokens is that per-token
  time times T (its held state does not depend on T).
* ``demo_memory_advantage``: demo_memory_advantage.py (81120cf; 002's 0.016..0.5 MB and
  0.0005 MB): the script's "BPTT memory" is the size of the stacked hidden-state history of a
  plain tanh RNN (``T * 128 * 4`` bytes) and its "RTRL memory" the constant ``128 * 4`` bytes;
  no RTRL runs. We rebuild the RNN, measure the history tensor and what autograd saved, and
  recompute the script's arithmetic; beside it what exact RTRL on that RNN would hold.
* ``demo_extreme_short``: demo_extreme.py (63335ac; 000's 82.3 MB at 10,000 and 50,000 tokens):
  d_model 64, 16 slots, 4 experts, RTRL with the gate's indices (sparse-rtrl), Adam. The 1,000
  sequences of 10,000 tokens cannot run here (about 0.5 s a token); we count what it holds
  after ``tokens`` tokens (constant in T) and recompute the script's printed arithmetic.
"""
from __future__ import annotations

import random

import torch
import torch.nn.functional as F
from torch import nn

from .accounting import param_bytes, saved_tensors, tensor_bytes, timed
from .haystack import jacobian_kwargs
from .loops import target_stream
from .models import model_info, protocol_model
from .tasks import haystack_tokens, one_hot, random_tokens

#: behaviour versions of the pieces this module computes (rtrl_moe/records/versions.py)
VERSIONS = {"protocol.demo_memory_advantage": 1, "protocol.benchmark_memory_short": 1, "protocol.demo_extreme_short": 1}

MB = 1024 ** 2
BENCH_MOE = dict(d_model=64, n_heads=2, n_slots=16, n_experts=4, topk=2, d_in=8, d_out=4)
LENGTHS = (32, 64, 128, 256, 512, 1024, 2048)


def _bptt_full(model, x, label):
    model.zero_grad(set_to_none=True)
    with saved_tensors() as saved:
        h = model.init_state(1).requires_grad_()
        logits = model.step(x, h)[0]
        loss = F.cross_entropy(logits, torch.tensor([label]))
    loss.backward()
    grads = tensor_bytes(p.grad for p in model.parameters() if p.grad is not None)
    return {"saved": saved["bytes"], "grads": grads}


def _bptt_trunc(model, x, label, k):
    model.zero_grad(set_to_none=True)
    h = model.init_state(1)
    chunks = []
    for s in range(0, x.shape[1] - 1, k):
        with saved_tensors() as saved:
            logits, h, _ = model.step(x[:, s:s + k], h)
        h = h.detach()
        chunks.append(saved["bytes"])
    F.cross_entropy(logits, torch.tensor([label])).backward()
    # a chunk's graph lives until the next chunk's logits replace it: two chunks at the peak
    pair = max(a + b for a, b in zip(chunks, chunks[1:] + [0]))
    grads = tensor_bytes(p.grad for p in model.parameters() if p.grad is not None)
    return {"saved": pair, "grads": grads}


def benchmark_memory_short(seed: int, arch: str, lengths=LENGTHS, tbptt: int = 64,
                           rtrl_tokens: int = 2) -> dict:
    from rtrl_moe.learners import make_learner
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = protocol_model(arch, **BENCH_MOE)
    params = param_bytes(model)
    out: dict = {"lengths": list(lengths), "param_bytes": params, **model_info(model)}
    full_b, full_t, trunc_b, trunc_t = [], [], [], []
    for T in lengths:
        x = one_hot(random_tokens(T, 8, rng), 8)
        label = rng.randrange(4)
        r, dt = timed(_bptt_full, model, x, label)
        full_b.append(params + r["grads"] + r["saved"])
        full_t.append(dt)
        r, dt = timed(_bptt_trunc, model, x, label, tbptt)
        trunc_b.append(params + r["grads"] + r["saved"])
        trunc_t.append(dt)
    x = one_hot(random_tokens(rtrl_tokens, 8, rng), 8)
    learner = make_learner("rtrl", model, **jacobian_kwargs(arch))
    grads, dt = timed(learner.gradient, target_stream(x, rng.randrange(4)))
    state = learner.state_bytes()
    per_token = dt / rtrl_tokens
    out.update({
        "bptt_full_bytes": full_b, "bptt_full_time_s": full_t,
        "bptt_trunc_bytes": trunc_b, "bptt_trunc_time_s": trunc_t,
        "rtrl_state_bytes": state, "rtrl_bytes": params + tensor_bytes(grads.values()) + state,
        "rtrl_time_per_token_s": per_token, "rtrl_tokens_timed": rtrl_tokens,
        "rtrl_time_s": [per_token * T for T in lengths],
        "ratio_bptt_over_rtrl": [f / (per_token * T) for f, T in zip(full_t, lengths)],
    })
    return out


class DemoRNN(nn.Module):
    """demo_memory_advantage.py's SimpleRNN: an embedding, tanh of a linear map of [e, h]."""

    def __init__(self, vocab=8, hidden=128, d_out=4):
        super().__init__()
        self.hidden = hidden
        self.embed = nn.Embedding(vocab, hidden)
        self.fc = nn.Linear(2 * hidden, hidden)
        self.output = nn.Linear(hidden, d_out)

    def forward_bptt(self, tokens):
        h = torch.zeros(1, self.hidden)
        hs = []
        for t in range(tokens.shape[1]):
            h = torch.tanh(self.fc(torch.cat([self.embed(tokens[:, t]), h], dim=1)))
            hs.append(h)
        return self.output(h), torch.stack(hs, dim=1)


def demo_memory_advantage(seed: int, arch: str, lengths=(32, 128, 512, 1024), hidden: int = 128,
                          extrapolate=(10_000, 100_000)) -> dict:
    torch.manual_seed(seed)
    model = DemoRNN(8, hidden, 4)
    hist_mb, saved_mb = [], []
    for T in lengths:
        tokens = torch.randint(0, 8, (1, T))
        with saved_tensors() as saved:
            logits, history = model.forward_bptt(tokens)
        logits.mean().backward()
        model.zero_grad()
        hist_mb.append(history.numel() * history.element_size() / MB)
        saved_mb.append(saved["bytes"] / MB)
    p_state = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("output."))
    return {
        "lengths": list(lengths),
        "history_mb_measured": hist_mb,
        "history_mb_arithmetic": [T * hidden * 4 / MB for T in lengths],
        "saved_for_backward_mb": saved_mb,
        "rtrl_mb_constant": hidden * 4 / MB,
        "extrapolate_lengths": list(extrapolate),
        "history_mb_extrapolated": [T * hidden * 4 / MB for T in extrapolate],
        "rtrl_exact_sensitivity_mb": hidden * p_state * 4 / MB,
        "n_state_params": p_state, "H": hidden,
    }


def demo_extreme_short(seed: int, arch: str, tokens: int = 4, seq_len: int = 10_000,
                       learner: str = "sparse-rtrl", hidden: int = 64) -> dict:
    from rtrl_moe.learners import make_learner
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = protocol_model(arch, **BENCH_MOE)
    seq, label = haystack_tokens(seq_len, 8, rng, "extreme")
    x = one_hot(seq[:tokens], 8)
    rtrl = make_learner(learner, model, **jacobian_kwargs(arch))
    grads, dt = timed(rtrl.gradient, target_stream(x, label))
    params = param_bytes(model)
    held = {"param_bytes": params, "grad_bytes": tensor_bytes(grads.values()),
            "adam_bytes": 2 * params, "learner_state_bytes": rtrl.state_bytes()}
    total = sum(held.values())
    return {**held, "total_bytes": total, "total_mb": total / MB, "tokens_run": tokens,
            "time_per_token_s": dt / tokens,
            "projected_run_hours": dt / tokens * seq_len * 1000 / 3600,
            "script_bptt_mb_10k": 10_000 * hidden * 4 / MB,
            "script_bptt_mb_50k": 50_000 * hidden * 4 / MB,
            "learner": learner, **model_info(model)}
