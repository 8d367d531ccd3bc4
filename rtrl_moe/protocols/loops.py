"""The scripts' training loops: batch 1, Adam, one loss at the end of each sequence, accuracy
read online (the prediction made on each training sequence before its update).

Every loop returns per-step ``losses`` and ``correct`` (0/1); ``window`` turns them into the
figures the scripts print (the first or last ``n`` steps).
"""
from __future__ import annotations

from typing import Callable, Iterable

import torch
import torch.nn.functional as F

Sampler = Callable[[], tuple[torch.Tensor, int]]   # () -> (x [1, T, d_in], label)


def window(values: list, n: int, last: bool = True) -> float:
    """Mean of the last (or first) ``n`` values, as the scripts' ``sum(v[-n:]) / n``."""
    part = values[-n:] if last else values[:n]
    return float(sum(part) / len(part)) if part else float("nan")


def _update(model, optimizer, clip):
    if clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()


def _train_bptt(model, sample: Sampler, steps: int, lr: float, clip: float | None,
                forward: Callable) -> tuple[list, list]:
    """Adam on the cross-entropy of ``forward(x)``'s logits, backprop through its graph."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses, correct = [], []
    for _ in range(steps):
        x, label = sample()
        logits = forward(x)
        loss = F.cross_entropy(logits, torch.tensor([label]))
        opt.zero_grad()
        loss.backward()
        _update(model, opt, clip)
        losses.append(loss.item())
        correct.append(int(logits.argmax(-1).item() == label))
    return losses, correct


def train_chunk_bptt(model, sample: Sampler, steps: int, lr: float, clip: float | None = 1.0):
    """The whole sequence fed as one chunk (one state transition), backprop, Adam step."""
    return _train_bptt(model, sample, steps, lr, clip,
                       lambda x: model.step(x, model.init_state(1))[0])


def predict_tokenwise(model, x):
    """Logits after stepping the sequence one token at a time (the prediction at its end)."""
    h = model.init_state(1)
    for t in range(x.shape[1]):
        logits, h, _ = model.step(x[:, t:t + 1], h)
    return logits


def train_tokenwise_bptt(model, sample: Sampler, steps: int, lr: float,
                         clip: float | None = 1.0):
    """One state transition per token, the graph kept over the sequence, backprop at its end."""
    return _train_bptt(model, sample, steps, lr, clip, lambda x: predict_tokenwise(model, x))


def target_stream(x, label: int) -> Iterable:
    """``(x_t [1, 1, d_in], y_t [1])`` per token; the target only at the last token."""
    T = x.shape[1]
    for t in range(T):
        yield x[:, t:t + 1], torch.tensor([label if t == T - 1 else -100])


def train_rtrl(model, learner, sample: Sampler, steps: int, lr: float,
               clip: float | None = 1.0, acc_steps: int = 1):
    """An RTRL learner's gradient per sequence (token by token, loss at the end).

    ``acc_steps > 1`` is train_anbn.py's accumulation: the loss divided by ``acc_steps``,
    gradients summed, one clipped Adam step every ``acc_steps`` sequences."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    params = dict(model.named_parameters())
    opt.zero_grad()
    losses, correct = [], []
    for step in range(steps):
        x, label = sample()
        grads = learner.gradient(target_stream(x, label))
        for name, g in grads.items():
            g = g / acc_steps
            p = params[name]
            p.grad = g.clone() if p.grad is None else p.grad + g
        if (step + 1) % acc_steps == 0:
            _update(model, opt, clip)
            opt.zero_grad()
        stats = learner.stats
        losses.append(float(stats["loss"]))
        correct.append(int(round(float(stats["accuracy"]))))
    return losses, correct
