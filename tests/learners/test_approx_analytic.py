"""snap-1, snap-2 and uoro on the MoE cell take the hand-derived Jacobian by default: it must
give the generic path's gradient (torch.func for SnAp, autograd for UORO) in float64."""
import pytest
import torch

import rtrl_moe as rm

from .helpers import assert_exact, moe, sequence

CONFIGS = [
    (dict(), 1, 17),
    (dict(), 3, 25),
    (dict(n_slots=8, topk_read=2, topk_write=2, n_experts=6, topk=1), 2, 30),
    (dict(n_slots=6, topk_read=3, topk_write=1, n_experts=5, topk=3, chunk=2), 2, 20),
]
GENERIC = {"snap-1": "torch.func", "snap-2": "torch.func", "uoro": "autograd"}


@pytest.mark.parametrize("name", list(GENERIC))
@pytest.mark.parametrize("overrides,B,T", CONFIGS)
def test_analytic_jacobian_gives_the_generic_paths_gradient(name, overrides, B, T):
    model = moe(**overrides)
    x, y = sequence(B, T, 5)
    fast = rm.make_learner(name, model)
    assert fast.jacobian == "analytic"
    slow = rm.make_learner(name, model, jacobian=GENERIC[name])
    assert_exact(fast.gradient(x, y), slow.gradient(x, y))


@pytest.mark.parametrize("name", list(GENERIC))
def test_the_plain_rnn_takes_the_generic_path_and_analytic_is_refused(name):
    rnn = rm.RecurrentRNN(rm.RNNConfig(d_in=5, d_out=5, hidden=7)).double()
    assert rm.make_learner(name, rnn).jacobian == GENERIC[name]
    with pytest.raises(ValueError, match="RecurrentMoE only"):
        rm.make_learner(name, rnn, jacobian="analytic")
    with pytest.raises(ValueError, match="jacobian must be one of"):
        rm.make_learner(name, rnn, jacobian="jacrev")


def test_a_wrong_analytic_product_would_be_caught():
    """The comparison above can fail: perturbing one weight between the two runs breaks it."""
    model = moe()
    x, y = sequence(2, 15, 5)
    a = rm.make_learner("uoro", model).gradient(x, y)
    with torch.no_grad():
        model.cand_slot.weight.add_(1e-3)
    b = rm.make_learner("uoro", model, jacobian="autograd").gradient(x, y)
    with pytest.raises(AssertionError):
        assert_exact(a, b)
