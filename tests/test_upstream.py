"""rtrl_moe.upstream: upstream's cell behind our step interface (docs/UPSTREAM.md)."""
from collections import defaultdict

import pytest
import torch

import rtrl_moe as rm
from rtrl_moe.upstream import Attention, fourier_positions

F64 = torch.float64


# -- parameter count: upstream's, block by block, derived by hand from its moe.py ----------------
def _linear(i, o, bias=True):
    return i * o + (o if bias else 0)


def upstream_blocks(d_in, d_out, d, n_experts):
    """Parameters of each top-level module of upstream's RecurrentMoE (moe.py @ 81120cf)."""
    ln = 2 * d                                   # LayerNorm: weight and bias
    mha = 3 * d * d + 3 * d + _linear(d, d)      # in_proj (q, k, v) + out_proj
    ffn = 2 * _linear(d, d)                      # MLP(d, mult=1): fc1, fc2
    state = {"state_embedding": _linear(d_in, d), "state_mha": mha, "state_ln_q": ln,
             "state_ln_kv": ln, "state_ffn": ffn, "state_ln_ffn": ln,
             "state_gate": _linear(d, n_experts, bias=False),
             "state_experts": n_experts * (d * d + d), "state_ln_moe_in": ln,
             "state_latent_proj": _linear(d, d), "state_read_gate": _linear(d, 1, bias=False),
             "state_ln_slot": ln, "state_slot_ctx": _linear(d, 1, bias=False)}
    out = {"out_embedding": _linear(d_in, d), "out_mha": mha, "out_ln_q": ln, "out_ln_kv": ln,
           "out_ffn": ffn, "out_ln_ffn": ln, "out_proj": _linear(d, d_out)}
    return state, out


def _blocks_of(model):
    sizes = defaultdict(int)
    for name, p in model.named_parameters():
        sizes[name.split(".")[0]] += p.numel()
    return dict(sizes)


# (config, upstream's state parameters, upstream's total): the documents' config, then what
# benchmark_memory.py builds and what quick_verify.py's Test 2 builds (both d_model 64).
COUNTS = [
    (dict(d_in=8, d_out=8, d_model=32, n_slots=4, n_experts=4), 12_416, 19_496),
    (dict(d_in=8, d_out=4, d_model=64, n_slots=16, n_experts=4), 47_360, 73_540),
    (dict(d_in=8, d_out=4, d_model=64, n_slots=8, n_experts=16), 98_048, 124_228),
]


@pytest.mark.parametrize("kw, n_state, n_total", COUNTS)
def test_parameter_count_is_upstreams_block_by_block(kw, n_state, n_total):
    model = rm.UpstreamMoE(rm.UpstreamConfig(n_heads=2, topk=2, **kw))
    state, out = upstream_blocks(kw["d_in"], kw["d_out"], kw["d_model"], kw["n_experts"])
    assert _blocks_of(model) == {**state, **out}
    assert sum(state.values()) == n_state == rm.flops.state_param_count(model)
    assert sum(p.numel() for p in model.parameters()) == n_total
    assert rm.flops.expert_param_count(model) == state["state_experts"]


def test_upstream_at_the_documents_config_is_smaller_than_ours():
    ours = rm.RecurrentMoE(rm.MoEConfig())
    theirs = rm.UpstreamMoE(rm.UpstreamConfig())
    assert rm.flops.state_param_count(ours) == 29_728
    assert rm.flops.state_param_count(theirs) == 12_416


# -- the step interface ------------------------------------------------------------------------
SMALL = dict(d_in=4, d_out=3, d_model=8, n_slots=3, n_experts=3, topk=2, topk_read=2,
             topk_write=2, n_heads=2)


def _model(**kw):
    torch.manual_seed(0)
    return rm.UpstreamMoE(rm.UpstreamConfig(**{**SMALL, **kw})).double()


@pytest.mark.parametrize("chunk", [1, 3])
def test_step_shapes_and_route(chunk):
    model = _model(n_slots=5, topk_read=3, topk_write=2, chunk=chunk)
    h = model.init_state(4)
    assert h.shape == (4, 40) and h.dtype == F64
    y, h2, route = model.step(torch.randn(4, chunk, 4, dtype=F64), h)
    assert y.shape == (4, 3) and h2.shape == (4, 40)
    assert route.read.shape == (4, 3) and route.write.shape == (4, 2)
    assert route.experts.shape == (4, 2)
    assert model.state_param_names() == [n for n, _ in model.named_parameters()
                                         if not n.startswith("out_")]


def test_initial_state_is_seeded_small_noise():
    model = _model()
    a, b = model.init_state(3), model.init_state(3)
    assert torch.equal(a, b)                       # cfg.init_seed: learners start alike
    assert not torch.equal(a[0], a[1])             # one draw per example, as upstream
    assert torch.equal(model.init_state(2, generator=7), model.init_state(2, generator=7))
    assert not torch.equal(model.init_state(2, generator=7), model.init_state(2, generator=8))
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(model.init_state(2, generator=g1), model.init_state(2, generator=g2))
    assert 0.005 < float(model.init_state(64).std()) < 0.04      # 0.02 * N(0, 1)
    fresh = _model(init_seed=None)
    assert not torch.equal(fresh.init_state(2), fresh.init_state(2))
    assert torch.equal(model.float().init_state(2), a[:2].float())


def test_attention_is_torch_multihead_attention():
    torch.manual_seed(1)
    mine, ref = Attention(8, 2).double(), torch.nn.MultiheadAttention(8, 2, batch_first=True)
    ref.double().load_state_dict(mine.state_dict())
    q, kv = torch.randn(2, 3, 8, dtype=F64), torch.randn(2, 5, 8, dtype=F64)
    torch.testing.assert_close(mine(q, kv), ref(q, kv, kv, need_weights=False)[0],
                               rtol=0, atol=1e-13)


def test_position_code_counts_positions_within_the_chunk():
    pe = fourier_positions(3, 6, 4, torch.zeros((), dtype=F64))
    assert pe.shape == (3, 6)
    torch.testing.assert_close(pe[0], torch.tensor([0, 0, 0, 1, 1, 1], dtype=F64))
    torch.testing.assert_close(pe[2, 1], torch.sin(torch.tensor(2 / 4 ** (1 / 3), dtype=F64)))


# -- the cell's structure (what makes it upstream's, not ours) ---------------------------------
def _jacobian_h(model, x, h):
    return torch.autograd.functional.jacobian(lambda hh: model.transition(x, hh)[0], h)[0, :, 0]


def test_unwritten_slots_are_scaled_by_beta_not_copied():
    model = _model(n_slots=4, topk_write=1)
    h, x = model.init_state(1), torch.randn(1, 1, 4, dtype=F64)
    J = _jacobian_h(model, x, h)
    written = model.transition(x, h)[1].write[0].tolist()
    eye = torch.eye(32, dtype=F64)
    for s in range(4):
        rows = slice(8 * s, 8 * s + 8)
        if s in written:
            assert not torch.allclose(J[rows], 0.6 * eye[rows])
        else:
            assert torch.equal(J[rows], 0.6 * eye[rows])


def test_written_slots_depend_on_slots_the_read_gate_did_not_pick():
    model = _model(n_slots=4, topk_read=1, topk_write=1)
    h, x = model.init_state(1), torch.randn(1, 1, 4, dtype=F64)
    J = _jacobian_h(model, x, h)
    route = model.transition(x, h)[1]
    w = route.write[0, 0].item()
    others = [s for s in range(4) if s not in (w, route.read[0, 0].item())]
    for s in others:
        assert torch.count_nonzero(J[8 * w:8 * w + 8, 8 * s:8 * s + 8]) > 0


def test_unpicked_experts_and_the_unused_blocks_get_exactly_zero_gradient():
    model = _model(n_experts=4, topk=1)
    x = torch.randn(1, 1, 4, dtype=F64)
    y, h2, route = model.step(x, model.init_state(1))
    (y.sum() + h2.sum()).backward()
    active = route.experts[0].tolist()
    for e in range(4):
        g = model.state_experts.W[e].grad
        assert (g is None or torch.count_nonzero(g) == 0) == (e not in active)
    for p in (*model.state_latent_proj.parameters(), model.state_read_gate.weight):
        assert p.grad is None or torch.count_nonzero(p.grad) == 0


# -- learners ----------------------------------------------------------------------------------
def _flat(model, grads):
    return torch.cat([grads[n].flatten() for n, _ in model.named_parameters()])


def _rel(a, b):
    return float((a - b).norm() / b.norm())


def _data(model, T, B=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, model.cfg.d_in, generator=g, dtype=F64)
    y = torch.randint(0, model.cfg.d_out, (B, T), generator=g)
    y[:, 2::3] = -100                   # some positions without a target
    return x, y


CONFIGS = [dict(), dict(n_slots=4, n_experts=4, topk=1, topk_read=1, topk_write=1, chunk=2)]


@pytest.mark.parametrize("kw", CONFIGS)
@pytest.mark.parametrize("steps", [1, 3, 6])
def test_rtrl_equals_bptt_parameter_by_parameter(kw, steps):
    model = _model(**kw)
    x, y = _data(model, steps * model.cfg.chunk)
    ref = rm.make_learner("bptt", model).gradient(x, y)
    learner = rm.make_learner("rtrl", model)
    got = learner.gradient(x, y)
    assert learner.jacobian == "torch.func"
    scale = float(_flat(model, ref).norm())
    for name, g in ref.items():
        if float(g.norm()) <= 1e-12 * scale:
            # Zero up to rounding, e.g. state_ln_slot.bias: it shifts every write score alike
            # and the softmax over the picked scores ignores a shift. A relative error of
            # rounding noise means nothing; both must be that small.
            assert float(got[name].norm()) <= 1e-12 * scale, name
        else:
            assert _rel(got[name], g) <= 1e-10, name
    assert _rel(_flat(model, got), _flat(model, ref)) <= 1e-10


def test_the_hand_derived_jacobian_is_refused():
    with pytest.raises(ValueError, match="RecurrentMoE only"):
        rm.make_learner("rtrl", _model(), jacobian="analytic")


def test_checkpointed_and_truncated_bptt_run():
    model = _model()
    x, y = _data(model, 6)
    ref = _flat(model, rm.make_learner("bptt", model).gradient(x, y))
    assert _rel(_flat(model, rm.make_learner("ckpt-bptt", model, k=2).gradient(x, y)),
                ref) <= 1e-10
    assert _rel(_flat(model, rm.make_learner("tbptt", model, k=6).gradient(x, y)), ref) <= 1e-10
    assert _rel(_flat(model, rm.make_learner("tbptt", model, k=2).gradient(x, y)), ref) > 1e-6


@pytest.mark.parametrize("name", ["sparse-rtrl", "tree-rtrl"])
def test_sparse_recursion_is_not_exact_because_unwritten_slots_change(name):
    # The sparse learners keep an unwritten slot's rows of P; here that slot was scaled by beta.
    # They cannot tell (their constructors see a routed model), so they run and are wrong.
    model = _model(n_slots=4, topk_write=2)
    assert model.copies_unwritten_slots is False
    x, y = _data(model, 6)
    ref = _flat(model, rm.make_learner("bptt", model).gradient(x, y))
    assert _rel(_flat(model, rm.make_learner(name, model).gradient(x, y)), ref) > 1e-3


@pytest.mark.parametrize("name", ["sparse-rtrl", "tree-rtrl"])
def test_sparse_recursion_is_exact_once_every_slot_is_written(name):
    # The other way round: with topk_write = n_slots no slot is left unwritten (and the column
    # set is every slot), so the same learners agree with BPTT.
    model = _model(n_slots=3, topk_write=3, topk_read=2, n_experts=3, topk=1)
    x, y = _data(model, 6)
    ref = _flat(model, rm.make_learner("bptt", model).gradient(x, y))
    assert _rel(_flat(model, rm.make_learner(name, model).gradient(x, y)), ref) <= 1e-10


@pytest.mark.parametrize("bad", [dict(d_model=7), dict(n_heads=3), dict(topk=5),
                                 dict(topk_write=9), dict(beta=1.5), dict(init_seed=1.5),
                                 dict(chunk=0)])
def test_impossible_configs_are_refused(bad):
    with pytest.raises(ValueError):
        rm.UpstreamConfig(**{**SMALL, **bad})


def test_config_round_trips_through_to_dict():
    cfg = rm.UpstreamConfig(**SMALL)
    assert rm.UpstreamConfig(**cfg.to_dict()) == cfg and cfg.H == 24
