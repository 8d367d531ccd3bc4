"""RFLO (Murray 2019, "random feedback local online learning"), for the tanh RNN only.

Murray's cell is leaky, ``h_t = (1 - a) h_{t-1} + a tanh(u_t)`` with
``u_t = W_hh h_{t-1} + W_ih x_t + b``, and RFLO makes two cuts in RTRL:

1. the sensitivity keeps only the leak of ``J_h`` (drops ``a diag(tanh') W_hh``, the non-local
   part), so it becomes a per-synapse trace
   ``e_ij(t) = (1 - a) e_ij(t-1) + a tanh'(u_i(t)) pre_j(t)``, ``pre = [h_{t-1}; x_t; 1]``;
2. the error reaches unit i through a fixed random matrix ``B`` instead of the readout's
   transpose: ``dL/dW_ij ≈ sum_t (B eps_t)_i e_ij(t)``, ``eps_t = dl_t/dlogits_t``.

``RecurrentRNN``'s tanh cell is not leaky: ``h_t = tanh(W_ih xbar_t + b_ih + W_hh h_{t-1} + b_hh)``
(``xbar_t`` the chunk's mean input), i.e. ``a = 1``. The trace then has no memory,
``e_ij(t) = (1 - h_i(t)^2) pre_j(t)``, and RFLO on this cell is

    dL/dW_hh ≈ sum_t  delta_t h_{t-1}^T,   dL/dW_ih ≈ sum_t delta_t xbar_t^T,
    dL/db_ih = dL/db_hh ≈ sum_t delta_t,   delta_t = (B eps_t) ⊙ (1 - h_t^2)

(over the steps with a target, divided by their number like every learner). It is the one-step
truncated gradient with random feedback; ``feedback="true"`` uses the readout's transpose
instead, which leaves only the truncation. The output layer gets its exact gradient. It holds
no sensitivity at all: only ``B`` (``H·d_out`` numbers, fixed) besides the state.

The derivation needs the cell's single non-linearity per unit and its linear readout, so the
GRU and the MoE cell are refused.
"""
from __future__ import annotations

import math

import torch

from ..rnn import RecurrentRNN
from .approx import ApproxLearner
from .base import IGNORE


class RFLO(ApproxLearner):
    name = "rflo"
    VERSIONS = {"learner.rflo": 1, "timing.rflo": 1}

    def __init__(self, model, seed: int = 0, feedback: str = "random"):
        if not isinstance(model, RecurrentRNN) or model.cfg.cell != "tanh":
            kind = type(model).__name__ + (f"(cell={model.cfg.cell!r})"
                                           if isinstance(model, RecurrentRNN) else "")
            raise ValueError(f"rflo needs the tanh RecurrentRNN (its derivation assumes one tanh "
                             f"per unit and a linear readout); got {kind}")
        if feedback not in ("random", "true"):
            raise ValueError(f"rflo feedback must be 'random' or 'true', got {feedback!r}")
        super().__init__(model)
        self.seed = int(seed)
        self.feedback_kind = feedback
        p = self._like
        H, d_out = model.H, model.cfg.d_out
        g = torch.Generator().manual_seed(self.seed)
        # Scaled like the readout's own initialisation, so the update's size is comparable.
        bound = 1 / math.sqrt(H)
        B = (torch.rand(H, d_out, generator=g, dtype=torch.float64) * 2 - 1) * bound
        self.feedback = B.to(device=p.device, dtype=p.dtype) if feedback == "random" else None

    def _consume(self, x_t, y_t):
        h_prev = self.h
        with torch.no_grad():
            self.h, _ = self.model.transition(x_t, h_prev)
        eps = self._readout_error(x_t, y_t)
        if eps is None:
            return
        fb = eps @ (self.model.out.weight.detach() if self.feedback is None else self.feedback.t())
        delta = fb * (1 - self.h ** 2)                              # [B, H]
        self.state_grad += self.flat({
            "cell.weight_hh": delta.t() @ h_prev,
            "cell.weight_ih": delta.t() @ x_t.mean(1),
            "cell.bias_ih": delta.sum(0),
            "cell.bias_hh": delta.sum(0),
        }, 0)

    def _readout_error(self, x_t, y_t):
        """``dl/dlogits`` for this step (None without a target); the output layer's exact
        gradient goes into ``out_grads`` on the way."""
        if not bool((y_t != IGNORE).any()):
            return None
        with torch.enable_grad():
            logits = self.model.readout(x_t, self.h.detach())
            leaf = logits.detach().requires_grad_(True)
            eps, = torch.autograd.grad(self._meter.add(leaf, y_t), leaf)
            outs = [self.params[n] for n in self.out_names]
            grads = torch.autograd.grad(logits, outs, grad_outputs=eps)
        for n, g in zip(self.out_names, grads):
            self.out_grads[n] = g if n not in self.out_grads else self.out_grads[n] + g
        return eps

    def _estimate_tensors(self):
        return [] if self.feedback is None else [self.feedback]
