import pytest
import torch

import rtrl_moe as rm


def test_step_shapes_and_route():
    cfg = rm.MoEConfig(d_in=8, d_out=8, d_model=16, n_slots=6, n_experts=5, topk=2, topk_read=3,
                       topk_write=2)
    model = rm.RecurrentMoE(cfg).double()
    h = model.init_state(batch_size=3)
    assert h.shape == (3, 96)
    y, h2, route = model.step(torch.randn(3, 1, 8, dtype=torch.float64), h)
    assert y.shape == (3, 8) and h2.shape == (3, 96)
    assert route.read.shape == (3, 3) and route.write.shape == (3, 2)
    assert route.experts.shape == (3, 2)


def test_unwritten_slots_are_copied_and_unselected_slots_have_no_influence():
    cfg = rm.MoEConfig(d_in=4, d_out=4, d_model=5, n_slots=6, topk_read=2, topk_write=2)
    model = rm.RecurrentMoE(cfg).double()
    h = torch.randn(1, 30, dtype=torch.float64)
    x = torch.randn(1, 1, 4, dtype=torch.float64)
    J = torch.autograd.functional.jacobian(lambda hh: model.transition(x, hh)[0], h)[0, :, 0]
    _, route = model.transition(x, h)
    used = set(route.read[0].tolist()) | set(route.write[0].tolist())
    for s in range(6):
        rows = slice(5 * s, 5 * s + 5)
        if s not in route.write[0].tolist():
            torch.testing.assert_close(J[rows], torch.eye(30, dtype=torch.float64)[rows])
        else:
            for c in range(6):
                if c not in used:
                    assert torch.count_nonzero(J[rows, 5 * c:5 * c + 5]) == 0


def test_inactive_experts_get_exactly_zero_gradient():
    cfg = rm.MoEConfig(d_in=4, d_out=4, n_experts=6, topk=1)
    model = rm.RecurrentMoE(cfg).double()
    h = model.init_state(1)
    x = torch.randn(1, 1, 4, dtype=torch.float64)
    y, h2, route = model.step(x, h)
    y.sum().backward()
    active = route.experts[0].tolist()
    for e, ex in enumerate(model.experts):
        g = ex.w1.weight.grad
        assert (g is None or torch.count_nonzero(g) == 0) == (e not in active)


@pytest.mark.parametrize("bad", [dict(topk=5, n_experts=4), dict(topk_read=9), dict(d_model=0),
                                 dict(topk_write=5, n_slots=4), dict(chunk=1.5)])
def test_impossible_configs_are_refused(bad):
    with pytest.raises(ValueError):
        rm.MoEConfig(**bad)


def test_rnn_config_validation():
    with pytest.raises(ValueError):
        rm.RNNConfig(cell="lstm")


def test_flops_formulas():
    cfg = rm.MoEConfig()
    model = rm.RecurrentMoE(cfg)
    P = rm.flops.state_param_count(model)
    assert rm.flops.sensitivity_update_flops("rtrl", cfg) == 2 * 128 * 128 * P
    assert rm.flops.sensitivity_update_flops("sparse-rtrl", cfg) == 2 * 64 * 128 * P
    assert rm.flops.sensitivity_update_flops("bptt", cfg) == 0
