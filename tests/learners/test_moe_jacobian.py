"""The hand-derived Jacobians of the MoE cell against torch.func, and their contract."""
import pytest
import torch

import rtrl_moe as rm
from rtrl_moe.learners import moe_jacobian as mj

from .helpers import moe

CONFIGS = [
    # (model overrides, B)
    (dict(), 1),
    (dict(), 3),
    (dict(chunk=3), 2),
    (dict(n_slots=8, topk_read=3, topk_write=1, n_experts=6, topk=3), 2),
    (dict(n_slots=3, topk_read=3, topk_write=3, n_experts=2, topk=2), 1),
]


def _inputs(model, B, dtype=torch.float64, seed=3):
    g = torch.Generator().manual_seed(seed)
    cfg = model.cfg
    h = torch.randn(B, cfg.H, generator=g, dtype=dtype)
    x = torch.randn(B, cfg.chunk, cfg.d_in, generator=g, dtype=dtype)
    return h, x


def _params(model):
    return {n: p.detach() for n, p in model.named_parameters()}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("overrides,B", CONFIGS)
def test_forward_is_bitwise_the_cells_transition(overrides, B, dtype):
    model = moe(**overrides).to(dtype)
    h, x = _inputs(model, B, dtype)
    fw = mj.forward(model, _params(model), x, h)
    h_new, route = model.transition(x, h)
    assert torch.equal(fw.h_new, h_new)
    for got, want in zip((fw.read, fw.write, fw.experts), route):
        assert torch.equal(got, want)


@pytest.mark.parametrize("overrides,B", CONFIGS)
def test_jacobians_equal_torch_func_in_float64(overrides, B):
    model = moe(**overrides)
    h, x = _inputs(model, B)
    ref = rm.make_learner("sparse-rtrl", model, jacobian="torch.func")
    names = ref.state_names
    p = _params(model)
    (J_theta, J_h), _ = ref._jac({n: p[n] for n in names}, h, x)
    layout = mj.ParamJacobian(model, names, p)
    G = mj.basis(model, B, h)
    flat = torch.full((B, G.shape[1], layout.n), float("nan"), dtype=h.dtype)
    got_h = mj.backward(model, p, mj.forward(model, p, x, h), G, layout, flat)
    assert torch.allclose(got_h, J_h, rtol=0, atol=1e-12)
    for n in names:
        got = layout.block(flat, n).reshape(J_theta[n].shape)
        assert torch.allclose(got, J_theta[n], rtol=0, atol=1e-12), n


def test_any_cotangent_gives_autograds_vector_jacobian_product():
    model = moe(n_slots=6, topk_read=2, topk_write=3, chunk=2)
    B = 2
    h, x = _inputs(model, B)
    p = _params(model)
    g = torch.Generator().manual_seed(5)
    fw = mj.forward(model, p, x, h)
    kw, d = model.cfg.topk_write, model.cfg.d_model
    G = torch.randn(B, 1, kw, d, generator=g, dtype=h.dtype)
    names = model.state_param_names()
    layout = mj.ParamJacobian(model, names, p)
    flat = torch.empty(B, 1, layout.n, dtype=h.dtype)
    got_h = mj.backward(model, p, fw, G, layout, flat)
    for b in range(B):          # per example: autograd of <G_b, h_new_b[W]>
        hb = h[b:b + 1].clone().requires_grad_(True)
        h_new, route = model.transition(x[b:b + 1], hb)
        rows = (route.write[0].unsqueeze(-1) * d + torch.arange(d)).flatten()
        wrt = [hb] + [dict(model.named_parameters())[n] for n in names]
        grads = torch.autograd.grad((h_new[0, rows] * G[b, 0].flatten()).sum(), wrt,
                                    allow_unused=True)
        assert torch.allclose(got_h[b, 0], grads[0][0], atol=1e-12)
        for n, gr in zip(names, grads[1:]):
            want = torch.zeros_like(p[n]) if gr is None else gr
            assert torch.allclose(layout.block(flat, n)[b, 0], want.flatten(), atol=1e-12), n


def test_column_layout_must_keep_experts_whole():
    model = moe()
    p = _params(model)
    names = model.state_param_names()
    with pytest.raises(ValueError, match="partly"):
        mj.ParamJacobian(model, [n for n in names if n != "experts.1.w2.bias"], p)
    assert not mj.ParamJacobian(model, names, p).partial
    assert not mj.ParamJacobian(model, [n for n in names if "experts" not in n], p).partial


def test_a_selected_expert_outside_the_columns_is_an_error():
    model = moe(n_experts=4, topk=2)
    p = _params(model)
    h, x = _inputs(model, 1)
    fw = mj.forward(model, p, x, h)
    used = set(fw.experts.flatten().tolist())
    names = [n for n in model.state_param_names()
             if not any(n.startswith(f"experts.{e}.") for e in used)]
    layout = mj.ParamJacobian(model, names, p)
    G = mj.basis(model, 1, h)
    with pytest.raises(ValueError, match="not in the columns"):
        mj.backward(model, p, fw, G, layout, torch.empty(1, G.shape[1], layout.n,
                                                         dtype=h.dtype))


def test_jacobian_choice_and_its_errors():
    model = moe()
    assert rm.make_learner("sparse-rtrl", model).jacobian == "analytic"
    # compile=True compiles the hand-derived path; only a CUDA-graph capture takes torch.func's
    assert rm.make_learner("sparse-rtrl", model, compile=True).jacobian == "analytic"
    assert rm.make_learner("sparse-rtrl", model, cuda_graph=True).jacobian == "torch.func"
    rnn = rm.RecurrentRNN(rm.RNNConfig(d_in=5, d_out=5, hidden=7)).double()
    assert rm.make_learner("rtrl", rnn).jacobian == "torch.func"
    with pytest.raises(ValueError, match="RecurrentMoE only"):
        rm.make_learner("rtrl", rnn, jacobian="analytic")
    with pytest.raises(ValueError, match="cannot be combined"):
        rm.make_learner("sparse-rtrl", model, jacobian="analytic", cuda_graph=True)
    with pytest.raises(ValueError, match="jacobian must be one of"):
        rm.make_learner("sparse-rtrl", model, jacobian="jacrev")


@pytest.mark.parametrize("overrides", [dict(), dict(n_experts=6, topk=3, chunk=2, d_ff=9)])
def test_any_column_range_filled_from_the_factors_equals_the_written_jacobian(overrides):
    """J_theta is never written out on the sparse path: every row-aligned column range that
    fill() builds from the factors must equal the same columns of the materialised block."""
    model = moe(**overrides)
    p = _params(model)
    names = model.state_param_names()
    B = 2
    h = model.init_state(B) + 0.05 * torch.randn(B, model.H, dtype=torch.float64)
    x = torch.randn(B, model.cfg.chunk, model.cfg.d_in, dtype=torch.float64)
    fw = mj.forward(model, p, x, h)
    G = mj.basis(model, B, h)
    layout = mj.ParamJacobian(model, names, p)
    flat = torch.empty(B, G.shape[1], layout.n, dtype=h.dtype)
    mj.backward(model, p, fw, G, layout, flat)
    _, F_ = mj.factors(model, p, fw, G)
    where = mj.expert_positions(fw.experts, model.cfg.n_experts)
    for name in names:
        at, size = layout.offset[name]
        shape = tuple(p[name].shape)
        block = mj.block_of(name, shape)
        step = block.step
        a, z = step, min(size, 3 * step) if size > step else size
        if size <= step:
            a = 0
        for b in range(B):
            dst = torch.full((G.shape[1], z - a), float("nan"), dtype=h.dtype)
            mj.fill(block, F_, b, a, z, dst, where[b])
            assert torch.equal(dst, flat[b, :, at + a:at + z]), name
