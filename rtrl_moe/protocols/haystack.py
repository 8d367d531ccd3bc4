"""The haystack experiments as their scripts ran them.

* ``haystack8_bptt``: verify_haystack.py Phase 1, the MoE arm (upstream 81120cf; its output in
  haystack_results.txt, 7f2998d): length 8, vocabulary 8 (4 classes, chance 25%), the whole
  sequence one chunk, Adam lr 3e-3, clip 1.0, 500 steps; figure: online accuracy of the last 50
  (002's "BPTT 100%").
* ``haystack8_rtrl``: Phase 2: the same task token by token with RTRL restricted to the gate's
  active parameters and written rows (BlockRTRL given its indices: our sparse-rtrl), lr 5e-3,
  clip 1.0; 500 steps as
  in haystack_results.txt (the script says 1,000); figure: the last 50 (002's "RTRL 24%").
* ``proof_untrained_trials``: test_proof_infinite_seq.py (8fbb3a3): per length T in 32/64/128,
  30 trials; each builds a fresh model, draws one sequence, records whether the prediction on
  it is right, then takes one update that nothing reads afterwards. So every figure is an
  untrained model's accuracy on 30 draws (chance 25%). We run the predictions and skip the
  unread update (it cannot change a recorded number).
"""
from __future__ import annotations

import random

import torch
import torch.nn.functional as F

from .loops import predict_tokenwise, train_chunk_bptt, train_rtrl, window
from .models import ReluEmbedRNN, model_info, protocol_model, resolved_config
from .tasks import haystack_tokens, one_hot

#: behaviour versions of the pieces this module computes (rtrl_moe/records/versions.py)
VERSIONS = {"protocol.haystack8_bptt": 1, "protocol.haystack8_rtrl": 1, "protocol.proof_untrained_trials": 1}

VOCAB = 8
#: the scripts' MoE on haystack (d_out = vocab - 4)
HAYSTACK_MOE = dict(d_model=32, n_heads=2, n_slots=4, n_experts=4, topk=2, d_in=VOCAB,
                    d_out=VOCAB - 4)


def jacobian_kwargs(arch: str) -> dict:
    """The hand-derived Jacobian is the bench cell's; upstream's cell goes through torch.func."""
    return {"jacobian": "torch.func"} if arch == "upstream" else {}


def _sampler(seq_len: int, rng: random.Random):
    def sample():
        tokens, label = haystack_tokens(seq_len, VOCAB, rng, "verify")
        return one_hot(tokens, VOCAB), label
    return sample


def haystack8_bptt(seed: int, arch: str, steps: int = 500, lr: float = 3e-3, seq_len: int = 8,
                   n: int = 50) -> dict:
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = protocol_model(arch, **HAYSTACK_MOE)
    losses, correct = train_chunk_bptt(model, _sampler(seq_len, rng), steps, lr, clip=1.0)
    return {f"acc_last{n}": window(correct, n), f"loss_last{n}": window(losses, n),
            f"acc_first{n}": window(correct, n, last=False), "chance_accuracy": 1 / (VOCAB - 4),
            "steps_run": len(losses), **model_info(model), "model_resolved": resolved_config(model)}


def haystack8_rtrl(seed: int, arch: str, steps: int = 500, lr: float = 5e-3, seq_len: int = 8,
                   n: int = 50, learner: str = "sparse-rtrl") -> dict:
    from rtrl_moe.learners import make_learner
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = protocol_model(arch, **HAYSTACK_MOE)
    rtrl = make_learner(learner, model, **jacobian_kwargs(arch))
    losses, correct = train_rtrl(model, rtrl, _sampler(seq_len, rng), steps, lr, clip=1.0)
    return {f"acc_last{n}": window(correct, n), f"loss_last{n}": window(losses, n),
            f"acc_first{n}": window(correct, n, last=False), "chance_accuracy": 1 / (VOCAB - 4),
            "steps_run": len(losses), "learner": learner, **model_info(model)}


@torch.no_grad()
def proof_untrained_trials(seed: int, arch: str, lengths=(32, 64, 128), trials: int = 30) -> dict:
    torch.manual_seed(seed)
    rng = random.Random(seed)
    out: dict = {"chance_accuracy": 1 / (VOCAB - 4), "trials": trials}
    for T in lengths:
        right = {"rnn": 0, "moe_bptt": 0, "moe_rtrl": 0}
        loss = {k: 0.0 for k in right}
        for _ in range(trials):
            for arm in right:
                if arm == "rnn":
                    model = ReluEmbedRNN(VOCAB, 32, VOCAB - 4)
                else:
                    model = protocol_model(arch, **HAYSTACK_MOE)
                tokens, label = haystack_tokens(T, VOCAB, rng, "verify")
                x = one_hot(tokens, VOCAB)
                if arm == "moe_bptt":      # one model call over the whole sequence
                    logits = model.step(x, model.init_state(1))[0]
                else:                      # token by token (the RNN's loop, RTRL's stream)
                    logits = predict_tokenwise(model, x)
                right[arm] += int(logits.argmax(-1).item() == label)
                loss[arm] += F.cross_entropy(logits, torch.tensor([label])).item()
        for arm in right:
            out[f"acc_{arm}_T{T}"] = right[arm] / trials
            out[f"loss_{arm}_T{T}"] = loss[arm] / trials
    return out
