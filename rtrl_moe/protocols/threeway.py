"""test_rnn_vs_moe_rtrl.py (upstream 8fbb3a3; 003's "RNN 30%, MoE BPTT 20%, Sparse MoE RTRL 35%
WINNER"): three arms trained 80 steps each on haystack of length 128 (vocabulary 8, 4 classes),
batch 1, Adam lr 3e-3, clip 1.0; the figure is each arm's online accuracy over its last 20
steps. RNN: embedding + relu RNNCell, token by token, backprop. MoE "BPTT": the whole sequence
one call. MoE "RTRL": one token per step, RTRL restricted to the gate's indices (sparse-rtrl).
"""
from __future__ import annotations

import random

import torch

from .haystack import HAYSTACK_MOE, VOCAB, jacobian_kwargs
from .loops import train_chunk_bptt, train_rtrl, train_tokenwise_bptt, window
from .models import ReluEmbedRNN, protocol_model
from .tasks import haystack_tokens, one_hot

#: behaviour versions of the pieces this module computes (rtrl_moe/records/versions.py)
VERSIONS = {"protocol.rnn_vs_moe_rtrl_128": 1}


def rnn_vs_moe_rtrl(seed: int, arch: str, seq_len: int = 128, steps: int = 80, lr: float = 3e-3,
                    n: int = 20, learner: str = "sparse-rtrl") -> dict:
    from rtrl_moe.learners import make_learner
    torch.manual_seed(seed)
    rng = random.Random(seed)

    def sample():
        tokens, label = haystack_tokens(seq_len, VOCAB, rng, "verify")
        return one_hot(tokens, VOCAB), label

    out = {"chance_accuracy": 1 / (VOCAB - 4), "steps_run": steps}
    rnn = ReluEmbedRNN(VOCAB, 32, VOCAB - 4)
    _, c = train_tokenwise_bptt(rnn, sample, steps, lr, clip=1.0)
    out[f"acc_rnn_last{n}"] = window(c, n)
    moe = protocol_model(arch, **HAYSTACK_MOE)
    _, c = train_chunk_bptt(moe, sample, steps, lr, clip=1.0)
    out[f"acc_moe_bptt_last{n}"] = window(c, n)
    moe = protocol_model(arch, **HAYSTACK_MOE)
    rtrl = make_learner(learner, moe, **jacobian_kwargs(arch))
    _, c = train_rtrl(moe, rtrl, sample, steps, lr, clip=1.0)
    out[f"acc_moe_rtrl_last{n}"] = window(c, n)
    return out
