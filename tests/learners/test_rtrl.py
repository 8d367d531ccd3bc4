"""Every RTRL learner against bptt in float64, parameter by parameter."""
import pytest
import torch

import rtrl_moe as rm

from .helpers import assert_exact, moe, rel_err, sequence

CONFIGS = [
    # (model overrides, B, T)
    (dict(), 1, 1),
    (dict(), 1, 23),
    (dict(), 3, 60),
    (dict(n_slots=8, topk_read=2, topk_write=2, n_experts=6, topk=1), 2, 45),
    (dict(n_slots=6, topk_read=3, topk_write=1, n_experts=5, topk=3, chunk=2), 2, 40),
    (dict(n_slots=3, topk_read=3, topk_write=3), 1, 20),      # everything read and written
    (dict(n_slots=4, topk_read=1, topk_write=2, n_experts=8, topk=2), 1, 200),
]


@pytest.mark.parametrize("jacobian", ["analytic", "torch.func"])
@pytest.mark.parametrize("learner", ["rtrl", "sparse-rtrl", "tree-rtrl"])
@pytest.mark.parametrize("overrides,B,T", CONFIGS)
def test_rtrl_learners_are_exact(learner, overrides, B, T, jacobian):
    model = moe(**overrides)
    x, y = sequence(B, T, 5)
    ref = rm.make_learner("bptt", model).gradient(x, y)
    L = rm.make_learner(learner, model, jacobian=jacobian)
    assert L.jacobian == jacobian
    assert_exact(L.gradient(x, y), ref)
    assert L.counters["sensitivity_flops"] > 0


def test_dense_rtrl_on_the_plain_rnn():
    torch.manual_seed(1)
    for cell in ("tanh", "gru"):
        model = rm.RecurrentRNN(rm.RNNConfig(d_in=5, d_out=5, hidden=7, cell=cell)).double()
        x, y = sequence(2, 30, 5)
        ref = rm.make_learner("bptt", model).gradient(x, y)
        assert_exact(rm.make_learner("rtrl", model).gradient(x, y), ref)


def test_sparse_learners_refuse_the_rnn():
    model = rm.RecurrentRNN(rm.RNNConfig(d_in=5, d_out=5, hidden=7)).double()
    for name in ("sparse-rtrl", "tree-rtrl"):
        with pytest.raises(ValueError):
            rm.make_learner(name, model)


def test_readonly_formula_is_not_exact_when_written_slots_are_unread():
    model = moe(n_slots=6, topk_read=2, topk_write=2)
    x, y = sequence(2, 40, 5)
    ref = rm.make_learner("bptt", model).gradient(x, y)
    err = rel_err(rm.make_learner("sparse-rtrl-readonly", model).gradient(x, y), ref)
    assert err > 1e-4


def test_readonly_formula_is_exact_when_every_slot_is_read():
    model = moe(n_slots=3, topk_read=3, topk_write=2)
    x, y = sequence(2, 30, 5)
    ref = rm.make_learner("bptt", model).gradient(x, y)
    assert_exact(rm.make_learner("sparse-rtrl-readonly", model).gradient(x, y), ref)


def test_float32_rtrl_is_close_but_float64_is_the_exactness_check():
    torch.manual_seed(0)
    model = moe().float()
    x, y = sequence(2, 30, 5)
    x = x.float()
    ref = rm.make_learner("bptt", model).gradient(x, y)
    assert rel_err(rm.make_learner("sparse-rtrl", model).gradient(x, y), ref) < 1e-4


@pytest.mark.parametrize("name", ["rtrl", "sparse-rtrl", "tree-rtrl"])
def test_state_bytes_do_not_depend_on_T(name):
    model = moe(n_experts=6, topk=1)
    sizes = []
    for T in (40, 160):
        x, y = sequence(1, T, 5)
        L = rm.make_learner(name, model, **({"n": 8} if name == "tree-rtrl" else {}))
        L.gradient(x, y)
        sizes.append(L.state_bytes())
    assert sizes[0] == sizes[1] > 0


def test_bptt_saved_graph_grows_with_T():
    # The contrast to the test above: what autograd saves for backward grows with T.
    from torch.autograd.graph import saved_tensors_hooks
    model = moe()
    saved = []
    for T in (10, 40):
        x, y = sequence(1, T, 5)
        total = [0]

        def pack(t):
            total[0] += t.numel() * t.element_size()
            return t
        with saved_tensors_hooks(pack, lambda t: t):
            rm.make_learner("bptt", model).gradient(x, y)
        saved.append(total[0])
    assert saved[1] > 3 * saved[0]


def test_online_training_updates_parameters_and_reports_stats():
    model = moe()
    x, y = sequence(1, 24, 5, every=2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    L = rm.make_learner("sparse-rtrl", model)
    stats = list(L.online(((x[:, t:t + 1], y[:, t]) for t in range(24)), opt, every=8))
    assert len(stats) == 3 and all(s["n_targets"] > 0 for s in stats)
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters()))


def test_online_first_window_equals_the_offline_gradient_of_that_window():
    # Before the first update the parameters are fixed, so online RTRL is exact there.
    model = moe()
    x, y = sequence(1, 10, 5)
    ref = rm.make_learner("bptt", model).gradient(x, y)
    seen = {}

    class Capture(torch.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {})

        def step(self, closure=None):
            for n, p in model.named_parameters():
                seen[n] = p.grad.clone()

    L = rm.make_learner("tree-rtrl", model, n=4)
    list(L.online(((x[:, t:t + 1], y[:, t]) for t in range(10)), Capture(model.parameters()),
                  every=10))
    assert_exact(seen, ref)


@pytest.mark.parametrize("name", ["rtrl", "sparse-rtrl", "tree-rtrl"])
@pytest.mark.parametrize("B", [1, 2])
def test_online_windows_add_up_to_the_offline_gradient_while_parameters_stay_fixed(name, B):
    # The sparse learners settle each row's share of the gradient lazily; every window boundary
    # must pay what is owed, or the windows would not add up.
    model = moe()
    x, y = sequence(B, 11, 5)
    ref = rm.make_learner("bptt", model).gradient(x, y)
    n_total = int((y != -100).sum())
    summed = {n: torch.zeros_like(p) for n, p in model.named_parameters()}

    class Sum(torch.optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {})
            self.weight = 0

        def step(self, closure=None):
            for n, p in model.named_parameters():
                summed[n] += p.grad * self.weight

    opt = Sum(model.parameters())
    kwargs = {"n": 4} if name == "tree-rtrl" else {}
    L = rm.make_learner(name, model, **kwargs)
    stream = ((x[:, t:t + 1], y[:, t]) for t in range(11))
    windows = 0
    for _ in L.online(_weighted(stream, opt, y, every=3), opt, every=3):
        windows += 1
    assert windows == 4
    assert_exact({n: g / n_total for n, g in summed.items()}, ref)


def _weighted(stream, opt, y, every):
    """Pass the stream through, telling ``opt`` how many targets the coming window has."""
    for t, item in enumerate(stream):
        if t % every == 0:
            opt.weight = int((y[:, t:t + every] != -100).sum())
        yield item
