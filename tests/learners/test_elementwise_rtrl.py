"""lru-rtrl: its gradient equals BPTT's in float64, parameter by parameter, and it holds O(P)."""
import pytest
import torch

import rtrl_moe as rm
from rtrl_moe.lru import LRUConfig, RecurrentLRU

from .helpers import assert_exact, sequence


def lru(seed=0, **overrides):
    torch.manual_seed(seed)
    base = dict(d_in=5, d_out=4, hidden=6, d_ff=7)
    base.update(overrides)
    return RecurrentLRU(LRUConfig(**base)).double()


def targets(y, d_out):
    return torch.where(y >= 0, y % d_out, y)


@pytest.mark.parametrize("T", [1, 2, 7, 33])
@pytest.mark.parametrize("B", [1, 3])
def test_gradient_equals_bptt(T, B):
    model = lru(seed=T + B)
    x, y = sequence(B, T, model.cfg.d_in, seed=T)
    y = targets(y, model.cfg.d_out)
    ref = rm.make_learner("bptt", model).gradient(x, y)
    g = rm.make_learner("lru-rtrl", model).gradient(x, y)
    assert_exact(g, ref)


@pytest.mark.parametrize("cfg", [dict(chunk=2), dict(hidden=1, d_ff=1),
                                 dict(decay_min=1e-6, decay_max=1e-5),
                                 dict(decay_min=0.3, decay_max=0.9)])
def test_gradient_equals_bptt_on_other_configs(cfg):
    model = lru(seed=3, **cfg)
    c = model.cfg.chunk
    x, y = sequence(2, 12 * c, model.cfg.d_in, seed=5)
    y = targets(y, model.cfg.d_out)
    ref = rm.make_learner("bptt", model).gradient(x, y)
    assert_exact(rm.make_learner("lru-rtrl", model).gradient(x, y), ref)


def test_nonzero_start_state_and_trained_decays():
    """After a few online updates (decays moved off their initialisation) it is still exact."""
    model = lru(seed=1)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    x, y = sequence(2, 20, model.cfg.d_in, seed=2)
    y = targets(y, model.cfg.d_out)
    stream = ((x[:, t:t + 1], y[:, t]) for t in range(20))
    list(rm.make_learner("lru-rtrl", model).online(stream, opt, every=5))
    x, y = sequence(2, 15, model.cfg.d_in, seed=9)
    y = targets(y, model.cfg.d_out)
    assert_exact(rm.make_learner("lru-rtrl", model).gradient(x, y),
                 rm.make_learner("bptt", model).gradient(x, y))


def test_memory_is_order_p_and_flat_in_t():
    model = lru(hidden=16)
    learner = rm.make_learner("lru-rtrl", model)
    sizes = []
    for T in (4, 64):
        x, y = sequence(1, T, model.cfg.d_in)
        learner.gradient(x, targets(y, model.cfg.d_out))
        sizes.append(learner.state_bytes())
    assert sizes[0] == sizes[1]
    P_rec = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("out."))
    assert learner.state_numbers() == P_rec == 16 * (5 + 2)


def test_refuses_other_models():
    with pytest.raises(ValueError, match="RecurrentLRU"):
        rm.make_learner("lru-rtrl", rm.RecurrentRNN(rm.RNNConfig()))


def test_tbptt_runs_on_the_cell_unchanged():
    model = lru()
    x, y = sequence(1, 10, model.cfg.d_in)
    g = rm.make_learner("tbptt", model, k=3).gradient(x, targets(y, model.cfg.d_out))
    assert set(g) == {n for n, _ in model.named_parameters()}
