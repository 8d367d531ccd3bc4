"""sparse-rtrl's static step (what cuda_graph=True captures) and its CUDA graph.

The static step keeps the loss counts on the device and updates its tensors in place, so that a
CUDA graph can replay it. On the CPU it runs eagerly: the tests below check its maths there, on
every machine; the graph itself is checked against the eager step where a GPU is present.
"""
import pytest
import torch

import rtrl_moe as rm

from .helpers import assert_exact, moe, sequence
from .test_rtrl import CONFIGS


def _static(model, name="sparse-rtrl"):
    L = rm.make_learner(name, model)
    L._static = True            # the step cuda_graph=True captures, run eagerly
    return L


@pytest.mark.parametrize("overrides,B,T", CONFIGS)
def test_static_step_is_exact(overrides, B, T):
    model = moe(**overrides)
    x, y = sequence(B, T, 5)
    L = _static(model)
    ref_learner = rm.make_learner("bptt", model)
    assert_exact(L.gradient(x, y), ref_learner.gradient(x, y))
    assert L.stats == pytest.approx(ref_learner.stats)


def test_static_step_keeps_its_tensors_across_sequences():
    # A captured graph points at fixed memory: a second gradient() of the same batch size must
    # reuse h, P and the sums (zeroed in place), and still be exact.
    model = moe()
    L = _static(model)
    x, y = sequence(2, 12, 5)
    L.gradient(x, y)
    held = [t.data_ptr() for t in (L.h, L.P, L.owed, L.state_grad)]
    x2, y2 = sequence(2, 9, 5, seed=7)
    assert_exact(L.gradient(x2, y2), rm.make_learner("bptt", model).gradient(x2, y2))
    assert [t.data_ptr() for t in (L.h, L.P, L.owed, L.state_grad)] == held


def test_static_step_online_windows_match_the_eager_learner():
    model = moe()
    x, y = sequence(1, 10, 5)
    got = []
    for L in (rm.make_learner("sparse-rtrl", model), _static(model)):
        opt = torch.optim.SGD(model.parameters(), lr=0.0)   # parameters stay fixed
        list(L.online(((x[:, t:t + 1], y[:, t]) for t in range(10)), opt, every=4))
        got.append((L.stats, {n: p.grad.clone() for n, p in model.named_parameters()}))
    assert got[0][0] == pytest.approx(got[1][0])
    assert_exact(got[1][1], got[0][1])


def test_cuda_graph_needs_a_cuda_model_and_is_sparse_rtrl_only():
    model = moe()
    x, y = sequence(1, 3, 5)
    with pytest.raises(ValueError, match="CUDA"):
        rm.make_learner("sparse-rtrl", model, cuda_graph=True).gradient(x, y)
    for name in ("rtrl", "tree-rtrl"):      # host-side control flow / swapped buffers
        with pytest.raises(ValueError):
            rm.make_learner(name, model, cuda_graph=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("B", [1, 3])
def test_cuda_graph_step_equals_the_eager_step(B):
    model = moe(n_slots=6, topk_read=2, topk_write=2).cuda()
    eager = rm.make_learner("sparse-rtrl", model)
    graphed = rm.make_learner("sparse-rtrl", model, cuda_graph=True)
    for seed, T in ((1, 20), (2, 13)):      # the second sequence replays the same graph
        x, y = sequence(B, T, 5, seed=seed)
        x, y = x.cuda(), y.cuda()
        ref = eager.gradient(x, y)
        assert_exact(graphed.gradient(x, y), ref)
        assert graphed.stats == pytest.approx(eager.stats)
        assert graphed.counters["sensitivity_flops"] == eager.counters["sensitivity_flops"]
    assert graphed._graph is not None
