"""What the approximate online learners (snap-1/2, uoro, rflo) share.

Like the exact RTRL learners they walk the sequence forward once, hold nothing per step, and
split the parameters in two: the output block's (``out.``) never touch the state, so their
gradient is taken directly at each step; the others (``model.state_param_names()``) get theirs
through an estimate of the sensitivity ``dh_t / dtheta``, which each subclass keeps its own way.
This base is kept apart from ``rtrl.py`` on purpose, so the exact learners can be reworked
without moving the approximations' reference points.
"""
from __future__ import annotations

import torch
from torch.func import functional_call

from .base import IGNORE, Learner


class ApproxLearner(Learner):
    streaming = True
    exact = False

    def __init__(self, model):
        super().__init__(model)
        self.params = dict(model.named_parameters())
        self.state_names = model.state_param_names()
        state = set(self.state_names)
        self.out_names = [n for n in self.params if n not in state]
        self.sizes = [self.params[n].numel() for n in self.state_names]
        self.n_state = sum(self.sizes)
        # Detached views share the parameters' storage, so they follow optimizer updates.
        self._frozen = {n: p.detach() for n, p in self.params.items()}

    def transition(self, state_params: dict, h, x_t):
        """``(h_new, route)`` as a function of the state parameters (for torch.func)."""
        return functional_call(self.model, {**self._frozen, **state_params}, (x_t, h),
                               {"part": "transition"})

    def state_params(self) -> dict:
        return {n: self._frozen[n] for n in self.state_names}

    def flat(self, per_name: dict, lead: int) -> torch.Tensor:
        """``{name: [*lead_dims, *shape]}`` -> ``[*lead_dims, n_state]`` in state_names order."""
        return torch.cat([per_name[n].reshape(*per_name[n].shape[:lead], -1)
                          for n in self.state_names], dim=lead)

    # -- learner hooks shared by all ----------------------------------------------------------
    def _reset(self, batch_size, like):
        self.h = self.model.init_state(batch_size).detach()
        self._zero_sums()

    def _zero_sums(self):
        p = self._like
        self.state_grad = torch.zeros(self.n_state, dtype=p.dtype, device=p.device)
        self.out_grads: dict = {}

    def _readout(self, x_t, y_t):
        """This step's loss: its direct gradient into the output block and ``dl/dh_t``
        (None when the step has no target)."""
        if not bool((y_t != IGNORE).any()):
            return None
        with torch.enable_grad():
            h = self.h.detach().requires_grad_(True)
            loss = self._meter.add(self.model.readout(x_t, h), y_t)
            outs = [self.params[n] for n in self.out_names]
            grads = torch.autograd.grad(loss, [h] + outs, allow_unused=True)
        for n, g in zip(self.out_names, grads[1:]):
            if g is not None:
                self.out_grads[n] = g if n not in self.out_grads else self.out_grads[n] + g
        return grads[0]

    def _collect(self):
        summed = dict(self.out_grads)
        for n, g in zip(self.state_names, self.state_grad.split(self.sizes)):
            summed[n] = g.view_as(self.params[n])
        self._zero_sums()
        return summed

    def _state_tensors(self):
        if not self._started:
            return []
        return [self.h, self.state_grad, *self.out_grads.values(), *self._estimate_tensors()]

    def _estimate_tensors(self) -> list[torch.Tensor]:
        """The tensors that carry the sensitivity estimate across steps."""
        return []


def written_slots(model, route, batch_size: int, device) -> torch.Tensor:
    """``[B, k]`` slots whose units change this step: the MoE's written slots, or the plain
    RNN's single "slot" (its whole state, which changes every step)."""
    if route is None:
        return torch.zeros(batch_size, 1, dtype=torch.long, device=device)
    return route.write


def resolve_jacobian(name: str, model, jacobian: str, other: str) -> str:
    """``auto``: the hand-derived Jacobian (:mod:`.moe_jacobian`) on the MoE cell, ``other``
    (the learner's generic path) elsewhere."""
    from . import moe_jacobian
    choices = ("auto", "analytic", other)
    if jacobian not in choices:
        raise ValueError(f"{name}: jacobian must be one of {', '.join(choices)}, got {jacobian!r}")
    routed = moe_jacobian.applies(model)
    if jacobian == "auto":
        return "analytic" if routed else other
    if jacobian == "analytic" and not routed:
        raise ValueError(f"{name}: jacobian='analytic' is derived for RecurrentMoE only, not "
                         f"{type(model).__name__}")
    return jacobian


def slot_layout(model) -> tuple[int, int]:
    """``(n_slots, d)``: the state viewed as slots (the plain RNN is one slot of H units)."""
    cfg = model.cfg
    if hasattr(cfg, "n_slots"):
        return cfg.n_slots, cfg.d_model
    return 1, model.H
