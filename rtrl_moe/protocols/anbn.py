"""The a^n b^n experiments as their scripts ran them.

* ``anbn_classify9``: quick_verify.py Test 1 (upstream 7f2998d): the small MoE trained with
  backprop on one 9-input classification draw per step, the whole sequence one chunk; 2,500
  steps, Adam lr 2e-3, clip 1.0; its figures are the online accuracy of the first and the last
  100 steps. Beside it, the script's dense tanh RNN (hidden 64, lr 2e-3, no clip), token by token.
* ``anbn_classify9_lr1e2``: test_small_moe.py (7f2998d): the same model and task at lr 1e-2,
  1,500 steps, the online accuracy of the last 150 (002's "1e-2 stalls near 48%").
* ``train_anbn_bptt`` / ``train_anbn_rtrl``: train_anbn.py (63335ac) with its defaults
  (``--model simple --hidden 30 --len_max_a 8 --lr 1e-3``) for the documented 5,000 steps:
  the silu/LayerNorm RNN, token by token; BPTT steps Adam every sequence, RTRL (dense, exact)
  accumulates 64 sequences per step as the script does. Figure: the accuracy of the last
  100-step window (what the script prints at step 5,000).
"""
from __future__ import annotations

import random

import torch

from .loops import predict_tokenwise, train_chunk_bptt, train_rtrl, train_tokenwise_bptt, window
from .models import SiluNormRNN, model_info, protocol_model, resolved_config, tanh_rnn
from .tasks import AnbnClassify

#: behaviour versions of the pieces this module computes (rtrl_moe/records/versions.py)
VERSIONS = {"protocol.anbn_classify9": 1, "protocol.anbn_classify9_lr1e2": 1, "protocol.train_anbn_bptt": 1, "protocol.train_anbn_rtrl": 1}

#: quick_verify.py / test_small_moe.py's model (n_heads is upstream's; the bench cell has none)
SMALL_MOE = dict(d_model=32, n_heads=2, n_slots=4, n_experts=4, topk=2, d_in=2, d_out=2)


def _sampler(task: AnbnClassify, rng: random.Random):
    def sample():
        x, label = task.sample(rng)
        return x.unsqueeze(0), label
    return sample


@torch.no_grad()
def heldout(model, task: AnbnClassify, tokenwise: bool) -> dict:
    """Accuracy over every distinct input, weighted by how often training draws it, and the
    plain fraction of the inputs classified right."""
    weighted, right = 0.0, 0
    for n, m, label, p in task.inputs():
        x = task.encode(n, m).unsqueeze(0)
        logits = predict_tokenwise(model, x) if tokenwise else model.step(x, model.init_state(1))[0]
        ok = int(logits.argmax(-1).item() == label)
        weighted += p * ok
        right += ok
    return {"heldout_accuracy": weighted, "heldout_inputs_right": right,
            "heldout_inputs": len(task.inputs())}


def _summary(prefix: str, losses, correct, n: int) -> dict:
    return {f"{prefix}acc_first{n}": window(correct, n, last=False),
            f"{prefix}acc_last{n}": window(correct, n),
            f"{prefix}loss_first{n}": window(losses, n, last=False),
            f"{prefix}loss_last{n}": window(losses, n)}


def anbn_classify9(seed: int, arch: str, steps: int = 2500, lr: float = 2e-3, n: int = 100,
                   dense: bool = True, dense_hidden: int = 64) -> dict:
    torch.manual_seed(seed)
    rng = random.Random(seed)
    task = AnbnClassify(max_n=3)
    model = protocol_model(arch, **SMALL_MOE)
    losses, correct = train_chunk_bptt(model, _sampler(task, rng), steps, lr, clip=1.0)
    out = {**_summary("", losses, correct, n), **heldout(model, task, tokenwise=False),
           **model_info(model), "chance_accuracy": task.chance, "steps_run": len(losses),
           "model_resolved": resolved_config(model),
           "curve_acc100": [window(correct[:i], n) for i in range(n, len(correct) + 1, n)]}
    if dense:
        rnn = tanh_rnn(2, 2, dense_hidden)
        dl, dc = train_tokenwise_bptt(rnn, _sampler(task, rng), steps, lr, clip=None)
        out.update(_summary("dense_", dl, dc, n))
        out["dense_heldout_accuracy"] = heldout(rnn, task, tokenwise=True)["heldout_accuracy"]
    return out


def anbn_classify9_lr1e2(seed: int, arch: str, steps: int = 1500, lr: float = 1e-2,
                         n: int = 150) -> dict:
    return anbn_classify9(seed, arch, steps=steps, lr=lr, n=n, dense=False)


def _train_anbn(seed: int, mode: str, steps: int, lr: float, hidden: int, len_max_a: int,
                acc_steps: int) -> dict:
    torch.manual_seed(seed)
    rng = random.Random(seed)
    task = AnbnClassify(max_n=len_max_a)
    model = SiluNormRNN(d_in=2, hidden=hidden, d_out=2)
    if mode == "bptt":
        losses, correct = train_tokenwise_bptt(model, _sampler(task, rng), steps, lr, clip=1.0)
    else:
        from rtrl_moe.learners import make_learner
        learner = make_learner("rtrl", model, jacobian="torch.func")
        losses, correct = train_rtrl(model, learner, _sampler(task, rng), steps, lr, clip=1.0,
                                     acc_steps=acc_steps)
    return {"acc_last100": window(correct, 100), "acc_last500": window(correct, 500),
            "acc_first100": window(correct, 100, last=False), "loss_last100": window(losses, 100),
            **heldout(model, task, tokenwise=True), **model_info(model),
            "chance_accuracy": task.chance, "steps_run": len(losses),
            "optimizer_steps": len(losses) if mode == "bptt" else len(losses) // acc_steps,
            "curve_acc100": [window(correct[:i], 100) for i in range(100, len(correct) + 1, 100)]}


def train_anbn_bptt(seed: int, arch: str, steps: int = 5000, lr: float = 1e-3, hidden: int = 30,
                    len_max_a: int = 8) -> dict:
    return _train_anbn(seed, "bptt", steps, lr, hidden, len_max_a, 1)


def train_anbn_rtrl(seed: int, arch: str, steps: int = 5000, lr: float = 1e-3, hidden: int = 30,
                    len_max_a: int = 8, acc_steps: int = 64) -> dict:
    return _train_anbn(seed, "rtrl", steps, lr, hidden, len_max_a, acc_steps)
