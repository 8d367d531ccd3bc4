"""The approximate learners keep the learner contract: gradient(), online(), streaming memory."""
import math

import pytest
import torch

import rtrl_moe as rm

from .helpers import assert_exact, moe, sequence

APPROX = ["snap-1", "snap-2", "uoro", "rflo"]


def rnn(cell):
    torch.manual_seed(2)
    return rm.RecurrentRNN(rm.RNNConfig(d_in=5, d_out=5, hidden=6, cell=cell)).double()


MODELS = {"moe": moe, "tanh": lambda: rnn("tanh"), "gru": lambda: rnn("gru")}


def applies(name, kind):
    return name != "rflo" or kind == "tanh"


CASES = [(n, k) for n in APPROX for k in MODELS if applies(n, k)]


def test_registered_with_their_flags():
    for name in APPROX:
        assert name in rm.LEARNERS
        cls = type(rm.make_learner(name, rnn("tanh")))
        assert cls.streaming is True and cls.exact is False


@pytest.mark.parametrize("name,kind", CASES)
def test_gradient_covers_every_parameter_and_state_bytes_do_not_grow_with_T(name, kind):
    model = MODELS[kind]()
    sizes = []
    for T in (8, 32):
        x, y = sequence(2, T, 5)
        L = rm.make_learner(name, model)
        g = L.gradient(x, y)
        assert set(g) == {n for n, _ in model.named_parameters()}
        assert all(bool(torch.isfinite(v).all()) for v in g.values())
        assert L.stats["n_targets"] == int((y != -100).sum()) and L.stats["steps"] == T
        sizes.append(L.state_bytes())
    assert sizes[0] == sizes[1] > 0


@pytest.mark.parametrize("name,kind", CASES)
def test_stream_and_tensors_give_the_same_gradient(name, kind):
    model = MODELS[kind]()
    x, y = sequence(2, 9, 5)
    a = rm.make_learner(name, model).gradient(x, y)
    b = rm.make_learner(name, model).gradient((x[:, t:t + 1], y[:, t]) for t in range(9))
    assert_exact(b, a, tol=1e-14)


@pytest.mark.parametrize("name,kind", CASES)
def test_online_steps_the_optimizer_and_reports_stats(name, kind):
    model = MODELS[kind]()
    x, y = sequence(1, 20, 5, every=2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    L = rm.make_learner(name, model)
    stats = list(L.online(((x[:, t:t + 1], y[:, t]) for t in range(20)), opt, every=7))
    assert len(stats) == 3 and all(s["n_targets"] > 0 and math.isfinite(s["loss"])
                                   for s in stats)
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters()))


@pytest.mark.parametrize("name", ["snap-1", "snap-2", "uoro"])
def test_online_windows_add_up_to_the_offline_gradient_while_parameters_stay_fixed(name):
    # Carrying the estimate across windows must not lose or double any step's share.
    model = moe()
    x, y = sequence(1, 11, 5)
    ref = rm.make_learner(name, model).gradient(x, y)
    n_total = int((y != -100).sum())
    summed = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    weights = iter([int((y[:, t:t + 4] != -100).sum()) for t in range(0, 11, 4)])

    class Sum(torch.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {})

        def step(self, closure=None):
            w = next(weights)
            for n, p in model.named_parameters():
                summed[n] += p.grad * w

    L = rm.make_learner(name, model)
    list(L.online(((x[:, t:t + 1], y[:, t]) for t in range(11)), Sum(model.parameters()), every=4))
    assert_exact({n: g / n_total for n, g in summed.items()}, ref)
