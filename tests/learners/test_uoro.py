"""uoro is unbiased: exactly, by averaging over every sign pattern, and by seeds, like 1/sqrt(n)."""
import itertools

import pytest
import torch

import rtrl_moe as rm
from rtrl_moe.learners.uoro import UORO

from .helpers import assert_exact, moe, rel_err, sequence


def tiny_rnn(hidden=2):
    torch.manual_seed(0)
    return rm.RecurrentRNN(rm.RNNConfig(d_in=3, d_out=3, hidden=hidden)).double()


def tiny_moe():
    return moe(d_in=3, d_out=3, d_model=2, n_slots=3, n_experts=2, topk=1, topk_read=1,
               topk_write=1, d_ff=2)


def state_part(model, grads):
    # The output block's gradient is exact in every learner; the estimate is in the rest.
    return {n: grads[n] for n in model.state_param_names()}


class FixedSigns(UORO):
    """UORO with the signs of each step given, on the units the learner itself draws on."""

    def __init__(self, model, signs):
        super().__init__(model)
        self.signs = signs

    def _reset(self, batch_size, like):
        super()._reset(batch_size, like)
        self.at = 0

    def _noise(self, written):
        drawn = super()._noise(written)
        out = torch.zeros_like(drawn)
        out[drawn != 0] = torch.tensor(self.signs[self.at], dtype=drawn.dtype)
        self.at += 1
        return out


@pytest.mark.parametrize("make", [tiny_rnn, tiny_moe])
def test_uoro_mean_over_every_sign_pattern_is_the_exact_gradient(make):
    # Two units drawn per step (the RNN's two, the MoE's one written slot of d_model=2), T=3:
    # the 4^3 equally likely sign patterns give the expectation exactly.
    model = make()
    T = 3
    x, y = sequence(1, T, 3)
    ref = state_part(model, rm.make_learner("bptt", model).gradient(x, y))
    per_step = list(itertools.product([-1.0, 1.0], repeat=2))
    total, count = None, 0
    for signs in itertools.product(per_step, repeat=T):
        g = state_part(model, FixedSigns(model, signs).gradient(x, y))
        total = g if total is None else {n: total[n] + g[n] for n in g}
        count += 1
        if count == 1:
            assert rel_err(g, ref) > 0.05, "one draw should be visibly noisy"
    assert_exact({n: v / count for n, v in total.items()}, ref, tol=1e-9)


def test_uoro_seed_average_approaches_bptt_like_one_over_sqrt_n():
    model = tiny_rnn(hidden=3)
    x, y = sequence(1, 4, 3)
    ref = state_part(model, rm.make_learner("bptt", model).gradient(x, y))
    total, err = None, {}
    for seed in range(1000):
        g = state_part(model, rm.make_learner("uoro", model, seed=seed).gradient(x, y))
        total = g if total is None else {n: total[n] + g[n] for n in g}
        if seed + 1 in (1, 100, 1000):
            err[seed + 1] = rel_err({n: v / (seed + 1) for n, v in total.items()}, ref)
    # 1/sqrt(n) predicts a factor 0.32 from 100 to 1000 draws; a bias would stall it.
    assert err[1000] < 0.6 * err[100]
    assert err[1000] < 0.1 < err[1]


def test_uoro_is_repeatable_per_seed_and_differs_across_seeds():
    model = tiny_moe()
    x, y = sequence(2, 6, 3)
    a = rm.make_learner("uoro", model, seed=7).gradient(x, y)
    L = rm.make_learner("uoro", model, seed=7)
    assert_exact(L.gradient(x, y), a, tol=0)
    assert_exact(L.gradient(x, y), a, tol=0)     # reseeded per run
    assert rel_err(rm.make_learner("uoro", model, seed=8).gradient(x, y), a) > 1e-6
